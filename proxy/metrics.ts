/**
 * The proxy's counters and histogram in one registry, the gauges read at scrape time, and the
 * JSON snapshot.
 *
 * @module
 */

import type { LiveTotals, TcpServer } from "@monkey/shared";
import { Registry } from "@monkey/shared";
import type { ProxyConfig } from "./config.ts";

/** The proxy's metrics as {@linkcode proxyMetrics} builds them. */
export type ProxyMetrics = ReturnType<typeof proxyMetrics>;

/**
 * Create the proxy's registry and the metrics its handler bumps.
 *
 * @returns The registry and each counter.
 * @example
 * ```ts
 * const m = proxyMetrics();
 * m.total.inc();
 * ```
 */
export // deno-lint-ignore explicit-module-boundary-types
function proxyMetrics() {
  const registry = new Registry();
  return {
    registry,
    total: registry.counter(
      "monkey_proxy_connections_total",
      "Client connections accepted within the limit",
    ),
    connectErrors: registry.counter(
      "monkey_proxy_connect_errors_total",
      "Failed connects to the target (refused, unreachable, timed out)",
    ),
    connectTimeouts: registry.counter(
      "monkey_proxy_connect_timeouts_total",
      "Connects to the target that took longer than connect_timeout_ms",
    ),
    idleTimeouts: registry.counter(
      "monkey_proxy_idle_timeouts_total",
      "Connections closed after idle_timeout_secs without traffic",
    ),
    rejected: registry.counter(
      "monkey_proxy_rejected_connections_total",
      "Clients closed at once because max_connections was reached",
    ),
    relayErrors: registry.counter(
      "monkey_proxy_relay_errors_total",
      "Relays ended by a reset or socket error on either side",
    ),
    rateLimited: registry.counter(
      "monkey_proxy_rate_limited_connections_total",
      "Clients closed at once over max_connections_per_client or max_conn_rate_per_client",
    ),
    proxyHeaderErrors: registry.counter(
      "monkey_proxy_proxy_header_errors_total",
      "Connections from trusted_proxies closed for a missing, invalid or late PROXY header",
    ),
    proxyRejected: registry.counter(
      "monkey_proxy_proxy_rejected_connections_total",
      "Clients outside trusted_proxies closed because proxy_fallback is reject",
    ),
    denied: registry.counter(
      "monkey_proxy_denied_connections_total",
      "Clients closed at once because allow/deny refused their address",
    ),
    tlsHandshakeFailures: registry.counter(
      "monkey_proxy_tls_handshake_failures_total",
      "TLS handshakes with clients that failed or timed out",
    ),
    tlsReloadFailures: registry.counter(
      "monkey_proxy_tls_reload_failures_total",
      "Certificate reloads that failed (the old certificate stayed in use)",
    ),
    tlsReloads: registry.counter(
      "monkey_proxy_tls_reloads_total",
      "Certificate reloads that succeeded (new connections get the new certificate)",
    ),
    duration: registry.histogram(
      "monkey_proxy_connection_duration_seconds",
      "Connection lifetimes in seconds",
    ),
  };
}

/** The proxy's JSON metrics; the first four keep the seed's field names. */
export interface ProxySnapshot {
  /** Connections open now. */
  active_connections: number;
  /** Connections accepted (within the limit) since start. */
  total_connections: number;
  /** Bytes from clients to the target. */
  bytes_upstream: number;
  /** Bytes from the target to clients. */
  bytes_downstream: number;
  /** Failed connects to the target (refused, unreachable, timed out). */
  connect_errors: number;
  /** Of those, connects that timed out. */
  connect_timeouts: number;
  /** Connections closed by the idle timeout. */
  idle_timeouts: number;
  /** Clients closed at once because `max_connections` was reached. */
  rejected_connections: number;
  /** Relays ended by a reset or socket error on either side. */
  relay_errors: number;
  /** Clients closed at once because `allow`/`deny` refused their address. */
  denied_connections: number;
  /** Failed accepts (EMFILE, ENFILE, …), each followed by a back-off. */
  accept_errors: number;
  /** Clients closed at once over `max_connections_per_client` or `max_conn_rate_per_client`. */
  rate_limited_connections: number;
  /** Trusted proxies' connections closed for a missing, invalid or late PROXY header. */
  proxy_header_errors: number;
  /** Clients outside `trusted_proxies` closed because `proxy_fallback = "reject"`. */
  proxy_rejected_connections: number;
  /** Target address. */
  target: string;
  /** The `relay` key (used by the deno engine: `loop` or `streams`). */
  relay: string;
  /** I/O engine in use: `epoll` or `deno`. */
  engine: string;
  /** TLS handshakes with clients that failed or timed out (TLS termination). */
  tls_handshake_failures: number;
  /** Certificate reloads that failed (the old certificate stayed). */
  tls_reload_failures: number;
  /** Certificate reloads that succeeded (a cluster sums them: one per worker per reload). */
  tls_reloads: number;
  /** Seconds since start. */
  uptime_secs: number;
  /** True while draining. */
  draining: boolean;
  /** False while the target fails its active checks (true with checks off). */
  target_healthy: boolean;
}

