/**
 * Metrics of routes, named pools, TLS termination and ClientHello inspection: Prometheus
 * families read at scrape time, and the JSON rows of `GET /pools` and `GET /routes`.
 *
 * @module
 */

import type { Registry } from "@monkey/shared";
import type { BackendSnapshot } from "./backend.ts";
import type { TlsCounters } from "./connection.ts";
import type { Route, RoutedPool } from "./routing.ts";

/** One pool in `GET /pools` and the JSON snapshot. */
export interface PoolSnapshot {
  /** Its name. */
  name: string;
  /** Its strategy. */
  strategy: string;
  /** Connections routed to it. */
  connections: number;
  /** Bytes client to backends (finished connections). */
  bytes_upstream: number;
  /** Bytes backends to clients (finished connections). */
  bytes_downstream: number;
  /** Its backends. */
  backends: BackendSnapshot[];
}

/** One route in `GET /routes` and the JSON snapshot. */
export interface RouteSnapshot {
  /** Its position in `[[routes]]`. */
  route: string;
  /** The pool it sends to. */
  pool: string;
  /** Matchers as configured. */
  sni: string | null;
  /** ALPN matcher. */
  alpn: string | null;
  /** Client block matcher. */
  source: string | null;
  /** Connections it matched. */
  connections: number;
  /** Bytes client to backends (finished connections). */
  bytes_upstream: number;
  /** Bytes backends to clients (finished connections). */
  bytes_downstream: number;
}

/**
 * Rows of every pool.
 *
 * @param pools The pools, default first.
 * @param strategyOf The strategy name of a pool.
 * @returns One row per pool.
 * @example
 * ```ts
 * poolRows(pools(), (p) => p.name);
 * ```
 */
export function poolRows(
  pools: readonly RoutedPool[],
  strategyOf: (pool: RoutedPool) => string,
): PoolSnapshot[] {
  return pools.map((p) => ({
    name: p.name,
    strategy: strategyOf(p),
    connections: p.traffic.connections,
    bytes_upstream: p.traffic.bytesUp,
    bytes_downstream: p.traffic.bytesDown,
    backends: p.pool.snapshot(),
  }));
}

/**
 * Rows of every route.
 *
 * @param routes The routes in order.
 * @returns One row per route.
 * @example
 * ```ts
 * routeRows(router.routes);
 * ```
 */
export function routeRows(routes: readonly Route[]): RouteSnapshot[] {
  return routes.map((r) => ({
    route: r.name,
    pool: r.config.pool ?? "",
    sni: r.config.sni ?? null,
    alpn: r.config.alpn ?? null,
    source: r.config.source ?? null,
    connections: r.traffic.connections,
    bytes_upstream: r.traffic.bytesUp,
    bytes_downstream: r.traffic.bytesDown,
  }));
}

/**
 * Register the TLS counters and the per-pool and per-route families.
 *
 * @param registry The balancer's registry.
 * @param pools Every pool now (default first).
 * @param routes Every route now.
 * @returns The counters the connection handler bumps.
 * @example
 * ```ts
 * const tlsCounters = registerRoutingMetrics(metrics.registry, () => pools, () => routes);
 * ```
 */
export function registerRoutingMetrics(
  registry: Registry,
  pools: () => readonly RoutedPool[],
  routes: () => readonly Route[],
): TlsCounters {
  const counters: TlsCounters = {
    handshakeFailures: registry.counter(
      "monkey_lb_tls_handshake_failures_total",
      "Client TLS handshakes that failed or timed out (TLS termination)",
    ),
    sniMisses: registry.counter(
      "monkey_lb_sni_misses_total",
      "Clients without a TLS server name where SNI/ALPN routes exist",
    ),
    helloErrors: registry.counter(
      "monkey_lb_client_hello_errors_total",
      "Clients closed for a malformed or oversized TLS ClientHello",
    ),
    inspectTimeouts: registry.counter(
      "monkey_lb_inspect_timeouts_total",
      "Clients closed for sending no ClientHello within inspect_timeout_ms",
    ),
  };
  registry.collect(
    "monkey_lb_pool_connections_total",
    "Connections routed to each pool",
    "counter",
    () => pools().map((p) => [{ pool: p.name }, p.traffic.connections]),
  );
  registry.collect(
    "monkey_lb_pool_bytes_total",
    "Bytes through each pool, by direction (finished connections)",
    "counter",
    () =>
      pools().flatMap((p) => [
        [{ pool: p.name, direction: "upstream" }, p.traffic.bytesUp],
        [{ pool: p.name, direction: "downstream" }, p.traffic.bytesDown],
      ]),
  );
  registry.collect(
    "monkey_lb_route_connections_total",
    "Connections each route matched",
    "counter",
    () =>
      routes().map((r) => [{ route: r.name, pool: r.config.pool ?? "" }, r.traffic.connections]),
  );
  registry.collect(
    "monkey_lb_route_bytes_total",
    "Bytes through each route, by direction (finished connections)",
    "counter",
    () =>
      routes().flatMap((r) => [
        [{ route: r.name, direction: "upstream" }, r.traffic.bytesUp],
        [{ route: r.name, direction: "downstream" }, r.traffic.bytesDown],
      ]),
  );
  return counters;
}
