// "Remember me" on the login form: a browser-session cookie without it, a persistent one with
// it, and the devices page saying which each device got. With and without JavaScript, and
// typed before the page hydrates.
import { expect, test, type Page } from "@playwright/test";
import { PASSWORD, hydrated, signUp, uniqueName } from "./helpers";

const DAY = 86_400;

/** Logs in on the login form, ticking "Remember me" or not, without waiting for hydration. */
async function logInTyping(page: Page, username: string, remember: boolean, javaScript: boolean) {
  await page.goto("/login");
  if (!javaScript) await hydrated(page, javaScript);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByLabel("Remember me on this device").setChecked(remember);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
}

for (const javaScript of [true, false]) {
  test.describe(javaScript ? "with JavaScript" : "without JavaScript", () => {
    for (const remember of [false, true]) {
      test(`logging in ${remember ? "with" : "without"} Remember me`, async ({ browser }) => {
        const name = uniqueName("remember");
        const maker = await browser.newPage();
        await signUp(maker, name);
        await maker.close();

        const context = await browser.newContext({ javaScriptEnabled: javaScript });
        const page = await context.newPage();
        await logInTyping(page, name, remember, javaScript);

        const session = (await context.cookies()).find((cookie) => cookie.name === "tb_session");
        expect(session).toBeDefined();
        if (remember) {
          // A persistent cookie, about 14 days from now.
          expect(session!.expires).toBeGreaterThan(Date.now() / 1000 + 13 * DAY);
        } else {
          // -1: a browser-session cookie, gone when the browser closes.
          expect(session!.expires).toBe(-1);
        }

        await page.goto("/devices");
        await hydrated(page, javaScript);
        const row = page.getByTestId("device-row").filter({ has: page.getByTestId("this-device") });
        await expect(row.getByTestId("device-lifetime")).toContainText(
          remember ? "Remember me: on · ends after 14 days unused" : "Remember me: off · ends after 12 hours unused",
        );
        await context.close();
      });
    }
  });
}

test("the login form says what the box changes on this server", async ({ page }) => {
  await page.goto("/login");
  await hydrated(page);
  await expect(page.getByTestId("remember-hint")).toContainText(
    "Unticked: the browser forgets you when it closes, and the server signs you out after 12 hours unused",
  );
  await expect(page.getByLabel("Remember me on this device")).not.toBeChecked();
});
