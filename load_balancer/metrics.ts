/**
 * The load balancer's metrics: counters the data path bumps, gauges read from the pool and the
 * listener at scrape time, the JSON snapshot and the `[METRICS]` line.
 *
 * @module
 */

import { type ClientGateCounters, type Counter, formatBytes, Registry } from "@monkey/shared";
import type { Backend, BackendSnapshot } from "./backend.ts";
import type { BackendPool } from "./pool.ts";
import type { PoolSnapshot, RouteSnapshot } from "./routing_metrics.ts";

/** The load balancer's JSON metrics (`GET /metrics?format=json`). */
export interface LbSnapshot {
  /** Client connections open now. */
  active_connections: number;
  /** Client connections accepted within the limit. */
  total_connections: number;
  /** Bytes from clients to backends. */
  bytes_upstream: number;
  /** Bytes from backends to clients. */
  bytes_downstream: number;
  /** Clients closed at once because no backend was available. */
  no_backend: number;
  /** Clients closed after every connect they were given failed. */
  failed_connections: number;
  /** Connects retried on another backend. */
  retries: number;
  /** Clients closed at once because `max_connections` was reached. */
  rejected_connections: number;
  /** Relays ended by a reset or socket error on either side (PROXY header failures too). */
  relay_errors: number;
  /** Connections closed because the PROXY protocol header could not be written. */
  proxy_header_errors: number;
  /** Clients closed at once because `allow`/`deny` refused their address. */
  denied_connections: number;
  /** Connections closed by the idle timeout. */
  idle_timeouts: number;
  /** Reloads applied. */
  reloads: number;
  /** Reloads rejected because the new configuration was invalid. */
  reload_failures: number;
  /** The strategy in use. */
  strategy: string;
  /** The I/O engine in use: `epoll` or `deno`. */
  engine: string;
  /** Seconds since start. */
  uptime_secs: number;
  /** True while shutting down. */
  draining: boolean;
  /** Every backend (of the default pool: the top-level `[[backends]]`). */
  backends: BackendSnapshot[];
  /** Client TLS handshakes that failed (TLS termination). */
  tls_handshake_failures?: number;
  /** Clients without a server name where SNI routes exist. */
  sni_misses?: number;
  /** Clients closed for a malformed or oversized ClientHello. */
  client_hello_errors?: number;
  /** Clients closed for sending no ClientHello in time. */
  inspect_timeouts?: number;
  /** Every pool, default first. */
  pools?: PoolSnapshot[];
  /** Every route. */
  routes?: RouteSnapshot[];
}

/** What the metrics read from the running balancer at scrape time. */
export interface LbMetricsSource {
  /** The backends. */
  pool: BackendPool;
  /** Client connections open now. */
  active: () => number;
  /** False once shutdown began. */
  accepting: () => boolean;
  /** The strategy in use. */
  strategy: () => string;
  /** The I/O engine's name. @default "deno" */
  engine?: () => string;
}

/**
 * Every metric of one load balancer.
 *
 * @example
 * ```ts
 * const metrics = new LbMetrics({ pool, active: () => 0, accepting: () => true, strategy: () => "round_robin" });
 * metrics.total.inc();
 * metrics.registry.render(); // "... monkey_lb_connections_total 1 ..."
 * ```
 */
export class LbMetrics {
  /** The Prometheus registry (`GET /metrics`). */
  readonly registry: Registry = new Registry();
  /** Client connections accepted within the limit. */
  readonly total: Counter;
  /** Clients closed because no backend was available. */
  readonly noBackend: Counter;
  /** Clients closed after every connect failed. */
  readonly failed: Counter;
  /** Connects retried on the next pick. */
  readonly retries: Counter;
  /** Clients closed over `max_connections`. */
  readonly rejected: Counter;
  /** Relays ended by a reset or socket error. */
  readonly relayErrors: Counter;
  /** PROXY protocol headers that could not be written. */
  readonly proxyHeaderErrors: Counter;
  /** Clients refused by allow/deny. */
  readonly denied: Counter;
  /** Connections closed by the idle timeout. */
  readonly idleTimeouts: Counter;
  /** Reloads applied. */
  readonly reloads: Counter;
  /** Reloads rejected. */
  readonly reloadFailures: Counter;
  /** What the client gate counts (PROXY protocol receive, allow/deny, per-client limits). */
  readonly gate: ClientGateCounters;
  #source: LbMetricsSource;
  #started = performance.now();
  #retiredUp = 0;
  #retiredDown = 0;

