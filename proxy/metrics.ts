/**
 * The proxy's counters and histogram, in one registry.
 *
 * @module
 */

import { Registry } from "@monkey/shared";

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
    duration: registry.histogram(
      "monkey_proxy_connection_duration_seconds",
      "Connection lifetimes in seconds",
    ),
  };
}
