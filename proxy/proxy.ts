/**
 * The TCP proxy: accept, connect to the target, relay both ways, count everything.
 *
 * @module
 */

import {
  AccessList,
  type AdmittedClient,
  clientGateFromConfig,
  type ClientRow,
  ClientTable,
  completeHandshake,
  ConnectError,
  connectTcp,
  createMetricsApp,
  engineLabel,
  formatBytes,
  LiveTotals,
  Logger,
  methodNotAllowed,
  type MetricFamily,
  type NetConn,
  type RequestApp,
  safeClose,
  sendPreamble,
  type ServiceShutdownSummary,
  setupServiceTls,
  startEndpoint,
  startGatedFrontend,
  type StartServiceOptions,
  ThrottledLog,
  withDefaults,
} from "@monkey/shared";
import { PROXY_SCHEMA, type ProxyConfig } from "./config.ts";
import { TARGET_DOWN, watchTarget } from "./target_health.ts";
import { collectLiveMetrics, proxyMetrics, type ProxySnapshot } from "./metrics.ts";
import { proxyDashboardView } from "./dashboard.ts";

export type { ProxySnapshot } from "./metrics.ts";

/** What shutdown reports. */
export interface ProxyShutdownSummary extends ServiceShutdownSummary {
  /** Bytes client to target. */
  bytes_upstream: number;
  /** Bytes target to client. */
  bytes_downstream: number;
}

/** The proxy's HTTP endpoint app (metrics, health, clients, dashboard) as callers use it. */
export type ProxyHttpApp = RequestApp;

/** A running proxy. */
export interface Proxy {
  /** Bound listen address, `host:port`. */
  readonly addr: string;
  /** Bound metrics address, or undefined when off. */
  readonly metricsAddr: string | undefined;
  /** The I/O engine in use, as the startup line names it (`epoll`, `deno (loop relay)`). */
  readonly engine: string;
  /** The metrics/health/clients HTTP app (testable with `app.request()`). */
  readonly app: ProxyHttpApp;
  /** Current metrics. */
  snapshot(): ProxySnapshot;
  /** Prometheus families (for aggregation across workers). */
  families(): MetricFamily[];
  /** Per-client rows, busiest first (all tracked clients). */
  clientRows(): ClientRow[];
  /** The seed's `[METRICS] active: 3 | total: 15 | up: 1.5MB | down: 800.0KB` line. */
  summaryLine(): string;
  /**
   * Re-read `tls_cert`/`tls_key` and serve new connections with them; live connections keep
   * theirs. A bad pair is logged and counted, and the old certificate stays.
   *
   * @returns Resolves once every new connection gets the new certificate: true, or false when
   *   the old one stayed (also when TLS termination is off).
   */
  reloadTls(): Promise<boolean>;
  /** Stop accepting, drain for `graceMs` (default: config), close the rest, stop the endpoint. */
  shutdown(graceMs?: number): Promise<ProxyShutdownSummary>;
}

/** Options for {@linkcode startProxy}. */
export type StartProxyOptions = StartServiceOptions;

/**
 * Start a proxy from a (partial) configuration; missing keys take their defaults.
 *
 * @param config Addresses, timeouts, limits and relay mode.
 * @param options Logger.
 * @returns The running proxy.
 * @throws {ServiceError} When the listen or metrics address cannot be bound.
 * @example
 * ```ts
 * const proxy = startProxy({ listen_addr: "127.0.0.1:0", target_addr: "127.0.0.1:8081", metrics_addr: "off" });
 * await proxy.shutdown(0);
 * ```
 */
