import { expect, test } from "@playwright/test";
import { hydrated, signUpWith, uniqueName } from "./helpers";

// .ci/end2end runs the suite on SQLite, then on PostgreSQL (DATABASE_URL names it).
const onPostgres = (process.env.DATABASE_URL ?? "").startsWith("postgres");

test.describe("the inspector", () => {
  test("a cookie session shows its cookie, its row and what the request cost", async ({ page }) => {
    await signUpWith(page, uniqueName("insp"), "session");
    // The requests of the first visit read the session's row. A SQLite server keeps it, so the
    // next page load reads nothing; PostgreSQL is read on every request.
    await page.reload();

    await expect(page.getByTestId("cost-queries")).toHaveText(onPostgres ? "1 query" : "0 queries");
    await expect(page.getByTestId("session-kept")).toHaveCount(onPostgres ? 0 : 1);
    await expect(page.getByTestId("cost-bytes")).toHaveText("33 bytes");
    await expect(page.getByTestId("cost-micros")).toHaveText(/^\d+ µs$/);
    await expect(page.getByTestId("claim-HttpOnly")).toHaveText("yes");
    await expect(page.getByTestId("claim-SameSite")).toHaveText("Lax");
    await expect(page.getByTestId("session-store")).toContainText(
      onPostgres ? "PostgreSQL" : "SQLite",
    );
  });

  test("a JWT shows its three parts, its claims and a live countdown @release", async ({ page }) => {
    await signUpWith(page, uniqueName("cnt"), "jwt");
    await hydrated(page);

    await expect(page.getByTestId("cost-queries")).toHaveText("0 queries");
    const parts = page.getByTestId("jwt-parts");
    await expect(parts.locator(".jwt-header")).toHaveText(/^eyJ.+…$/);
    await expect(parts.locator(".jwt-payload")).toBeVisible();
    await expect(parts.locator(".jwt-signature")).toBeVisible();
    await expect(page.getByTestId("rotation-history").locator("tbody tr")).toHaveCount(1);

    const countdown = page.getByTestId("countdown");
    const first = await countdown.textContent();
    expect(first).toMatch(/^(expires in \d+ s|expired \d+ s ago: the next request renews it)$/);
    // It ticks in the browser, without a request.
    await expect(countdown).not.toHaveText(first!);
    await expect(countdown).toHaveText(/expires in \d+ s|expired \d+ s ago/);
  });
});

test.describe("the tamper playground", () => {
  test("forgeries of your own token are refused, each with its reason", async ({ page }) => {
    await signUpWith(page, uniqueName("tamper"), "jwt");
    await page.goto("/playground");
    await hydrated(page);

    await page.getByTestId("preset-make_admin").click();
    const verdict = page.getByTestId("preset-verdict").locator(".verdict");
    await expect(verdict).toHaveAttribute("data-accepted", "false");
    await expect(verdict).toHaveAttribute("data-code", "bad_signature");

    await page.getByTestId("preset-alg_none").click();
    await expect(verdict).toHaveAttribute("data-code", "algorithm_not_allowed");

    await page.getByLabel("Payload", { exact: true }).fill('{"sub": "1", "role": "admin"}');
    await page.getByTestId("send-token").click();
    const custom = page.getByTestId("custom-verdict").locator(".verdict");
    await expect(custom).toHaveAttribute("data-accepted", "false");

    await page.getByTestId("probe-killed").click();
    const session = page.getByTestId("session-verdict").locator(".verdict");
    await expect(session).toHaveAttribute("data-code", "unknown_session");
  });

  test("in cookie-session mode it says to switch first", async ({ page }) => {
    await signUpWith(page, uniqueName("pgs"), "session");
    await page.goto("/playground");
    await expect(page.getByTestId("needs-jwt")).toContainText("JWT mode");
  });
});

