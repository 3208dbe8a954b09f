/**
 * The HTTP endpoint every service serves: a Hono app factory and a `Deno.serve` wrapper.
 *
 * @module
 */

import { Hono } from "hono";
import { honoOf } from "./_hono.ts";
import { formatAddress, parseAddress } from "../net/address.ts";
import {
  closeDashboardStreams,
  DASHBOARD_ROUTES,
  type DashboardOptions,
  mountDashboard,
} from "./dashboard/mount.ts";

/** The request as a route handler sees it. */
export interface HttpRequest {
  /** The web-standard request. */
  readonly raw: Request;
  /** The method, e.g. `GET`. */
  readonly method: string;
  /** The path, without the query. */
  readonly path: string;
}

/** What a route handler gets (a Hono context, as services use it). */
export interface HttpContext {
  /** The request. */
  readonly req: HttpRequest;
  /**
   * Answer with JSON.
   *
   * @param body Serialised with `JSON.stringify`.
   * @param status HTTP status. @default 200
   * @param headers Extra headers.
   * @returns The response.
   */
  json(body: unknown, status?: number, headers?: Record<string, string>): Response;
}

/** A route handler. */
export type HttpHandler = (c: HttpContext) => Response | Promise<Response>;

/**
 * A service's HTTP app as its callers see it (a Hono app underneath): answer requests in
 * process without a socket, or as a `Deno.serve` handler.
 */
export interface RequestApp {
  /**
   * Answer a request in process, e.g. `app.request("/metrics")`.
   *
   * @param input A path (or URL, or request).
   * @param init Method, headers and body.
   * @returns The response.
   */
  request(input: string | URL | Request, init?: RequestInit): Response | Promise<Response>;
  /**
   * Answer a request (the `Deno.serve` handler shape).
   *
   * @param request The request.
   * @returns The response.
   */
  fetch(request: Request): Response | Promise<Response>;
}

/**
 * The endpoint's HTTP app (a Hono app underneath), as services and callers use it: answer
 * requests in process or from a server, and add routes.
 */
export interface HttpApp extends RequestApp {
  /**
   * Add a `GET` route.
   *
   * @param path The route pattern.
   * @param handler Answers it.
   */
  get(path: string, handler: HttpHandler): unknown;
  /**
   * Serve another app's routes under `path` (`"/"` merges them).
   *
   * @param path Where to mount.
   * @param app A Hono app (or another app from {@linkcode createMetricsApp}).
   */
  route(path: string, app: { fetch(request: Request): Response | Promise<Response> }): unknown;
}

/** Options for {@linkcode createMetricsApp}. */
export interface MetricsAppOptions {
  /** Service name shown on `/`, e.g. "proxy". */
  service: string;
  /** Prometheus text for `GET /metrics` (may be async, e.g. gathered from workers). */
  prometheus: () => string | Promise<string>;
  /** JSON snapshot for `GET /metrics?format=json`. */
  snapshot: () => unknown;
  /** False while draining: `/health` answers 503. */
  healthy: () => boolean;
  /**
   * A reason to answer `/health` with 503 besides draining (e.g. `target_down`), or undefined
   * when there is none (may be async, e.g. gathered from workers). @default none
   */
  problem?: () => string | undefined | Promise<string | undefined>;
  /** Extra routes listed on `/`, as `["GET /clients", "per-client stats"]` pairs. @default [] */
  routes?: readonly (readonly [string, string])[];
  /** A live dashboard on `/dashboard` and `/` (for browsers), fed by `/events`. @default none */
  dashboard?: DashboardOptions;
}

/** Content type of Prometheus text exposition 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * Build the metrics app: `/metrics`, `/metrics?format=json`, `/health`, `/`. Services add
 * their own routes to the returned app. Unknown routes answer 404 and wrong methods 405,
 * both as JSON; an unexpected error answers 500 with a JSON body and no stack.
 *
 * @param options What to serve.
 * @returns A Hono app, testable with `app.request()`.
 * @example
 * ```ts
 * const app = createMetricsApp({ service: "echo", prometheus: () => "", snapshot: () => ({}), healthy: () => true });
 * const res = await app.request("/health");
 * ```
 */
