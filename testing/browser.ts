/**
 * Browser tests on the system's headless Chromium, driven by playwright-core (no browser
 * download): whether they can run here, a page that records console errors and every request,
 * and screenshots for the docs.
 *
 * @module
 */

import assert from "node:assert/strict";
import fs from "node:fs";
import type { Browser, Page } from "playwright-core";

/** Where Chromium is looked for (`CHROMIUM_PATH` overrides). @default "/usr/bin/chromium" */
export const CHROMIUM_PATH = "/usr/bin/chromium";

const NEEDED: Deno.PermissionName[] = ["run", "env", "read", "write", "sys", "net"];

/**
 * Why browser tests cannot run here, or undefined when they can.
 *
 * @returns A short reason (missing permission or missing Chromium).
 * @example
 * ```ts
 * Deno.test({ name: browserTestName("page loads"), ignore: browserSkipReason() !== undefined, fn() {} });
 * ```
 */
export function browserSkipReason(): string | undefined {
  const missing = NEEDED.filter((name) => Deno.permissions.querySync({ name }).state !== "granted");
  if (missing.length > 0) return `needs --allow-${missing.join(" --allow-")}`;
  const path = chromiumPath();
  try {
    Deno.statSync(path);
  } catch {
    return `no Chromium at ${path} (apt-get install chromium)`;
  }
  return undefined;
}

/**
 * A browser test's name, with the reason it is skipped when it is.
 *
 * @param name The test's sentence.
 * @returns The name, e.g. `proxy dashboard ... (skipped: no Chromium at /usr/bin/chromium)`.
 * @example
 * ```ts
 * browserTestName("the report opens from file://");
 * ```
 */
export function browserTestName(name: string): string {
  const reason = browserSkipReason();
  return reason === undefined ? name : `${name} (skipped: ${reason})`;
}

/**
 * Launch headless Chromium.
 *
 * @returns The browser; close it with `await browser.close()`.
 * @example
 * ```ts
 * const browser = await launchBrowser();
 * await browser.close();
 * ```
 */
export async function launchBrowser(): Promise<Browser> {
  lenientExistsSync();
  const { chromium } = await import("playwright-core");
  return await chromium.launch({ executablePath: chromiumPath(), args: ["--no-sandbox"] });
}

/**
 * playwright-core probes `/proc/sys/fs/binfmt_misc/WSLInterop` with `fs.existsSync` when it
 * loads; Deno answers a path under `/proc/sys` with a NotCapable error unless `--allow-all`,
 * where Node's `existsSync` returns false on any error. Give it Node's behaviour, so the
 * browser tests run with the test task's permissions.
 */
function lenientExistsSync(): void {
  const original = fs.existsSync;
  if ((original as { lenient?: boolean }).lenient) return;
  const lenient = (path: fs.PathLike) => {
    try {
      return original(path);
    } catch {
      return false;
    }
  };
  fs.existsSync = Object.assign(lenient, { lenient: true });
}

/** A page with what it did recorded. */
export interface WatchedPage {
  /** The page. */
  page: Page;
  /** Console errors, uncaught exceptions and responses of 400 and above, in order. */
  errors: string[];
  /** Every URL requested (data: URLs left out). */
  requests: string[];
}

/** Options for {@linkcode openWatchedPage}. */
export interface WatchedPageOptions {
  /** Viewport. @default { width: 1280, height: 900 } */
  viewport?: { width: number; height: number };
  /** Emulated `prefers-color-scheme`. @default "light" */
  colorScheme?: "light" | "dark";
}

/**
 * Open a page in a fresh context (its own `sessionStorage`) recording errors and requests.
 *
 * @param browser The browser.
 * @param options Viewport and colour scheme.
 * @returns The page and its records.
 * @example
 * ```ts
 * const { page, errors, requests } = await openWatchedPage(browser);
 * await page.goto("http://127.0.0.1:9090/dashboard");
 * ```
 */
