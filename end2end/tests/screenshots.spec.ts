// Retakes the README's screenshots (make screenshots); not part of the normal run.
import { execFileSync } from "node:child_process";
import { expect, test } from "@playwright/test";
import { PASSWORD, hydrated, logInWith, signUpWith } from "./helpers";

test("dashboards, devices and compare, as a user sees them", async ({ browser }) => {
  test.setTimeout(60_000);
  const name = "ada";
  const laptop = await (await browser.newContext({ viewport: { width: 1100, height: 760 } })).newPage();
  const phone = await (
    await browser.newContext({
      userAgent:
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
    })
  ).newPage();
  const tablet = await (
    await browser.newContext({
      userAgent:
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.2; rv:121.0) Gecko/20100101 Firefox/121.0",
    })
  ).newPage();
  await signUpWith(laptop, name, "session");
  await logInWith(phone, name, "jwt");
  await logInWith(tablet, name, "jwt");

  await laptop.goto("/dashboard");
  await hydrated(laptop);
  await laptop.screenshot({ path: "screenshots/dashboard-session.png", fullPage: true });

  await phone.goto("/dashboard");
  await hydrated(phone);
  await phone.setViewportSize({ width: 1100, height: 760 });
  await phone.screenshot({ path: "screenshots/dashboard-jwt.png", fullPage: true });

  await laptop.goto("/devices");
  await hydrated(laptop);
  const tabletRow = laptop.locator('[data-testid=device-row]', { hasText: "Firefox" });
  await tabletRow.getByRole("button", { name: "Sign out device" }).click();
  await laptop.getByTestId("kill-notice").waitFor();
  await laptop.screenshot({ path: "screenshots/devices.png", fullPage: true });
  // What a user sees on the phone they reach for to end a forgotten laptop session.
  await laptop.setViewportSize({ width: 360, height: 740 });
  await laptop.screenshot({ path: "screenshots/devices-phone.png", fullPage: true });
  await laptop.setViewportSize({ width: 1100, height: 760 });

  await laptop.goto("/account");
  await hydrated(laptop);
  await laptop.getByLabel("Current password").fill("not my password");
  await laptop.getByLabel("New password").fill("a brand new passphrase");
  await laptop.getByTestId("change-password").click();
  await laptop.getByTestId("current_password-error").filter({ hasText: /current/ }).waitFor();
  await laptop.getByLabel("Current password").fill(PASSWORD);
  await laptop.getByTestId("change-password").click();
  await laptop.getByTestId("password-changed").waitFor();
  await laptop.screenshot({ path: "screenshots/account.png", fullPage: true });

  await laptop.goto("/activity");
  await hydrated(laptop);
  await laptop.screenshot({ path: "screenshots/activity.png", fullPage: true });

  await laptop.goto("/compare");
  await hydrated(laptop);
  await laptop.getByLabel("Requests in each column").fill("300");
  await laptop.getByTestId("generate-load").click();
  await expect(laptop.getByTestId("generate-load")).toHaveText("Generate load", { timeout: 30_000 });
  await expect(laptop.getByTestId("row-requests").locator('[data-column="jwt-denylist"]')).toHaveText("300");
  await laptop.screenshot({ path: "screenshots/compare.png", fullPage: true });

  // The admin page, seen by a second account made administrator by the command.
  const adminName = "lee";
  const admin = await (await browser.newContext({ viewport: { width: 1100, height: 760 } })).newPage();
  await signUpWith(admin, adminName, "session");
  execFileSync("target/debug/ticketbooth", ["make-admin", adminName], {
    cwd: "..",
    env: process.env,
    stdio: "pipe",
  });
  await admin.goto("/admin");
  await hydrated(admin);
  await admin.getByTestId("admin-user").filter({ hasText: name }).getByRole("link").click();
  await hydrated(admin);
  // Promoted and demoted: beside the button, when each device goes by the change.
  await admin.getByTestId("admin-set-role").click();
  await expect(admin.getByTestId("admin-role")).toContainText("admin");
  await admin.getByTestId("admin-set-role").click();
  await expect(admin.getByTestId("admin-role")).toContainText("user");
  await admin.getByTestId("admin-end-device").first().click();
  await admin.getByTestId("activity-entry").filter({ hasText: "signed" }).first().waitFor();
  await admin.screenshot({ path: "screenshots/admin.png", fullPage: true });
});