export function createMetricsApp(options: MetricsAppOptions): HttpApp {
  const app = new Hono();
  if (options.dashboard) mountDashboard(app, options.service, options.dashboard);
  app.get("/metrics", async (c) => {
    if (c.req.query("format") === "json") return c.json(await options.snapshot() as object);
    return c.body(await options.prometheus(), 200, { "content-type": PROMETHEUS_CONTENT_TYPE });
  });
  app.get("/health", async (c) => {
    if (!options.healthy()) return c.json({ status: "draining" }, 503);
    const problem = await options.problem?.();
    return problem === undefined ? c.json({ status: "ok" }) : c.json({ status: problem }, 503);
  });
  app.get("/", (c) => {
    const routes = [
      ["GET /metrics", "Prometheus text exposition"],
      ["GET /metrics?format=json", "JSON snapshot"],
      ["GET /health", "200 when serving, 503 while draining"],
      ...(options.dashboard ? DASHBOARD_ROUTES : []),
      ...(options.routes ?? []),
    ];
    const lines = routes.map(([route, what]) => `  ${route.padEnd(28)} ${what}`);
    return c.text(`monkey-d-tcp ${options.service}\n\n${lines.join("\n")}\n`);
  });
  // Its own routes answer 405 for other methods; services add theirs with methodNotAllowed().
  const own = ["/metrics", "/health", "/"];
  if (options.dashboard) own.push("/dashboard", "/events");
  for (const path of own) {
    app.all(
      path,
      (c) =>
        c.json({ error: `method ${c.req.method} not allowed on ${path}` }, 405, { allow: "GET" }),
    );
  }
  app.onError((_error, c) => c.json({ error: "internal error" }, 500));
  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${c.req.path}` }, 404));
  return app;
}

/**
 * Answer 405 for methods a known path does not serve. Call after every route is added.
 *
 * @param app The app.
 * @param paths Route patterns to protect, with their allowed methods.
 * @example
 * ```ts
 * const app = createMetricsApp({ service: "demo", prometheus: () => "", snapshot: () => ({}) });
 * methodNotAllowed(app, { "/metrics": ["GET"] });
 * ```
 */
export function methodNotAllowed(
  app: HttpApp,
  paths: Readonly<Record<string, readonly string[]>>,
): void {
  for (const [path, methods] of Object.entries(paths)) {
    honoOf(app).all(
      path,
      (c) =>
        c.json({ error: `method ${c.req.method} not allowed on ${path}` }, 405, {
          allow: methods.join(", "),
        }),
    );
  }
}

/** A running HTTP endpoint. */
export interface HttpEndpoint {
  /** The bound address as `host:port`. */
  addr: string;
  /** Stop serving and wait for in-flight requests. */
  shutdown(): Promise<void>;
}

/**
 * Serve an app with `Deno.serve` on a `host:port` address (port 0 picks a free port).
 *
 * @param app The Hono app.
 * @param addr Where to listen.
 * @returns The bound address and a `shutdown()`.
 * @throws {Deno.errors.AddrInUse} When the address is taken.
 * @example
 * ```ts
 * const app = createMetricsApp({ service: "demo", prometheus: () => "", snapshot: () => ({}) });
 * const endpoint = serveHttp(app, "127.0.0.1:0");
 * await endpoint.shutdown();
 * ```
 */
export function serveHttp(app: HttpApp, addr: string): HttpEndpoint {
  const { hostname, port } = parseAddress(addr);
  const server = Deno.serve({ hostname, port, onListen: () => {} }, honoOf(app).fetch);
  const bound = server.addr as Deno.NetAddr;
  return {
    addr: formatAddress(bound),
    shutdown: () => {
      closeDashboardStreams(app);
      return server.shutdown();
    },
  };
}