test.describe("the compare page", () => {
  test("a burst fills both modes side by side, with the chart", async ({ page }) => {
    await signUpWith(page, uniqueName("cmp"), "session");
    await page.goto("/compare");
    await hydrated(page);

    await page.getByLabel("Requests in each column").fill("50");
    await page.getByTestId("generate-load").click();

    const requests = page.getByTestId("row-requests");
    await expect(requests.locator('[data-column="jwt-denylist"]')).toHaveText(/^\d{2,}$/);
    // Each request of the burst reads its session's row on PostgreSQL; on SQLite only the first
    // (the column also keeps the other tests' page loads, the first of each session a read).
    await expect(page.getByTestId("row-queries").locator('[data-column="session"]')).toHaveText(
      onPostgres ? "1.0" : /^0\.\d$/,
    );
    await expect(page.getByTestId("row-queries").locator('[data-column="jwt-pure"]')).toHaveText("0.0");
    await expect(page.getByTestId("row-kill").locator('[data-column="jwt-pure"]')).toContainText(
      "not until the token expires",
    );
    await expect(page.getByTestId("row-kill").locator('[data-column="jwt-denylist"]')).toContainText(
      "at once",
    );
    await expect(page.getByTestId("compare-chart").locator("rect.bar-median")).toHaveCount(4);
    // Each way beside its floor, and the password check the tickets spare.
    await expect(page.getByTestId("row-floor").locator('[data-column="session"]')).toContainText(
      onPostgres ? "one bare PostgreSQL round trip" : "through the pool",
    );
    await expect(page.getByTestId("row-floor").locator('[data-column="jwt-pure"]')).toContainText(
      "decode alone",
    );
    await expect(page.getByTestId("argon2")).toContainText(/took \d+ ms/);
    // What a session costs where it is kept, counted by the store itself.
    await expect(page.getByTestId("row-memory").locator('[data-column="session"]')).toContainText(
      onPostgres ? /\d+ bytes each on disk/ : /\d+ bytes each in use in the file's pages/,
    );
  });
});

test.describe("the cluster page", () => {
  test("a lone server's drill: every request answered by it, and recognised @release", async ({ page }) => {
    await signUpWith(page, uniqueName("clu"), "session");
    await page.goto("/cluster");
    await expect(page.getByTestId("balancer-none")).toBeVisible();
    await expect(page.getByTestId("cluster-where")).toContainText("directly");
    await hydrated(page);

    await page.getByLabel("Requests").fill("12");
    await page.getByTestId("run-drill").click();

    const rows = page.getByTestId("drill-result").locator("tbody tr");
    await expect(rows).toHaveCount(1);
    await expect(rows.first().getByTestId("drill-recognised")).toHaveText("12");
    await expect(rows.first().getByTestId("drill-not-recognised")).toHaveText("0");
    await expect(page.getByTestId("drill-after")).toHaveText(/still signed in/);
  });

  test("a number typed before the page hydrated is the one the drill sends", async ({ page }) => {
    // The WebAssembly arrives late, as on a slow network: the fast user types first.
    await page.route("**/pkg/*.wasm", async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await route.continue();
    });
    await page.goto("/cluster");
    await page.getByLabel("Requests").fill("5");
    await hydrated(page);
    await page.getByTestId("run-drill").click();
    await expect(page.getByTestId("drill-result").getByTestId("drill-not-recognised")).toHaveText("5");
  });

  test("a lone server under pure: the kill-reach drill's killed token still gets in @release", async ({ page }) => {
    await signUpWith(page, uniqueName("reach"), "jwt");
    await page.goto("/cluster");
    await hydrated(page);

    await page.getByTestId("run-kill-reach").click();

    const rows = page.getByTestId("kill-reach-result").locator("tbody tr");
    await expect(rows).toHaveCount(1);
    await expect(rows.first().getByTestId("kill-reach-refused-after")).toHaveText(/never/);
    await expect(page.getByTestId("kill-reach-summary")).toContainText(
      "1 of 1 instances still let the killed token in",
    );
    // The drill's device is listed as killed, beside this browser's.
    await page.goto("/devices");
    await expect(page.getByText("Kill-reach drill (cluster page)")).toBeVisible();
  });

  test("a browser with no session is recognised nowhere", async ({ page }) => {
    await page.goto("/cluster");
    await hydrated(page);
    await page.getByLabel("Requests").fill("3");
    await page.getByTestId("run-drill").click();
    await expect(page.getByTestId("drill-result").getByTestId("drill-not-recognised")).toHaveText("3");
    await expect(page.getByTestId("drill-after")).toHaveText(/signed out/);
  });
});
