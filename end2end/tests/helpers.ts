import AxeBuilder from "@axe-core/playwright";
import { expect, type Page } from "@playwright/test";

export const PASSWORD = "correct horse battery staple";

/** Every page a visitor reaches from the header, and one that does not exist. */
export const SIGNED_OUT_PAGES = ["/", "/login", "/signup", "/compare", "/cluster", "/no-such-page"];

/** Every page a signed-in user reaches from the header. */
export const SIGNED_IN_PAGES = [
  "/",
  "/dashboard",
  "/devices",
  "/compare",
  "/cluster",
  "/playground",
  "/account",
  "/activity",
];

/** A username no other test of this run uses (3–32 characters of a-z 0-9 _ . -). */
export function uniqueName(prefix: string): string {
  const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  return `${prefix}-${suffix}`.slice(0, 32);
}

/** Waits until the WebAssembly has taken over the server-rendered page (a no-op without JS). */
export async function hydrated(page: Page, javaScript = true) {
  if (javaScript) await page.locator("body[data-hydrated]").waitFor();
}

export async function signUp(page: Page, username: string, javaScript = true) {
  await page.goto("/signup");
  await hydrated(page, javaScript);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
}

export async function logIn(page: Page, username: string, javaScript = true) {
  await page.goto("/login");
  await hydrated(page, javaScript);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
}

/** A link in the header's account navigation. */
export function headerLink(page: Page, name: string) {
  return page.getByRole("navigation", { name: "Account" }).getByRole("link", { name, exact: true });
}

export type Mode = "session" | "jwt";

/** Signs up with the mode chosen on the form. */
export async function signUpWith(page: Page, username: string, mode: Mode, javaScript = true) {
  await page.goto("/signup");
  await hydrated(page, javaScript);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.locator(`input[name=mode][value=${mode}]`).check();
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
}

export async function logInWith(page: Page, username: string, mode: Mode) {
  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.locator(`input[name=mode][value=${mode}]`).check();
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
}

/** The expiry of the access token the dashboard shows. */
export async function accessExpiry(page: Page): Promise<number> {
  return Number(await page.getByTestId("claim-exp").textContent());
}

/**
 * Waits for the first second in which the server refuses a token that expires at `exp`: it
 * counts whole seconds and allows 2 of leeway, so that is exp + 3. The end-to-end server issues
 * 4-second access tokens, so this is a few seconds at most.
 */
export async function pastExpiry(exp: number) {
  await expect
    .poll(() => Math.floor(Date.now() / 1000), { timeout: 20_000, intervals: [200] })
    .toBeGreaterThanOrEqual(exp + 3);
}

/** axe-core's WCAG 2.0 and 2.1 A/AA rules; each violation named with the elements it found. */
export async function violations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    .analyze();
  return results.violations.map(
    (violation) =>
      `${violation.id} (${violation.help}): ${violation.nodes.map((node) => node.target.join(" ")).join(", ")}`,
  );
}

/** Elements reaching past either edge of the viewport, and the page's own horizontal overflow. */
export async function overflowing(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const found: string[] = [];
    if (document.documentElement.scrollWidth > width) {
      found.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} > ${width}`);
    }
    for (const element of Array.from(document.querySelectorAll("body *"))) {
      const box = element.getBoundingClientRect();
      if (box.width === 0 || box.height === 0) continue;
      if (box.right > width + 0.5 || box.left < -0.5) {
        const name = `${element.tagName.toLowerCase()}${element.className ? `.${String(element.className).replace(/ +/g, ".")}` : ""}`;
        found.push(`${name} spans ${Math.round(box.left)}..${Math.round(box.right)} of ${width}`);
      }
    }
    return found;
  });
}
