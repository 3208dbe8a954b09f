/**
 * The load balancer's HTTP endpoint app: metrics (Prometheus text and JSON), health, the
 * dashboard, `GET /pools`, `GET /routes` and the admin API.
 *
 * @module
 */

import { createMetricsApp, type HttpApp, type Logger, type RequestApp } from "@monkey/shared";
import { ADMIN_ROUTES, createAdminApp } from "./admin.ts";
import { DEFAULT_POOL_NAME, type LbConfig } from "./config.ts";
import type { TlsCounters } from "./connection.ts";
import { lbDashboardView } from "./dashboard.ts";
import type { LbMetrics, LbSnapshot } from "./metrics.ts";
import type { BackendPool } from "./pool.ts";
import type { Route, RoutedPool } from "./routing.ts";
import { poolRows, routeRows } from "./routing_metrics.ts";

/** The endpoint's HTTP app (metrics, health, dashboard, pools, routes, admin) as callers use it. */
export type LbHttpApp = RequestApp;

/** What the app reads, at request time. */
export interface LbAppSources {
  /** Counters and gauges. */
  metrics: LbMetrics;
  /** TLS and inspection counters. */
  tlsCounters: TlsCounters;
  /** Every pool, default first. */
  pools: () => RoutedPool[];
  /** The routes in force. */
  routes: () => readonly Route[];
  /** The configuration in force. */
  config: () => LbConfig;
  /** False while draining (`/health` answers 503). */
  healthy: () => boolean;
  /** The default pool, which the admin API changes. */
  pool: BackendPool;
  /** Where admin actions are logged. */
  logger: Logger;
}

/**
 * Build the endpoint app and the JSON snapshot it serves.
 *
 * @param sources Metrics, pools, routes and configuration.
 * @returns The app and the snapshot.
 * @example
 * ```ts
 * const { app, snapshot } = createLbApp({ metrics, tlsCounters, pools, routes, config, healthy, pool, logger });
 * await app.request("/pools");
 * ```
 */
export function createLbApp(sources: LbAppSources): { app: HttpApp; snapshot: () => LbSnapshot } {
  const { metrics, tlsCounters, pools, routes, config } = sources;
  const strategyOf = (p: RoutedPool) =>
    p.name === DEFAULT_POOL_NAME ? config().strategy : config().pools[p.name]?.strategy ?? "";
  const snapshot = (): LbSnapshot => ({
    ...metrics.snapshot(),
    tls_handshake_failures: tlsCounters.handshakeFailures.value,
    sni_misses: tlsCounters.sniMisses.value,
    client_hello_errors: tlsCounters.helloErrors.value,
    inspect_timeouts: tlsCounters.inspectTimeouts.value,
    pools: poolRows(pools(), strategyOf),
    routes: routeRows(routes()),
  });
  const app = createMetricsApp({
    service: "load balancer",
    prometheus: () => metrics.registry.render(),
    snapshot,
    healthy: sources.healthy,
    routes: [
      ...ADMIN_ROUTES,
      ["GET /pools", "every pool (default first) with its backends, connections and bytes"],
      ["GET /routes", "every route with its matchers, pool, connections and bytes"],
    ],
    dashboard: { view: () => lbDashboardView(metrics.snapshot(), config()) },
  });
  app.get("/pools", (c) => c.json(poolRows(pools(), strategyOf)));
  app.get("/routes", (c) => c.json(routeRows(routes())));
  app.route(
    "/",
    createAdminApp({
      pool: sources.pool,
      token: () => config().admin_token,
      logger: sources.logger,
    }),
  );
  return { app, snapshot };
}
