// The admin pages: an administrator (made by `ticketbooth make-admin`) signs a user's devices out;
// anyone else finds nothing there.
import { execFileSync } from "node:child_process";
import { expect, test } from "@playwright/test";
import {
  headerLink,
  hydrated,
  logInWith,
  overflowing,
  signUp,
  uniqueName,
  violations,
} from "./helpers";

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
    // The command rewrote the role in the admin's session: the header links to /admin.
    await admin.goto("/dashboard");
    await hydrated(admin, javaScript);
    await headerLink(admin, "Admin").click();
    await expect(admin).toHaveURL(/\/admin$/);
    await hydrated(admin, javaScript);
    await admin.getByTestId("admin-users").waitFor();
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

    // Promote: the user's cookie session goes by it from its next request (the header links to
    // /admin); demote: the link is gone and /admin is not found again.
    await expect(admin.getByTestId("admin-role")).toContainText("user");
    await admin.getByTestId("admin-set-role").click();
    await expect(admin.getByTestId("admin-role")).toContainText("admin");
    await expect(admin.getByTestId("role-reach-sessions")).toContainText("Cookie sessions: 1.");
    await user.goto("/dashboard");
    await hydrated(user, javaScript);
    await expect(headerLink(user, "Admin")).toBeVisible();
    await admin.getByTestId("admin-set-role").click();
    await expect(admin.getByTestId("admin-role")).toContainText("user");
    await user.reload();
    await hydrated(user, javaScript);
    await expect(headerLink(user, "Admin")).toHaveCount(0);
    expect((await user.goto("/admin"))?.status()).toBe(404);
    await expect(
      admin.getByTestId("activity-entry").filter({ hasText: "made this account an administrator" }),
    ).toContainText(adminName);

    await admin.getByTestId("admin-end-all").click();
    await expect(admin.getByTestId("admin-device")).toHaveCount(0);
    await expect(
      admin.getByTestId("activity-entry").filter({ hasText: "signed 1 device out" }),
    ).toContainText(adminName);

    await user.goto("/dashboard");
    await expect(user).toHaveURL(/\/login\?next=\/dashboard&signed_out=admin$/);
    await expect(user.getByTestId("signed-out-why")).toContainText("an administrator");
  });
}

test("a demoted JWT user loses the admin pages at once and the Admin link at the next refresh", async ({
  browser,
}) => {
  const adminName = uniqueName("admin");
  const userName = uniqueName("jwtadm");
  const admin = await browser.newPage();
  const maker = await browser.newPage();
  await signUp(admin, adminName);
  await signUp(maker, userName);
  makeAdmin(adminName);
  makeAdmin(userName);
  const user = await browser.newPage();
  await logInWith(user, userName, "jwt");
  await expect(headerLink(user, "Admin")).toBeVisible();

  await admin.goto("/admin");
  await hydrated(admin);
  await admin.getByTestId("admin-user").filter({ hasText: userName }).getByRole("link").click();
  await hydrated(admin);
  await admin.getByTestId("admin-set-role").click();
  await expect(admin.getByTestId("admin-role")).toContainText("user");
  await expect(admin.getByTestId("role-reach-jwt")).toContainText("JWT devices: 1.");

  // The admin pages read the role from the database: gone at once, whatever the token says.
  expect((await user.goto("/admin"))?.status()).toBe(404);
  // The header goes by the token's claim: the link goes once a refresh brings a new token.
  await expect(async () => {
    await user.goto("/dashboard");
    await hydrated(user);
    await expect(headerLink(user, "Admin")).toHaveCount(0, { timeout: 500 });
  }).toPass({ timeout: 15_000 });
});
