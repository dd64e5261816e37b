// The account page's password change and the activity log, with and without JavaScript.
import { expect, test, type Browser } from "@playwright/test";
import {
  PASSWORD,
  headerLink,
  hydrated,
  logIn,
  logInWith,
  signUp,
  signUpWith,
  uniqueName,
} from "./helpers";

const NEW_PASSWORD = "a brand new passphrase";

async function twoDevices(browser: Browser, javaScript: boolean) {
  const name = uniqueName("acct");
  const laptop = await (await browser.newContext({ javaScriptEnabled: javaScript })).newPage();
  const phone = await (await browser.newContext({ javaScriptEnabled: javaScript })).newPage();
  await signUp(laptop, name, javaScript);
  await logIn(phone, name, javaScript);
  return { name, laptop, phone };
}

for (const javaScript of [true, false]) {
  test.describe(javaScript ? "with JavaScript" : "without JavaScript", () => {
    test("a password change signs the other device out and keeps this one", async ({ browser }) => {
      const { name, laptop, phone } = await twoDevices(browser, javaScript);
      await laptop.goto("/dashboard");
      await hydrated(laptop, javaScript);
      await headerLink(laptop, "Account").click();
      await expect(laptop).toHaveURL(/\/account$/);
      await hydrated(laptop, javaScript);
      await expect(laptop.getByTestId("account-username")).toHaveText(name);
      await expect(laptop.getByTestId("last-password-change")).toContainText("never");

      // A wrong current password: said at its field, nothing changes.
      await laptop.getByLabel("Current password").fill("not my password");
      await laptop.getByLabel("New password").fill(NEW_PASSWORD);
      await laptop.getByTestId("change-password").click();
      await expect(laptop.getByTestId("current_password-error")).toContainText(
        "not your current password",
      );

      await laptop.getByLabel("Current password").fill(PASSWORD);
      await laptop.getByLabel("New password").fill(NEW_PASSWORD);
      await laptop.getByTestId("change-password").click();
      if (javaScript) {
        await expect(laptop.getByTestId("password-changed")).toContainText(
          "1 other device is signed out",
        );
      }
      // With or without JavaScript, the page shows the change as the log has it.
      await expect(laptop.getByTestId("last-password-change")).toContainText(
        "1 other device signed out",
      );

      await phone.goto("/dashboard");
      await expect(phone).toHaveURL(/\/login\?next=\/dashboard&signed_out=password_changed$/);
      await expect(phone.getByTestId("signed-out-why")).toContainText("password was changed");
      await laptop.goto("/dashboard");
      await expect(laptop.getByTestId("dashboard-user")).toHaveText(name);
    });

    test("one device: the PC is signed out when the phone signs in, and told why", async ({
      browser,
    }) => {
      const name = uniqueName("one");
      const pc = await (await browser.newContext({ javaScriptEnabled: javaScript })).newPage();
      await signUp(pc, name, javaScript);
      await pc.goto("/account");
      await hydrated(pc, javaScript);
      await pc.getByLabel("One: signing in anywhere signs every other device out").check();
      await pc.getByTestId("save-device-policy").click();
      await expect(pc.getByTestId("device-policy")).toContainText("One device");

      const phone = await (await browser.newContext({ javaScriptEnabled: javaScript })).newPage();
      await logIn(phone, name, javaScript);

      await pc.goto("/dashboard");
      await expect(pc).toHaveURL(/\/login\?next=\/dashboard&signed_out=device_policy$/);
      await expect(pc.getByTestId("signed-out-why")).toContainText("another device signed in");
    });

    test("at most two, refusing: a third sign-in is refused with the limit named", async ({
      browser,
    }) => {
      const { name, laptop } = await twoDevices(browser, javaScript);
      await laptop.goto("/account");
      await hydrated(laptop, javaScript);
      await laptop.getByLabel("At most a number of devices").check();
      await laptop.getByLabel("The number, for “at most”").fill("2");
      await laptop.getByLabel("Refuse the new sign-in").check();
      await laptop.getByTestId("save-device-policy").click();
      await expect(laptop.getByTestId("device-policy")).toContainText("At most 2 devices");

      const third = await (await browser.newContext({ javaScriptEnabled: javaScript })).newPage();
      await third.goto("/login");
      await hydrated(third, javaScript);
      await third.getByLabel("Username").fill(name);
      await third.getByLabel("Password").fill(PASSWORD);
      await third.getByRole("button", { name: "Log in" }).click();
      await expect(third.getByTestId("form-error")).toContainText("at most 2 devices");
      await expect(
        third.getByTestId("form-error").getByRole("link", { name: "devices page" }),
      ).toHaveAttribute("href", "/devices");
    });

    test("the activity log lists what happened, and each device links to its entries", async ({
      browser,
    }) => {
      const { laptop } = await twoDevices(browser, javaScript);
      await laptop.goto("/account");
      await hydrated(laptop, javaScript);
      await laptop.getByRole("link", { name: "Activity log" }).click();
      await expect(laptop).toHaveURL(/\/activity$/);
      await hydrated(laptop, javaScript);
      const entries = laptop.getByTestId("activity-entry");
      await expect(entries).toHaveCount(2);
      await expect(entries.first()).toHaveAttribute("data-kind", "signed_in");

      await laptop.goto("/devices");
      await hydrated(laptop, javaScript);
      await laptop
        .getByTestId("device-row")
        .filter({ has: laptop.getByTestId("this-device") })
        .getByTestId("device-activity")
        .click();
      await expect(laptop).toHaveURL(/\/activity\?device=/);
      await expect(laptop.getByTestId("activity-entry")).toHaveCount(1);
    });
  });
}

test("a JWT device signed out by a password change lands on /login once its token expires", async ({
  browser,
}) => {
  const name = uniqueName("acctjwt");
  const laptop = await (await browser.newContext()).newPage();
  const phone = await (await browser.newContext()).newPage();
  await signUp(laptop, name);
  await logInWith(phone, name, "jwt");

  await laptop.goto("/account");
  await hydrated(laptop);
  await laptop.getByLabel("Current password").fill(PASSWORD);
  await laptop.getByLabel("New password").fill(NEW_PASSWORD);
  await laptop.getByTestId("change-password").click();
  await expect(laptop.getByTestId("password-changed")).toContainText("stays valid until");

  // The end-to-end server's access tokens last 4 seconds; the refresh after that fails.
  await expect
    .poll(
      async () => {
        await phone.goto("/dashboard");
        return new URL(phone.url()).pathname;
      },
      { timeout: 20_000, intervals: [1_000] },
    )
    .toBe("/login");
});

test("the theft drill: the thief's replay and then the owner's refresh are refused", async ({
  page,
}) => {
  await signUpWith(page, uniqueName("drill"), "jwt");
  await page.goto("/devices");
  await hydrated(page);

  await page.getByTestId("run-theft-drill").click();

  await expect(page.getByTestId("drill-thief")).toContainText("already used");
  await expect(page.getByTestId("drill-owner")).toContainText("signed out");
  // Once its access token expires, this browser is out: nothing can renew it.
  await expect
    .poll(
      async () => {
        await page.goto("/dashboard");
        return new URL(page.url()).pathname;
      },
      { timeout: 20_000, intervals: [1_000] },
    )
    .toBe("/login");
});
