import { writeFileSync } from "node:fs";
import { get } from "node:http";
import { Browser, Page, expect, test } from "@playwright/test";
import { SIGNED_IN_PAGES, SIGNED_OUT_PAGES, hydrated, signUpWith, uniqueName } from "./helpers";

// What a first visit to each page downloads of the split release build: the shell, the page's
// own chunk and the shared chunks it needs, as sent (the server sends cargo-leptos' brotli copies
// to browsers that accept them). Prints the table the README quotes and writes it to
// playwright-report/downloads.md. Only the release build is split and compressed.
const SHELL_BUDGET = 250_000;

type Visit = { path: string; files: number; wasm: number; other: number; shell: number; encoding: string };

async function firstVisit(browser: Browser, path: string, storageState?: string): Promise<Visit> {
  // A context of its own: an empty cache, as for someone who has never been here.
  const context = await browser.newContext(storageState ? { storageState: JSON.parse(storageState) } : {});
  const page: Page = await context.newPage();
  const sent: Promise<{ url: string; bytes: number; encoding: string }>[] = [];
  page.on("response", (response) => {
    const url = new URL(response.url());
    if (!url.pathname.startsWith("/pkg/")) return;
    sent.push(
      (async () => {
        await response.finished();
        const sizes = await response.request().sizes();
        return {
          url: url.pathname,
          bytes: sizes.responseBodySize,
          encoding: (await response.headerValue("content-encoding")) ?? "none",
        };
      })(),
    );
  });
  await page.goto(path);
  await hydrated(page);
  await page.waitForLoadState("networkidle");
  const files = await Promise.all(sent);
  await context.close();
  const shell = files.find((file) => file.url === "/pkg/ticketbooth.wasm");
  expect(shell, `${path}: the shell was fetched`).toBeDefined();
  const wasm = files.filter((file) => file.url.endsWith(".wasm"));
  const sum = (list: typeof files) => list.reduce((total, file) => total + file.bytes, 0);
  return {
    path,
    files: files.length,
    wasm: sum(wasm),
    other: sum(files) - sum(wasm),
    shell: shell!.bytes,
    encoding: shell!.encoding,
  };
}

test("a first visit to each page downloads the shell, compressed, and the chunks it needs @release", async ({
  browser,
  page,
}) => {
  test.skip(!process.env.E2E_RELEASE, "only the release build is split and compressed");
  test.setTimeout(120_000);
  const visits: { signedIn: boolean; visit: Visit }[] = [];
  for (const path of SIGNED_OUT_PAGES.filter((path) => path !== "/no-such-page")) {
    visits.push({ signedIn: false, visit: await firstVisit(browser, path) });
  }
  await signUpWith(page, uniqueName("dl"), "session");
  const signedIn = JSON.stringify(await page.context().storageState());
  for (const path of SIGNED_IN_PAGES) {
    visits.push({ signedIn: true, visit: await firstVisit(browser, path, signedIn) });
  }

  const kb = (bytes: number) => (bytes / 1000).toFixed(1);
  const rows = visits.map(
    ({ signedIn, visit }) =>
      `| \`${visit.path}\` ${signedIn ? "signed in" : "signed out"} | ${visit.files} | ${kb(visit.shell)} | ` +
      `${kb(visit.wasm - visit.shell)} | ${kb(visit.other)} | **${kb(visit.wasm + visit.other)}** |`,
  );
  const table = [
    "| first visit to | files from /pkg | the shell, KB | its chunks, KB | JS and CSS, KB | in all, KB |",
    "|---|---:|---:|---:|---:|---:|",
    ...rows,
  ].join("\n");
  console.log(`\n${table}\n`);
  writeFileSync("playwright-report/downloads.md", `${table}\n`);

  for (const { visit } of visits) {
    expect(visit.encoding, `${visit.path}: the shell is sent compressed`).toBe("br");
    expect(visit.shell, `${visit.path}: the shell as sent`).toBeLessThanOrEqual(SHELL_BUDGET);
    // More than the shell: the page's own chunk came too, or it could not have hydrated.
    expect(visit.wasm, `${visit.path}: the page's chunks`).toBeGreaterThan(visit.shell);
  }
});

/** The bytes of `path` as the server sends them to a client that accepts only `encoding`. */
function sentAs(path: string, encoding: string): Promise<{ bytes: number; encoding: string }> {
  const url = new URL(path, process.env.E2E_BASE_URL);
  return new Promise((resolve, reject) => {
    get(url, { headers: { "accept-encoding": encoding } }, (response) => {
      let bytes = 0;
      response.on("data", (chunk: Buffer) => (bytes += chunk.length));
      response.on("end", () =>
        resolve({ bytes, encoding: String(response.headers["content-encoding"] ?? "none") }),
      );
      response.on("error", reject);
    }).on("error", reject);
  });
}

test("a browser that takes gzip but not brotli gets the shell within the budget too @release", async () => {
  test.skip(!process.env.E2E_RELEASE, "only the release build is split and compressed");
  const shell = await sentAs("/pkg/ticketbooth.wasm", "gzip");
  expect(shell.encoding).toBe("gzip");
  expect(shell.bytes).toBeLessThanOrEqual(SHELL_BUDGET);
});
