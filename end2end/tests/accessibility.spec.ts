// Every page, signed out and signed in by each mode: no WCAG 2 A/AA violation axe-core can find,
// nothing wider than a 360-pixel phone, and every control reached by Tab shows a focus ring.
import { expect, test, type Browser, type Page } from "@playwright/test";
import {
  hydrated,
  logInWith,
  type Mode,
  overflowing,
  signUpWith,
  uniqueName,
  SIGNED_IN_PAGES,
  SIGNED_OUT_PAGES,
  violations,
} from "./helpers";

const PHONE = { width: 360, height: 740 };

/** Tabs through the page; every element that takes the focus must draw an outline. */
async function focusWithoutRing(page: Page): Promise<string[]> {
  const found: string[] = [];
  const seen = new Set<string>();
  await page.locator("body").focus();
  for (let step = 0; step < 60; step += 1) {
    await page.keyboard.press("Tab");
    const focused = await page.evaluate(() => {
      const element = document.activeElement as HTMLElement | null;
      if (!element || element === document.body) return null;
      const style = getComputedStyle(element);
      const ring =
        (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0) ||
        style.boxShadow !== "none";
      const label = (element.textContent || element.getAttribute("name") || "").trim().slice(0, 30);
      return { key: `${element.tagName.toLowerCase()} "${label}"`, ring };
    });
    if (!focused || seen.has(focused.key)) break;
    seen.add(focused.key);
    if (!focused.ring) found.push(focused.key);
  }
  expect(seen.size, "Tab reaches the page's controls").toBeGreaterThan(2);
  return found;
}

async function checkEveryPage(page: Page, paths: string[]) {
  for (const path of paths) {
    await page.goto(path);
    await hydrated(page);
    expect(await violations(page), `axe on ${path}`).toEqual([]);
    expect(await focusWithoutRing(page), `focus rings on ${path}`).toEqual([]);
    await page.setViewportSize(PHONE);
    expect(await overflowing(page), `${path} at 360 px`).toEqual([]);
    expect(await violations(page), `axe on ${path} at 360 px`).toEqual([]);
    await page.setViewportSize({ width: 1280, height: 720 });
  }
}

/** A signed-in user with a second device of the other mode, one of them signed out, so that
 *  the devices page shows every kind of row. */
async function userWithDevices(browser: Browser, mode: Mode): Promise<Page> {
  const name = uniqueName(`a11y-${mode}`);
  // axe-core's Playwright runner needs a page of a context made with browser.newContext().
  const page = await (await browser.newContext()).newPage();
  await signUpWith(page, name, mode);
  for (const other of ["session", "jwt"] as Mode[]) {
    const device = await browser.newContext();
    await logInWith(await device.newPage(), name, other);
    await device.close();
  }
  await page.goto("/devices");
  await hydrated(page);
  await page
    .locator("[data-testid=device-row][data-mode=jwt]:not(.current)")
    .getByTestId("kill-device")
    .click();
  await page.getByTestId("kill-notice").waitFor();
  return page;
}

test("signed out, every page is accessible and fits a phone", async ({ page }) => {
  await checkEveryPage(page, SIGNED_OUT_PAGES);
});

for (const mode of ["session", "jwt"] as Mode[]) {
  test(`signed in by ${mode}, every page is accessible and fits a phone`, async ({ browser }) => {
    test.setTimeout(60_000);
    const page = await userWithDevices(browser, mode);
    await checkEveryPage(page, SIGNED_IN_PAGES);
  });
}

test("at phone width each device is a card with its facts and its button", async ({ browser }) => {
  const page = await userWithDevices(browser, "session");
  await page.setViewportSize(PHONE);
  const rows = page.getByTestId("device-row");
  await expect(rows).toHaveCount(3);
  for (const row of await rows.all()) {
    for (const fact of ["Mode", "IP address", "Signed in", "Last active", "Expires"]) {
      await expect(row.getByText(fact, { exact: true })).toBeVisible();
    }
    const box = await row.boundingBox();
    expect(box!.width).toBeLessThanOrEqual(PHONE.width);
  }
  await expect(page.getByTestId("kill-device").first()).toBeVisible();
  expect(await overflowing(page)).toEqual([]);
});

test("the pages' results are accessible too: verdicts, measurements, notices", async ({ browser }) => {
  test.setTimeout(60_000);
  const page = await userWithDevices(browser, "jwt");
  expect(await violations(page), "axe on /devices with a kill notice").toEqual([]);

  await page.goto("/playground");
  await hydrated(page);
  await page.getByTestId("preset-make_admin").click();
  await page.getByTestId("preset-verdict").locator(".verdict").waitFor();
  await page.getByTestId("send-token").click();
  await page.getByTestId("custom-verdict").locator(".verdict").waitFor();
  await page.getByTestId("probe-killed").click();
  await page.getByTestId("session-verdict").locator(".verdict").waitFor();
  expect(await violations(page), "axe on /playground with verdicts").toEqual([]);

  await page.goto("/compare");
  await hydrated(page);
  await page.getByLabel("Requests in each column").fill("50");
  await page.getByTestId("generate-load").click();
  await expect(page.getByTestId("compare-chart").locator("rect.bar-median")).toHaveCount(4);
  expect(await violations(page), "axe on /compare with measurements").toEqual([]);
  await page.setViewportSize(PHONE);
  expect(await overflowing(page), "/compare with measurements at 360 px").toEqual([]);
});