export async function openWatchedPage(
  browser: Browser,
  options: WatchedPageOptions = {},
): Promise<WatchedPage> {
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1280, height: 900 },
    colorScheme: options.colorScheme ?? "light",
  });
  const page = await context.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("response", (response) => {
    if (response.status() >= 400) errors.push(`${response.status()} ${response.url()}`);
  });
  page.on("request", (request) => {
    if (!request.url().startsWith("data:")) requests.push(request.url());
  });
  return { page, errors, requests };
}

/**
 * Save a screenshot: into `docs/` when `UPDATE_SCREENSHOTS=1` (how the README's images are
 * made), else into a temporary file that is removed (the page must still render).
 *
 * @param page The page.
 * @param name File name, e.g. `dashboard-proxy.png`.
 * @returns The PNG's size in bytes.
 * @example
 * ```ts
 * await screenshot(page, "dashboard-echo.png");
 * ```
 */
export async function screenshot(page: Page, name: string): Promise<number> {
  const update = Deno.env.get("UPDATE_SCREENSHOTS") === "1";
  const path = update
    ? new URL(`../docs/${name}`, import.meta.url).pathname
    : await Deno.makeTempFile({ suffix: `-${name}` });
  if (update) await Deno.mkdir(new URL("../docs/", import.meta.url), { recursive: true });
  const png = await page.screenshot({ path, fullPage: true });
  if (!update) await Deno.remove(path);
  return png.byteLength;
}

/** The little of the DOM these helpers touch inside the page (Deno has no DOM types). */
interface PageGlobals {
  document: { body: { dataset: Record<string, string | undefined> } };
}

function chromiumPath(): string {
  return Deno.permissions.querySync({ name: "env", variable: "CHROMIUM_PATH" }).state ===
      "granted"
    ? Deno.env.get("CHROMIUM_PATH") ?? CHROMIUM_PATH
    : CHROMIUM_PATH;
}

/** Load running in the background while a page watches. */
export interface BackgroundLoad {
  /** Round trips completed so far. */
  readonly roundTrips: number;
  /** Stop, close every connection and wait for the clients to end. */
  stop(): Promise<void>;
}

/**
 * Keep `connections` clients doing 1 KiB ping-pong against `addr` until stopped (the
 * connections stay open, so connection counts hold still while bytes grow).
 *
 * @param addr `host:port` of an echo server or of a proxy in front of one.
 * @param connections How many clients. @default 4
 * @returns A handle to read progress and stop.
 * @example
 * ```ts
 * const load = await pingPongLoad(proxy.addr);
 * await load.stop();
 * ```
 */
export async function pingPongLoad(addr: string, connections = 4): Promise<BackgroundLoad> {
  const [host, port] = [addr.slice(0, addr.lastIndexOf(":")), Number(addr.split(":").pop())];
  const conns = await Promise.all(
    Array.from({ length: connections }, () => Deno.connect({ hostname: host, port })),
  );
  let roundTrips = 0;
  let stopped = false;
  const message = new Uint8Array(1024).fill(42);
  const loops = conns.map(async (conn) => {
    const buffer = new Uint8Array(message.length);
    try {
      while (!stopped) {
        await conn.write(message);
        let got = 0;
        while (got < message.length) {
          const n = await conn.read(buffer.subarray(got));
          if (n === null) return;
          got += n;
        }
        roundTrips++;
      }
    } catch {
      // closed by stop()
    }
  });
  return {
    get roundTrips() {
      return roundTrips;
    },
    async stop() {
      stopped = true;
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // already closed
        }
      }
      await Promise.all(loops);
    },
  };
}

/**
 * An element's `data-*` attribute (the dashboard puts raw numbers there).
 *
 * @param page The page.
 * @param selector CSS selector of one element.
 * @param key The data key, e.g. `raw` for `data-raw`.
 * @returns The attribute's text, or null.
 * @example
 * ```ts
 * Number(await dataOf(page, '[data-stat="total_connections"]', "raw"));
 * ```
 */
export function dataOf(page: Page, selector: string, key: string): Promise<string | null> {
  return page.locator(selector).first().getAttribute(`data-${key}`);
}

