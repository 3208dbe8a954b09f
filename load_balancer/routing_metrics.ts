/**
 * Metrics of routes, named pools, TLS termination and ClientHello inspection: Prometheus
 * families read at scrape time, and the JSON rows of `GET /pools` and `GET /routes`.
 *
 * @module
 */

import type { Labels, Registry } from "@monkey/shared";
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
  registerTraffic(registry, "pool", "Connections routed to each pool", pools, (p) => ({
    pool: p.name,
  }));
  registerTraffic(registry, "route", "Connections each route matched", routes, (r) => ({
    route: r.name,
    pool: r.config.pool ?? "",
  }));
  return counters;
}

/** `monkey_lb_{kind}_connections_total` and `monkey_lb_{kind}_bytes_total` (by direction). */
function registerTraffic<T extends RoutedPool | Route>(
  registry: Registry,
  kind: "pool" | "route",
  connectionsHelp: string,
  items: () => readonly T[],
  connectionLabels: (item: T) => Labels,
): void {
  registry.collect(
    `monkey_lb_${kind}_connections_total`,
    connectionsHelp,
    "counter",
    () => items().map((t) => [connectionLabels(t), t.traffic.connections]),
  );
  registry.collect(
    `monkey_lb_${kind}_bytes_total`,
    `Bytes through each ${kind}, by direction (finished connections)`,
    "counter",
    () =>
      items().flatMap((t) => [
        [{ [kind]: t.name, direction: "upstream" }, t.traffic.bytesUp],
        [{ [kind]: t.name, direction: "downstream" }, t.traffic.bytesDown],
      ]),
  );
}
