/**
 * The echo server: every byte back, half-close honoured, metrics on the shared endpoint.
 *
 * @module
 */

import {
  bindError,
  createMetricsApp,
  engineLabel,
  formatBytes,
  LiveTotals,
  Logger,
  methodNotAllowed,
  type NetConn,
  Registry,
  type RequestApp,
  resolveEngine,
  type ServiceShutdownSummary,
  startEndpoint,
  type StartServiceOptions,
  TcpServer,
  withDefaults,
} from "@monkey/shared";
import { ECHO_SCHEMA, type EchoConfig } from "./config.ts";
import { echoDashboardView } from "./dashboard.ts";

/** Metrics of a running echo server, with the seed's field names. */
export interface EchoSnapshot {
  /** Connections open now. */
  active_connections: number;
  /** Connections accepted since start. */
  total_connections: number;
  /** Bytes received (and echoed back). */
  bytes_echoed: number;
  /** Connections refused over `max_connections`. */
  rejected_connections: number;
  /** Connections that ended with a reset or socket error. */
  connection_errors: number;
  /** I/O engine in use: `epoll` or `deno`. */
  engine: string;
  /** Seconds since start. */
  uptime_secs: number;
  /** True while draining. */
  draining: boolean;
}

/** What shutdown reports. */
export type ShutdownSummary = ServiceShutdownSummary;

/** The echo server's HTTP endpoint app (metrics, health, dashboard) as callers use it. */
export type EchoHttpApp = RequestApp;

/** A running echo server. */
export interface EchoServer {
  /** Bound TCP address, `host:port`. */
  readonly addr: string;
  /** Bound metrics address, or undefined when `metrics_addr = "off"`. */
  readonly metricsAddr: string | undefined;
  /** The I/O engine in use (`epoll` or `deno`). */
  readonly engine: string;
  /** The metrics/health HTTP app (also served on `metricsAddr`). */
  readonly app: EchoHttpApp;
  /** Current metrics. */
  snapshot(): EchoSnapshot;
  /** Summary line in the seed's `[METRICS]` format. */
  summaryLine(): string;
  /**
   * Stop accepting, let live connections finish for `graceMs` (default: the config's
   * grace period), then close them; stops the metrics endpoint.
   */
  shutdown(graceMs?: number): Promise<ShutdownSummary>;
}

/** Options for {@linkcode startEcho} (`reusePort` is not used: echo runs no workers). */
export type StartEchoOptions = StartServiceOptions;

/**
 * Start an echo server from a (partial) configuration; missing keys take their defaults.
 *
 * @param config Listen and metrics addresses and limits.
 * @param options Logger.
 * @returns The running server.
 * @throws {ServiceError} When an address cannot be bound.
 * @example
 * ```ts
 * const echo = startEcho({ listen_addr: "127.0.0.1:0", metrics_addr: "off" });
 * console.log(echo.addr);
 * await echo.shutdown();
 * ```
 */
export function startEcho(
  config: Partial<EchoConfig> = {},
  options: StartEchoOptions = {},
): EchoServer {
  const cfg = withDefaults(ECHO_SCHEMA, config);
  const logger = options.logger ?? new Logger({ name: "echo", level: cfg.log_level });
  const started = performance.now();
  const registry = new Registry();
  const totals = new LiveTotals();
  const totalConns = registry.counter("monkey_echo_connections_total", "Connections accepted");
  const rejected = registry.counter(
    "monkey_echo_rejected_connections_total",
    "Connections closed at once because max_connections was reached",
  );
  const errors = registry.counter(
    "monkey_echo_connection_errors_total",
    "Connections ended by a reset or error",
  );
  let server: TcpServer;
  registry.collect(
    "monkey_echo_connections_active",
    "Connections open now",
    "gauge",
    () => [[{}, server.active]],
  );
  registry.collect(
    "monkey_echo_echoed_bytes_total",
    "Bytes received and echoed back",
    "counter",
    () => [[
      {},
      totals.up(),
    ]],
  );
  const idleMs = cfg.idle_timeout_secs * 1000;
  const engine = resolveEngine(cfg.engine);

  const handler = async (conn: NetConn, force: AbortSignal) => {
    totalConns.inc();
    const stats = totals.open();
    if (logger.enabled("debug")) logger.debug(`connection from ${remote(conn)}`);
    const result = await engine.echo(conn, { idleTimeoutMs: idleMs, stats, signal: force });
    if (result.reason === "reset" || result.reason === "error") errors.inc();
    totals.close(stats);
    if (logger.enabled("debug")) {
      logger.debug(`connection from ${remote(conn)} closed after ${stats.up} bytes`);
    }
  };

  try {
    server = new TcpServer({
      listen: cfg.listen_addr,
      handler,
      maxConnections: cfg.max_connections,
      engine,
      onReject: () => rejected.inc(),
      logger,
    });
  } catch (error) {
    throw bindError("listen_addr", cfg.listen_addr, error);
  }

  const snapshot = (): EchoSnapshot => ({
    active_connections: server.active,
    total_connections: totalConns.value,
    bytes_echoed: totals.up(),
    rejected_connections: rejected.value,
    connection_errors: errors.value,
    engine: engine.name,
    uptime_secs: (performance.now() - started) / 1000,
    draining: !server.accepting,
  });
  const app = createMetricsApp({
    service: "echo",
    prometheus: () => registry.render(),
    snapshot,
    healthy: () => server.accepting,
    dashboard: { view: () => echoDashboardView(snapshot(), cfg) },
  });
  methodNotAllowed(app, { "/metrics": ["GET"], "/health": ["GET"], "/": ["GET"] });
  let endpoint;
  try {
    endpoint = startEndpoint(app, cfg.metrics_addr, logger);
  } catch (error) {
    server.stopAccepting();
    throw error;
  }

  return {
    addr: server.addr,
    metricsAddr: endpoint?.addr,
    engine: engineLabel(engine),
    app,
    snapshot,
    summaryLine: () =>
      `[METRICS] active: ${server.active} | total: ${totalConns.value} | echoed: ${
        formatBytes(totals.up())
      }`,
    async shutdown(graceMs = cfg.grace_period_secs * 1000) {
      const { forced } = await server.shutdown(graceMs);
      await endpoint?.shutdown();
      return {
        total_connections: totalConns.value,
        forced,
        uptime_secs: (performance.now() - started) / 1000,
      };
    },
  };
}

function remote(conn: NetConn): string {
  const addr = conn.remoteAddr as Deno.NetAddr;
  return `${addr.hostname}:${addr.port}`;
}