/**
 * Wait until the dashboard has applied `count` updates in all (its `body[data-updates]`).
 *
 * @param page The page.
 * @param count Updates to wait for.
 * @param timeoutMs Deadline. @default 10000
 * @returns The number of updates applied when it returned.
 * @example
 * ```ts
 * const seen = await waitForUpdates(page, 3);
 * ```
 */
export async function waitForUpdates(
  page: Page,
  count: number,
  timeoutMs = 10_000,
): Promise<number> {
  // A function, not a string: the dashboard's CSP forbids eval.
  await page.waitForFunction(
    (n: number) =>
      Number((globalThis as unknown as PageGlobals).document.body.dataset.updates ?? 0) >= n,
    count,
    { timeout: timeoutMs },
  );
  return Number(await page.locator("body").getAttribute("data-updates"));
}

/**
 * How many pixels the page is wider than its viewport (0 or less: no horizontal scrolling).
 *
 * @param page The page.
 * @returns `scrollWidth - clientWidth` of the document.
 * @example
 * ```ts
 * assert.ok(await horizontalOverflow(page) <= 0);
 * ```
 */
export function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => {
    const root = (globalThis as unknown as {
      document: { documentElement: { scrollWidth: number; clientWidth: number } };
    }).document.documentElement;
    return root.scrollWidth - root.clientWidth;
  });
}

/**
 * Register a browser test: named with its skip reason, ignored where browser tests cannot run,
 * without the op and resource sanitizers (the browser's pipes outlive the test's bookkeeping).
 *
 * @param name The test's sentence.
 * @param fn The test.
 * @example
 * ```ts
 * browserTest("the page loads", async () => {});
 * ```
 */
export function browserTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name: browserTestName(name),
    ignore: browserSkipReason() !== undefined,
    sanitizeOps: false,
    sanitizeResources: false,
    fn,
  });
}

/** What {@linkcode checkDashboard} hands its check. */
export interface DashboardPage {
  /** The page, three updates in. */
  page: Page;
  /** Every URL the page requested so far. */
  requests: string[];
}

/**
 * Open a live dashboard in a new headless browser and wait for three updates; run `check`;
 * then take screenshot `shot` and assert that the page had no error and requested nothing
 * outside `origin`. The browser is closed at the end.
 *
 * @param origin `http://host:port` of the metrics endpoint.
 * @param path The dashboard's path (`/` or `/dashboard`).
 * @param shot Screenshot file name (see {@linkcode screenshot}).
 * @param check What the test checks on the page.
 * @param options Viewport and colour scheme.
 * @example
 * ```ts
 * await checkDashboard("http://127.0.0.1:9090", "/", "dashboard-echo.png", async ({ page }) => {
 *   await dataOf(page, '[data-stat="total_connections"]', "raw");
 * });
 * ```
 */
export async function checkDashboard(
  origin: string,
  path: string,
  shot: string,
  check: (watched: DashboardPage) => Promise<void>,
  options: WatchedPageOptions = {},
): Promise<void> {
  const browser = await launchBrowser();
  try {
    const { page, errors, requests } = await openWatchedPage(browser, options);
    await page.goto(`${origin}${path}`);
    await waitForUpdates(page, 3);
    await check({ page, requests });
    await screenshot(page, shot);
    assert.deepEqual(errors, []);
    assert.deepEqual(requests.filter((url) => !url.startsWith(`${origin}/`)), []);
  } finally {
    await browser.close();
  }
}

/**
 * The latest sample of a chart on a dashboard page, one value per series.
 *
 * @param page The page.
 * @param chart The chart's id (`data-chart`).
 * @returns The values; empty before the first sample.
 * @example
 * ```ts
 * const [up] = await chartLast(page, "bytes");
 * ```
 */
export async function chartLast(page: Page, chart: string): Promise<(number | null)[]> {
  return JSON.parse(await dataOf(page, `[data-chart="${chart}"]`, "last") ?? "[]");
}
