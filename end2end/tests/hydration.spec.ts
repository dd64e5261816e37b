import { expect, test } from "@playwright/test";
import { SIGNED_IN_PAGES, SIGNED_OUT_PAGES, hydrated, signUpWith, uniqueName } from "./helpers";

// A page whose server-rendered markers do not match the browser's WebAssembly panics while
// hydrating and stays dead: in a release build that once happened on every page.
test("every page hydrates without an error @release", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  for (const path of SIGNED_OUT_PAGES) {
    await page.goto(path);
    await hydrated(page);
    expect(errors, `${path}, signed out`).toEqual([]);
  }
  await signUpWith(page, uniqueName("hyd"), "session");
  for (const path of SIGNED_IN_PAGES) {
    await page.goto(path);
    await hydrated(page);
    expect(errors, path).toEqual([]);
  }
});