  /** @param source The pool and listener the gauges read. */
  constructor(source: LbMetricsSource) {
    this.#source = source;
    const counter = (name: string, help: string) => this.registry.counter(name, help);
    this.total = counter(
      "monkey_lb_connections_total",
      "Client connections accepted within the limit",
    );
    this.noBackend = counter(
      "monkey_lb_no_backend_total",
      "Clients closed at once because no backend was available",
    );
    this.failed = counter(
      "monkey_lb_failed_connections_total",
      "Clients closed after every backend they were given failed to connect",
    );
    this.retries = counter(
      "monkey_lb_retries_total",
      "Connects retried on the next pick after a refusal or timeout",
    );
    this.rejected = counter(
      "monkey_lb_rejected_connections_total",
      "Clients closed at once because max_connections was reached",
    );
    this.relayErrors = counter(
      "monkey_lb_relay_errors_total",
      "Relays ended by a reset or socket error on either side",
    );
    this.proxyHeaderErrors = counter(
      "monkey_lb_proxy_header_errors_total",
      "Connections closed because the PROXY protocol header could not be written",
    );
    this.denied = counter(
      "monkey_lb_denied_connections_total",
      "Clients closed at once because allow/deny refused their address",
    );
    this.idleTimeouts = counter(
      "monkey_lb_idle_timeouts_total",
      "Connections closed after idle_timeout_secs without traffic",
    );
    this.reloads = counter("monkey_lb_reloads_total", "Configuration reloads applied");
    this.reloadFailures = counter(
      "monkey_lb_reload_failures_total",
      "Configuration reloads rejected (invalid file); the running config stayed",
    );
    this.gate = {
      denied: this.denied,
      rateLimited: counter(
        "monkey_lb_rate_limited_connections_total",
        "Clients closed at once over max_connections_per_client or max_conn_rate_per_client",
      ),
      proxyErrors: counter(
        "monkey_lb_proxy_protocol_errors_total",
        "Connections from trusted_proxies closed for a missing, invalid or late PROXY header",
      ),
      proxyRejected: counter(
        "monkey_lb_proxy_rejected_connections_total",
        "Clients outside trusted_proxies closed because proxy_fallback is reject",
      ),
    };
    registerGauges(this.registry, source, () => this.bytes());
  }

