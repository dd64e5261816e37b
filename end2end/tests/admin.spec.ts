// The admin pages: an administrator (made by `ticketbooth make-admin`) signs a user's devices out;
// anyone else finds nothing there.
import { execFileSync } from "node:child_process";
import { expect, test } from "@playwright/test";
import { hydrated, overflowing, signUp, uniqueName, violations } from "./helpers";

/** `ticketbooth make-admin NAME` against the end-to-end server's database (DATA_DIR). */
function makeAdmin(name: string) {
  execFileSync("target/debug/ticketbooth", ["make-admin", name], {
    cwd: "..",
    env: process.env,
    stdio: "pipe",
  });
}

for (const javaScript of [true, false]) {
  test(`an administrator signs a user's devices out ${javaScript ? "with" : "without"} JavaScript`, async ({
    browser,
  }) => {
    const adminName = uniqueName("admin");
    const userName = uniqueName("user");
    // axe-core's runner needs pages of contexts made with browser.newContext().
    const admin = await (await browser.newContext({ javaScriptEnabled: javaScript })).newPage();
    const user = await (await browser.newContext({ javaScriptEnabled: javaScript })).newPage();
    await signUp(admin, adminName, javaScript);
    await signUp(user, userName, javaScript);

    // Before the command, the admin page does not exist for them.
    const before = await admin.goto("/admin");
    expect(before?.status()).toBe(404);
    await expect(admin.getByRole("heading", { name: "Nothing here" })).toBeVisible();

    makeAdmin(adminName);
    await admin.goto("/admin");
    await hydrated(admin, javaScript);
    if (javaScript) {
      expect(await violations(admin), "axe on /admin").toEqual([]);
    }
    await admin.getByTestId("admin-user").filter({ hasText: userName }).getByRole("link").click();
    await expect(admin.getByTestId("admin-username")).toHaveText(userName);
    await hydrated(admin, javaScript);
    if (javaScript) {
      expect(await violations(admin), "axe on the admin user page").toEqual([]);
      await admin.setViewportSize({ width: 360, height: 740 });
      expect(await overflowing(admin), "the admin user page at 360 px").toEqual([]);
      await admin.setViewportSize({ width: 1280, height: 720 });
    }
    await expect(admin.getByTestId("admin-device")).toHaveCount(1);
    await admin.getByTestId("admin-end-all").click();
    await expect(admin.getByTestId("admin-device")).toHaveCount(0);
    await expect(
      admin.getByTestId("activity-entry").filter({ hasText: "Administrator action" }),
    ).toContainText(adminName);

    await user.goto("/dashboard");
    await expect(user).toHaveURL(/\/login\?next=\/dashboard&signed_out=admin$/);
    await expect(user.getByTestId("signed-out-why")).toContainText("an administrator");
  });
}
