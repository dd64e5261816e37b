import { expect, test, type Browser, type Page } from "@playwright/test";
import { PASSWORD, headerLink, hydrated, logIn, signUp, uniqueName } from "./helpers";

/** Two separate browsers (cookie jars) signed in as the same new user. */
async function twoBrowsers(browser: Browser, javaScript: boolean) {
  const name = uniqueName("two");
  const first = await (await browser.newContext({ javaScriptEnabled: javaScript })).newPage();
  const second = await (await browser.newContext({ javaScriptEnabled: javaScript })).newPage();
  await signUp(first, name, javaScript);
  await logIn(second, name, javaScript);
  return { name, first, second };
}

async function killTheOtherDevice(page: Page, javaScript: boolean) {
  await page.goto("/devices");
  await hydrated(page, javaScript);
  await expect(page.getByTestId("device-row")).toHaveCount(2);
  const other = page
    .getByTestId("device-row")
    .filter({ hasNot: page.getByTestId("this-device") });
  await other.getByRole("button", { name: "Sign out device" }).click();
  await expect(page.getByTestId("device-row")).toHaveCount(1);
  await expect(page.getByTestId("this-device")).toBeVisible();
}

test.describe("with JavaScript", () => {
  test("sign up, see the dashboard, then this device on the devices page", async ({ page }) => {
    const name = uniqueName("sam");
    await signUp(page, name);

    await expect(page.getByTestId("dashboard-user")).toHaveText(name);
    await expect(page.getByTestId("signed-in-user")).toContainText(name);
    await expect(page.getByTestId("mode")).toHaveText("cookie session");
    await expect(page.getByTestId("cookie-bytes")).toHaveText("33");
    // The instance that answered: by default its address (INSTANCE_NAME names it otherwise).
    await expect(page.getByTestId("instance")).toHaveText(/^Answered by server 127\.0\.0\.1:\d+$/);

    await headerLink(page, "Devices").click();
    await expect(page).toHaveURL(/\/devices$/);
    await expect(page.getByTestId("device-row")).toHaveCount(1);
    await expect(page.getByTestId("this-device")).toBeVisible();
  });

  test("forms submit without reloading the page @release", async ({ page }) => {
    await page.goto("/signup");
    await hydrated(page);
    await page.evaluate(() => ((window as any).sameDocument = true));

    await page.getByLabel("Username").fill(uniqueName("spa"));
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign up" }).click();
    await expect(page).toHaveURL(/\/dashboard$/);
    await expect(page.getByTestId("dashboard-user")).toBeVisible();

    expect(await page.evaluate(() => (window as any).sameDocument)).toBe(true);
  });

  test("sign-up errors appear next to their fields", async ({ page }) => {
    await page.goto("/signup");
    await hydrated(page);
    await page.getByLabel("Username").fill("a b");
    await page.getByLabel("Password").fill("short");
    await page.getByRole("button", { name: "Sign up" }).click();

    await expect(page.getByTestId("username-error")).toContainText("spaces not allowed");
    await expect(page.getByTestId("password-error")).toContainText("at least 8");
    await expect(page.getByLabel("Username")).toHaveAttribute("aria-invalid", "true");
    await expect(page).toHaveURL(/\/signup$/);
  });

  test("a wrong password does not say which part was wrong", async ({ page }) => {
    await page.goto("/login");
    await hydrated(page);
    await page.getByLabel("Username").fill(uniqueName("nobody"));
    await page.getByLabel("Password").fill("wrong password");
    await page.getByRole("button", { name: "Log in" }).click();
    await expect(page.getByTestId("form-error")).toHaveText("Invalid username or password.");
  });

  test("after five wrong passwords the login page says how long to wait", async ({ page }) => {
    await page.goto("/login");
    await hydrated(page);
    await page.getByLabel("Username").fill(uniqueName("locked"));
    const attempt = async (password: string) => {
      await page.getByLabel("Password").fill(password);
      const answered = page.waitForResponse((response) => response.url().includes("/fn/login"));
      await page.getByRole("button", { name: "Log in" }).click();
      return (await answered).status();
    };
    for (let n = 0; n < 5; n++) {
      expect(await attempt(`wrong password ${n}`)).toBe(401);
      await expect(page.getByTestId("form-error")).toHaveText("Invalid username or password.");
    }
    expect(await attempt("wrong password 5")).toBe(429);
    await expect(page.getByTestId("form-error")).toHaveText(
      "Too many failed sign-in attempts. Try again in 15 minutes.",
    );
  });

  test("a protected page sends you to log in, then back to it", async ({ page, browser }) => {
    const name = uniqueName("next");
    const other = await (await browser.newContext()).newPage();
    await signUp(other, name);

    await page.goto("/devices");
    await expect(page).toHaveURL(/\/login\?next=\/devices$/);
    await hydrated(page);
    await page.getByLabel("Username").fill(name);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Log in" }).click();

    await expect(page).toHaveURL(/\/devices$/);
    await expect(page.getByTestId("device-row")).toHaveCount(2);
  });

  test("a device signed out from another browser lands on /login", async ({ browser }) => {
    const { first, second } = await twoBrowsers(browser, true);
    await hydrated(second);

    await killTheOtherDevice(first, true);

    // The killed browser still shows the old page; its next request finds no session.
    await headerLink(second, "Devices").click();
    await expect(second).toHaveURL(/\/login\?next=\/devices&signed_out=killed$/);
    await expect(second.getByTestId("signed-out-why")).toContainText(
      "another of your devices signed it out",
    );
    // Every request of the page after it hears the same, until it signs in again.
    await second.goto("/dashboard");
    await expect(second).toHaveURL(/\/login\?next=\/dashboard&signed_out=killed$/);
  });

  test("sign out all other devices keeps this one", async ({ browser }) => {
    const { first, second } = await twoBrowsers(browser, true);
    await first.goto("/devices");
    await hydrated(first);

    await first.getByTestId("kill-others").click();

    await expect(first.getByRole("status")).toHaveText("Signed out 1 other device.");
    await expect(first.getByTestId("device-row")).toHaveCount(1);
    await second.goto("/dashboard");
    await expect(second).toHaveURL(/\/login/);
    await first.goto("/dashboard");
    await expect(first.getByTestId("dashboard-user")).toBeVisible();
  });

  test("the header's sign-out button ends the session", async ({ page }) => {
    await signUp(page, uniqueName("bye"));
    await hydrated(page);
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login$/);
    await expect(headerLink(page, "Log in")).toBeVisible();
    await page.goto("/dashboard");
    await expect(page).toHaveURL(/\/login\?next=\/dashboard$/);
  });
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("sign-up errors come back next to their fields", async ({ page }) => {
    await page.goto("/signup");
    await page.getByLabel("Username").fill("no");
    await page.getByLabel("Password").fill("short");
    await page.getByRole("button", { name: "Sign up" }).click();

    await expect(page.getByTestId("username-error")).toContainText("at least 3");
    await expect(page.getByTestId("password-error")).toContainText("at least 8");
  });

  test("log in and sign out another device with plain forms", async ({ browser }) => {
    const { first, second } = await twoBrowsers(browser, false);
    await expect(first.getByTestId("dashboard-user")).toBeVisible();

    await killTheOtherDevice(first, false);

    await second.reload();
    await expect(second).toHaveURL(/\/login\?next=\/dashboard&signed_out=killed$/);
    await expect(second.getByTestId("signed-out-why")).toBeVisible();
  });

  test("a wrong password is reported on the login page", async ({ page }) => {
    await page.goto("/login?next=/devices");
    await page.getByLabel("Username").fill(uniqueName("nobody"));
    await page.getByLabel("Password").fill("wrong password");
    await page.getByRole("button", { name: "Log in" }).click();

    await expect(page.getByTestId("form-error")).toHaveText("Invalid username or password.");
    await expect(page).toHaveURL(/next=\/devices/);
  });
});