export function startProxy(
  config: Partial<ProxyConfig> = {},
  options: StartProxyOptions = {},
): Proxy {
  const cfg = withDefaults(PROXY_SCHEMA, config);
  const logger = options.logger ?? new Logger({ name: "proxy", level: cfg.log_level });
  const throttled = new ThrottledLog(logger);
  const started = performance.now();
  const m = proxyMetrics();
  const totals = new LiveTotals();
  const clients = new ClientTable();
  const idleMs = cfg.idle_timeout_secs * 1000;
  const access = new AccessList({ allow: cfg.allow, deny: cfg.deny });
  const target = watchTarget(cfg, logger);
  const tls = setupServiceTls(cfg, {
    label: "the proxy configuration",
    logger,
    peer: "the target's",
  });
  const engine = tls.engine;
  const gate = clientGateFromConfig(cfg, (ip) => access.admits(ip), {
    counters: {
      denied: m.denied,
      rateLimited: m.rateLimited,
      proxyErrors: m.proxyHeaderErrors,
      proxyRejected: m.proxyRejected,
    },
    throttled,
    upgrade: tls.upgrade,
  });

  const handler = async (client: NetConn, force: AbortSignal, peer: AdmittedClient) => {
    const began = performance.now();
    m.total.inc();
    const socketIp = (client.remoteAddr as Deno.NetAddr).hostname;
    if (tls.terminates) {
      const handshake = await completeHandshake(client);
      if (!handshake.ok) {
        safeClose(client);
        m.tlsHandshakeFailures.inc();
        throttled.warn(
          "tls-handshake",
          `TLS handshake with ${socketIp} failed: ${handshake.reason}`,
        );
        return;
      }
    }
    const ip = peer.ip;
    let upstream: NetConn;
    try {
      upstream = await connectTcp(cfg.target_addr, {
        timeoutMs: cfg.connect_timeout_ms,
        signal: force,
        engine,
      });
    } catch (error) {
      safeClose(client);
      if (!(error instanceof ConnectError)) throw error;
      if (error.kind === "aborted") return;
      m.connectErrors.inc();
      if (error.kind === "timeout") m.connectTimeouts.inc();
      throttled.warn(`connect:${error.kind}`, `${error.message}; closed client ${ip}`);
      return;
    }
    try {
      await sendPreamble(upstream, cfg.proxy_protocol, peer);
    } catch (error) {
      safeClose(client);
      safeClose(upstream);
      m.relayErrors.inc();
      throttled.warn(
        "proxy-header",
        `cannot send the PROXY protocol ${cfg.proxy_protocol} header to ${cfg.target_addr}: ${
          (error as Error).message
        }; closed client ${ip}`,
      );
      return;
    }
    const stats = totals.open();
    clients.open(ip, stats);
    if (logger.enabled("debug")) logger.debug(`${ip} connected to ${cfg.target_addr}`);
    // Not awaited: the relay's callback counts the end, so no frame of this handler stays alive
    // for the connection's life (memory per idle connection, issue 10).
    return engine.relay(client, upstream, {
      mode: cfg.relay,
      idleTimeoutMs: idleMs,
      stats,
      signal: force,
    }).then((result) => {
      totals.close(stats);
      clients.close(ip, stats);
      if (result.reason === "idle_timeout") m.idleTimeouts.inc();
      else if (result.reason === "reset" || result.reason === "error") m.relayErrors.inc();
      m.duration.observe((performance.now() - began) / 1000);
      if (logger.enabled("debug")) {
        logger.debug(`${ip} closed (${result.reason}): up ${result.up} B, down ${result.down} B`);
      }
    });
  };

  const server = startGatedFrontend(cfg, {
    gate: () => gate,
    handler,
    counters: m,
    reusePort: options.reusePort ?? false,
    engine,
    throttled,
    logger,
  });
  const snapshot = collectLiveMetrics(m, { server, totals, target, cfg, engine, started });
  const app = createMetricsApp({
    service: "proxy",
    prometheus: () => m.registry.render(),
    snapshot,
    healthy: () => server.accepting,
    problem: () => target.healthy ? undefined : TARGET_DOWN,
    routes: [["GET /clients", "per-client-IP connections and bytes (top 100 by bytes)"]],
    dashboard: { view: () => proxyDashboardView(snapshot(), clients.top(), cfg) },
  });
  app.get("/clients", (c) => c.json(clients.top()));
  methodNotAllowed(app, {
    "/metrics": ["GET"],
    "/health": ["GET"],
    "/clients": ["GET"],
    "/": ["GET"],
  });
  let endpoint;
  try {
    endpoint = startEndpoint(app, cfg.metrics_addr, logger);
  } catch (error) {
    server.stopAccepting();
    void target.stop();
    throw error;
  }

  return {
    addr: server.addr,
    metricsAddr: endpoint?.addr,
    engine: tls.engineLabel ?? engineLabel(engine, cfg.relay),
    app,
    snapshot,
    families: () => m.registry.families(),
    clientRows: () => clients.top(Infinity),
    summaryLine: () =>
      `[METRICS] active: ${server.active} | total: ${m.total.value} | up: ${
        formatBytes(totals.up())
      } | down: ${formatBytes(totals.down())}`,
    async reloadTls() {
      const done = await tls.reloadCertificate(cfg);
      if (done === "failed") m.tlsReloadFailures.inc();
      if (done === "reloaded") {
        m.tlsReloads.inc();
        logger.info(`TLS certificate reloaded from ${cfg.tls_cert}`);
      }
      return done === "reloaded";
    },
    async shutdown(graceMs = cfg.grace_period_secs * 1000) {
      const { forced } = await server.shutdown(graceMs);
      await target.stop();
      await endpoint?.shutdown();
      return {
        total_connections: m.total.value,
        bytes_upstream: totals.up(),
        bytes_downstream: totals.down(),
        forced,
        uptime_secs: (performance.now() - started) / 1000,
      };
    },
  };
}