/** What the gauges and the snapshot read at scrape time. */
export interface LiveSources {
  /** The frontend (active connections, accept errors, draining). */
  server: Pick<TcpServer, "active" | "acceptErrors" | "accepting">;
  /** Bytes of open and closed connections. */
  totals: Pick<LiveTotals, "up" | "down">;
  /** The target's active health. */
  target: { readonly healthy: boolean };
  /** The configuration (target, relay). */
  cfg: Pick<ProxyConfig, "target_addr" | "relay">;
  /** The engine in use. */
  engine: { readonly name: string };
  /** `performance.now()` at start. */
  started: number;
}

/**
 * Register the gauges and totals read at scrape time, and build the JSON snapshot.
 *
 * @param m The proxy's metrics.
 * @param live What they read.
 * @returns The snapshot function.
 * @example
 * ```ts
 * const snapshot = collectLiveMetrics(m, { server, totals, target, cfg, engine, started });
 * snapshot().active_connections;
 * ```
 */
export function collectLiveMetrics(m: ProxyMetrics, live: LiveSources): () => ProxySnapshot {
  const { server, totals, target, cfg, engine, started } = live;
  m.registry.collect(
    "monkey_proxy_connections_active",
    "Connections open now",
    "gauge",
    () => [[{}, server.active]],
  );
  m.registry.collect(
    "monkey_proxy_upstream_bytes_total",
    "Bytes relayed from clients to the target",
    "counter",
    () => [[{}, totals.up()]],
  );
  m.registry.collect(
    "monkey_proxy_downstream_bytes_total",
    "Bytes relayed from the target to clients",
    "counter",
    () => [[{}, totals.down()]],
  );
  m.registry.collect(
    "monkey_proxy_accept_errors_total",
    "Failed accepts (out of descriptors and the like), each followed by a back-off",
    "counter",
    () => [[{}, server.acceptErrors]],
  );
  m.registry.collect(
    "monkey_proxy_target_up",
    "1 while the target passes its active checks (or checks are off), else 0",
    "gauge",
    () => [[{}, target.healthy ? 1 : 0]],
  );
  m.registry.collect("monkey_proxy_draining", "1 while shutting down, else 0", "gauge", () => [[
    {},
    server.accepting ? 0 : 1,
  ]]);

  return () => ({
    active_connections: server.active,
    total_connections: m.total.value,
    bytes_upstream: totals.up(),
    bytes_downstream: totals.down(),
    connect_errors: m.connectErrors.value,
    connect_timeouts: m.connectTimeouts.value,
    idle_timeouts: m.idleTimeouts.value,
    rejected_connections: m.rejected.value,
    relay_errors: m.relayErrors.value,
    denied_connections: m.denied.value,
    accept_errors: server.acceptErrors,
    rate_limited_connections: m.rateLimited.value,
    proxy_header_errors: m.proxyHeaderErrors.value,
    proxy_rejected_connections: m.proxyRejected.value,
    target: cfg.target_addr,
    relay: cfg.relay,
    engine: engine.name,
    tls_handshake_failures: m.tlsHandshakeFailures.value,
    tls_reload_failures: m.tlsReloadFailures.value,
    tls_reloads: m.tlsReloads.value,
    uptime_secs: (performance.now() - started) / 1000,
    draining: !server.accepting,
    target_healthy: target.healthy,
  });
}
