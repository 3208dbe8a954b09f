/**
 * The live dashboard on a service's Hono endpoint: `GET /dashboard` (and `GET /` for a
 * browser), its script and styles, and `GET /events`, the server-sent event stream.
 *
 * @module
 */

import type { Context } from "hono";
import { honoOf } from "../_hono.ts";
import type { HttpApp } from "../app.ts";
import { streamSSE } from "hono/streaming";
import { DASHBOARD_CSS, DASHBOARD_JS, UPLOT_CSS, UPLOT_JS } from "./assets.ts";
import { dashboardHtml, SECURITY_HEADERS } from "./page.ts";
import { DEFAULT_TICK_MS, Ticker } from "./ticker.ts";
import type { DashboardView } from "./view.ts";

/** Options for {@linkcode mountDashboard}. */
export interface DashboardOptions {
  /** The current numbers, called once per update while someone watches. */
  view: () => DashboardView | Promise<DashboardView>;
  /** Milliseconds between updates. @default 1000 */
  intervalMs?: number;
}

/** A mounted dashboard. */
export interface Dashboard {
  /** The shared ticker (runs only while at least one `/events` client is connected). */
  readonly ticker: Ticker<string>;
  /** End every open event stream (the endpoint calls it before shutting down). */
  closeStreams(): void;
}

/** The routes a dashboard adds, for the index page. */
export const DASHBOARD_ROUTES: readonly (readonly [string, string])[] = [
  ["GET /dashboard", "live dashboard (also GET / from a browser)"],
  ["GET /events", "the dashboard's server-sent events, one update per second"],
];

const mounted = new WeakMap<object, Dashboard>();

/**
 * Add the dashboard routes to a service's app. Call before the app's own `GET /` so a
 * browser (a request accepting `text/html`) gets the page there; others fall through.
 *
 * @param app The service's app (a Hono app).
 * @param service The service name shown on the page.
 * @param options What each update shows, and how often.
 * @returns The dashboard (its ticker and a way to end the streams).
 * @example
 * ```ts
 * const app = new Hono();
 * mountDashboard(app, "echo", {
 *   view: () => ({ title: "echo", stats: [], charts: [], tables: [] }),
 * });
 * ```
 */
export function mountDashboard(
  app: HttpApp,
  service: string,
  options: DashboardOptions,
): Dashboard {
  const hono = honoOf(app);
  const ticker = new Ticker<string>({
    produce: async () => JSON.stringify({ t: Date.now(), ...(await options.view()) }),
    intervalMs: options.intervalMs ?? DEFAULT_TICK_MS,
  });
  const closers = new Set<() => void>();
  const html = dashboardHtml(service);
  const page = (c: Context) =>
    c.html(html, 200, { ...SECURITY_HEADERS, "cache-control": "no-store" });
  const asset = (body: string, type: string) => (c: Context) =>
    c.body(body, 200, { ...SECURITY_HEADERS, "content-type": type, "cache-control": "no-cache" });

  hono.get("/", (c, next) => wantsHtml(c) ? page(c) : next());
  hono.get("/dashboard", page);
  hono.get("/dashboard/uplot.js", asset(UPLOT_JS, "text/javascript; charset=utf-8"));
  hono.get("/dashboard/app.js", asset(DASHBOARD_JS, "text/javascript; charset=utf-8"));
  hono.get("/dashboard/uplot.css", asset(UPLOT_CSS, "text/css; charset=utf-8"));
  hono.get("/dashboard/style.css", asset(DASHBOARD_CSS, "text/css; charset=utf-8"));
  hono.get("/events", (c) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.header(k, v);
    return streamSSE(c, async (stream) => {
      const { promise, resolve } = Promise.withResolvers<void>();
      const unsubscribe = ticker.subscribe((data) => {
        stream.writeSSE({ data }).catch(() => resolve());
      });
      closers.add(resolve);
      stream.onAbort(() => resolve());
      try {
        await promise;
      } finally {
        closers.delete(resolve);
        unsubscribe();
      }
    });
  });

  const dashboard: Dashboard = {
    ticker,
    closeStreams() {
      for (const close of [...closers]) close();
    },
  };
  mounted.set(app, dashboard);
  return dashboard;
}

/**
 * End the open event streams of the dashboard mounted on `app`, if any (so a server's
 * graceful shutdown does not wait for browsers that never hang up).
 *
 * @param app An app that may have a dashboard.
 * @example
 * ```ts
 * closeDashboardStreams(app);
 * ```
 */
export function closeDashboardStreams(app: object): void {
  mounted.get(app)?.closeStreams();
}

/** Whether a request prefers HTML (a browser), judged by its Accept header. */
function wantsHtml(c: Context): boolean {
  return (c.req.header("accept") ?? "").includes("text/html");
}