  /** Seconds since these metrics were created (the balancer's start). */
  get uptimeSecs(): number {
    return (performance.now() - this.#started) / 1000;
  }

  /**
   * Keep a removed backend's bytes in the totals.
   *
   * @param backend The backend leaving the pool.
   */
  retire(backend: Backend): void {
    this.#retiredUp += backend.bytesIn;
    this.#retiredDown += backend.bytesOut;
  }

  /** @returns Bytes relayed so far each way, live and finished connections, every backend. */
  bytes(): { up: number; down: number } {
    let up = this.#retiredUp;
    let down = this.#retiredDown;
    for (const b of this.#source.pool.list()) {
      up += b.bytesIn;
      down += b.bytesOut;
    }
    return { up, down };
  }

  /** @returns The JSON metrics. */
  snapshot(): LbSnapshot {
    const { up, down } = this.bytes();
    return {
      active_connections: this.#source.active(),
      total_connections: this.total.value,
      bytes_upstream: up,
      bytes_downstream: down,
      no_backend: this.noBackend.value,
      failed_connections: this.failed.value,
      retries: this.retries.value,
      rejected_connections: this.rejected.value,
      relay_errors: this.relayErrors.value,
      proxy_header_errors: this.proxyHeaderErrors.value,
      denied_connections: this.denied.value,
      idle_timeouts: this.idleTimeouts.value,
      reloads: this.reloads.value,
      reload_failures: this.reloadFailures.value,
      strategy: this.#source.strategy(),
      engine: this.#source.engine?.() ?? "deno",
      uptime_secs: this.uptimeSecs,
      draining: !this.#source.accepting(),
      backends: this.#source.pool.snapshot(),
    };
  }

  /** @returns `[METRICS] active: 3 | total: 15 | up: … | down: … | backends up: 2/3`. */
  summaryLine(): string {
    const { up, down } = this.bytes();
    const list = this.#source.pool.list();
    const upCount = list.filter((b) => b.state === "up").length;
    return `[METRICS] active: ${this.#source.active()} | total: ${this.total.value} | up: ${
      formatBytes(up)
    } | down: ${formatBytes(down)} | backends up: ${upCount}/${list.length}`;
  }
}

function registerGauges(
  registry: Registry,
  source: LbMetricsSource,
  bytes: () => { up: number; down: number },
): void {
  registry.collect(
    "monkey_lb_connections_active",
    "Client connections open now",
    "gauge",
    () => [[{}, source.active()]],
  );
  registry.collect(
    "monkey_lb_upstream_bytes_total",
    "Bytes relayed from clients to backends",
    "counter",
    () => [[{}, bytes().up]],
  );
  registry.collect(
    "monkey_lb_downstream_bytes_total",
    "Bytes relayed from backends to clients",
    "counter",
    () => [[{}, bytes().down]],
  );
  registry.collect("monkey_lb_draining", "1 while shutting down, else 0", "gauge", () => [[
    {},
    source.accepting() ? 0 : 1,
  ]]);
  for (const [name, help, kind, value] of PER_BACKEND) {
    const read = typeof value === "function" ? value : (b: Backend) => b[value];
    registry.collect(
      name,
      help,
      kind,
      () => source.pool.list().map((b) => [{ backend: b.addr }, read(b)] as const),
    );
  }
}

/** A numeric property of a backend. */
type BackendNumber = { [K in keyof Backend]: Backend[K] extends number ? K : never }[keyof Backend];

/** Per-backend families: name, help, kind, and the Backend field read (or how to read it). */
const PER_BACKEND: readonly [
  string,
  string,
  "counter" | "gauge",
  BackendNumber | ((b: Backend) => number),
][] = [
  [
    "monkey_lb_backend_up",
    "1 when health checks pass, 0 when down",
    "gauge",
    (b) => b.healthy ? 1 : 0,
  ],
  [
    "monkey_lb_backend_draining",
    "1 while drained (admin, delete or reload), else 0",
    "gauge",
    (b) => b.draining ? 1 : 0,
  ],
  ["monkey_lb_backend_weight", "Configured weight", "gauge", "weight"],
  [
    "monkey_lb_backend_connections_active",
    "Connections open to the backend",
    "gauge",
    "active",
  ],
  [
    "monkey_lb_backend_connections_total",
    "Connections established to the backend",
    "counter",
    "total",
  ],
  [
    "monkey_lb_backend_upstream_bytes_total",
    "Bytes from clients to the backend",
    "counter",
    "bytesIn",
  ],
  [
    "monkey_lb_backend_downstream_bytes_total",
    "Bytes from the backend to clients",
    "counter",
    "bytesOut",
  ],
  [
    "monkey_lb_backend_connect_errors_total",
    "Failed connects to the backend (refused, timed out, unreachable)",
    "counter",
    "connectErrors",
  ],
  [
    "monkey_lb_backend_retries_total",
    "Clients retried on another backend after a failed connect to this one",
    "counter",
    "retries",
  ],
  [
    "monkey_lb_backend_health_check_failures_total",
    "Failed active health checks",
    "counter",
    "checkFailures",
  ],
  [
    "monkey_lb_backend_connect_latency_seconds",
    "EWMA of connect time (checks and connections), seconds",
    "gauge",
    (b) => (b.latencyEwma ?? 0) / 1000,
  ],
];
