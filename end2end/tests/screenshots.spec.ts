// Retakes the README's screenshots (make screenshots); not part of the normal run.
import { test } from "@playwright/test";
import { hydrated, logIn, signUp } from "./helpers";

test("dashboard and devices, as a user sees them", async ({ browser }) => {
  const name = "ada";
  const laptop = await (await browser.newContext({ viewport: { width: 1100, height: 760 } })).newPage();
  const phone = await (
    await browser.newContext({
      userAgent:
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
    })
  ).newPage();
  await signUp(laptop, name);
  await logIn(phone, name);

  await laptop.goto("/dashboard");
  await hydrated(laptop);
  await laptop.screenshot({ path: "screenshots/dashboard.png", fullPage: true });

  await laptop.goto("/devices");
  await hydrated(laptop);
  await laptop.screenshot({ path: "screenshots/devices.png", fullPage: true });
});
