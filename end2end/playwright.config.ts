import { defineConfig } from "@playwright/test";

// The server is started by ../.ci/end2end, with a fresh database, before Playwright runs.
const baseURL = process.env.E2E_BASE_URL ?? "http://127.0.0.1:3000";

export default defineConfig({
  testDir: "./tests",
  // Screenshots for the README are taken on request only (make screenshots), and alone, so
  // that no other test's traffic shows in them.
  ...(process.env.E2E_SCREENSHOTS
    ? { testMatch: ["**/screenshots.spec.ts"] }
    : { testIgnore: ["**/screenshots.spec.ts"] }),
  // ../.ci/end2end runs the release build with only the tests tagged @release.
  ...(process.env.E2E_GREP ? { grep: new RegExp(process.env.E2E_GREP) } : {}),
  globalSetup: "./global-setup.ts",
  // Generous: on PostgreSQL a debug build's compare-page burst (50 requests a column, 1 000
  // reads per store, the floors) took 3 to 12 s on this project's slower machines, and a
  // sign-up meanwhile waited as long.
  timeout: 60_000,
  expect: { timeout: 25_000 },
  fullyParallel: true,
  workers: 2,
  forbidOnly: true,
  retries: 0,
  // The JSON report is what ../.ci/end2end checks: tests ran, none failed.
  reporter: [["list"], ["json", { outputFile: "playwright-report/results.json" }]],
  use: {
    baseURL,
    browserName: "chromium",
    // Debian's Chromium: Playwright's own browser download is not reachable from here.
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
});
