import { expect, test } from "@playwright/test";
import {
  accessExpiry,
  headerLink,
  hydrated,
  logInWith,
  pastExpiry,
  signUpWith,
  uniqueName,
} from "./helpers";

test.describe("JWT mode", () => {
  test("log in with JWTs and see the access token decoded", async ({ page }) => {
    const name = uniqueName("jwt");
    await signUpWith(page, name, "jwt");

    await expect(page.getByTestId("mode")).toHaveText("JWT");
    await expect(page.getByTestId("dashboard-mode")).toHaveText("JWT");
    await expect(page.getByTestId("claim-name")).toHaveText(name);
    await expect(page.getByTestId("claim-typ")).toHaveText("at+jwt");
    await expect(page.getByTestId("claim-alg")).toHaveText("HS256");
  });

  test("the page keeps working across an expiry: a silent refresh", async ({ page }) => {
    await signUpWith(page, uniqueName("silent"), "jwt");
    await hydrated(page);
    const firstToken = await page.getByTestId("claim-jti").textContent();
    const exp = await accessExpiry(page);
    await page.evaluate(() => ((window as any).sameDocument = true));

    await pastExpiry(exp);
    await headerLink(page, "Devices").click();

    await expect(page).toHaveURL(/\/devices$/);
    await expect(page.getByTestId("device-row")).toHaveCount(1);
    await headerLink(page, "Dashboard").click();
    await expect(page.getByTestId("claim-jti")).not.toHaveText(firstToken!);
    await expect(page.getByTestId("mode")).toHaveText("JWT");
    expect(await page.evaluate(() => (window as any).sameDocument)).toBe(true);
  });

  test("a JWT device signed out elsewhere lands on /login once its token expires", async ({
    browser,
  }) => {
    const name = uniqueName("kill");
    const victim = await (await browser.newContext()).newPage();
    const killer = await (await browser.newContext()).newPage();
    await signUpWith(victim, name, "jwt");
    await hydrated(victim);
    // The victim makes no request from here on: whatever it holds is the last access token it
    // will ever get.
    const exp = await accessExpiry(victim);
    await logInWith(killer, name, "session");

    await killer.goto("/devices");
    await hydrated(killer);
    const jwtRow = killer.locator('[data-testid=device-row][data-mode=jwt]');
    await jwtRow.getByRole("button", { name: "Sign out device" }).click();
    await expect(killer.getByTestId("kill-notice")).toContainText("stays valid until");
    await expect(jwtRow.getByTestId("revoked")).toContainText("access token valid until");

    await pastExpiry(exp);
    await headerLink(victim, "Devices").click();
    await expect(victim).toHaveURL(/\/login\?next=\/devices$/);
  });

  test("switch modes in the header and stay signed in", async ({ page }) => {
    const name = uniqueName("switch");
    await signUpWith(page, name, "session");
    await hydrated(page);
    await expect(page.getByTestId("mode")).toHaveText("cookie session");

    await page.getByTestId("switch-mode").click();
    await expect(page.getByTestId("mode")).toHaveText("JWT");
    await expect(page.getByTestId("dashboard-mode")).toHaveText("JWT");
    await page.reload();
    await expect(page.getByTestId("signed-in-user")).toContainText(name);
    await expect(page.getByTestId("dashboard-mode")).toHaveText("JWT");

    await hydrated(page);
    await page.getByTestId("switch-mode").click();
    await expect(page.getByTestId("mode")).toHaveText("cookie session");
    await page.reload();
    await expect(page.getByTestId("dashboard-mode")).toHaveText("cookie session");
  });
});

test.describe("JWT mode without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("an expired access token is renewed on the next page load", async ({ page }) => {
    await signUpWith(page, uniqueName("nojs"), "jwt", false);
    const firstToken = await page.getByTestId("claim-jti").textContent();

    await pastExpiry(await accessExpiry(page));
    await page.goto("/dashboard");
    await expect(page.getByRole("heading", { name: "Renewing your sign-in…" })).toBeVisible();
    await page.getByRole("button", { name: "Continue" }).click();

    await expect(page).toHaveURL(/\/dashboard$/);
    await expect(page.getByTestId("claim-jti")).not.toHaveText(firstToken!);
  });
});
