/**
 * The load balancer: accept, pick a backend, connect (retrying the next pick on refusal or
 * timeout), send the PROXY header if configured, relay both ways, count everything; plus
 * health checks, the admin API and reload.
 *
 * @module
 */

import {
  AccessList,
  ConnectError,
  connectTcp,
  createMetricsApp,
  formatBytes,
  Logger,
  methodNotAllowed,
  type MetricFamily,
  type NetConn,
  Registry,
  relay,
  safeClose,
  sendProxyHeader,
  startEndpoint,
  startFrontend,
  TcpServer,
  ThrottledLog,
} from "@monkey/shared";
import { addAdminRoutes, ADMIN_METHODS, ADMIN_ROUTES } from "./admin.ts";
import { type Backend, BackendPool, type BackendSnapshot } from "./backends.ts";
import { type LbConfig, type LbConfigInput, normalizeLbConfig } from "./config.ts";
import { HealthChecker } from "./health.ts";
import { createStrategy, type Strategy, type StrategyOptions } from "./strategies.ts";

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
  /** Relays ended by a reset or socket error on either side. */
  relay_errors: number;
  /** Clients closed at once because `allow`/`deny` refused their address. */
  denied_connections: number;
  /** Connections closed by the idle timeout. */
  idle_timeouts: number;
  /** Reloads applied / rejected. */
  reloads: number;
  /** Reloads rejected because the new configuration was invalid. */
  reload_failures: number;
  /** The strategy in use. */
  strategy: string;
  /** Seconds since start. */
  uptime_secs: number;
  /** True while shutting down. */
  draining: boolean;
  /** Every backend. */
  backends: BackendSnapshot[];
}

/** What shutdown reports. */
export interface LbShutdownSummary {
  /** Connections accepted over the whole run. */
  total_connections: number;
  /** Connections still open at the end of the grace period, then closed. */
  forced: number;
  /** Seconds the balancer ran. */
  uptime_secs: number;
}

/** What a reload changed. */
export interface ReloadSummary {
  /** One line per change, e.g. `added 127.0.0.1:8084`. */
  changes: string[];
}

/** A running load balancer. */
export interface LoadBalancer {
  /** Bound listen address, `host:port`. */
  readonly addr: string;
  /** Bound metrics/admin address, or undefined when off. */
  readonly metricsAddr: string | undefined;
  /** The metrics, health and admin HTTP app (testable with `app.request()`). */
  readonly app: ReturnType<typeof createMetricsApp>;
  /** The backends (live objects; the admin API changes them too). */
  readonly backends: BackendPool;
  /** The configuration in force. */
  readonly config: LbConfig;
  /** Current metrics. */
  snapshot(): LbSnapshot;
  /** Prometheus families (for aggregation across workers). */
  families(): MetricFamily[];
  /** The `[METRICS] active: 3 | total: 15 | up: … | down: … | backends up: 2/3` line. */
  summaryLine(): string;
  /**
   * Apply a new configuration without dropping connections: new backends join, missing ones
   * drain and leave, weights, strategy, timeouts, retries, health checks, token and PROXY
   * protocol apply to new connections. `listen_addr`, `metrics_addr`, `max_connections`,
   * `log_level` and `metrics_log_interval_secs` need a restart (reported in the changes).
   *
   * @throws {ConfigError} When the new configuration is invalid; nothing changes then.
   */
  reload(config: LbConfigInput): Promise<ReloadSummary>;
  /** Count a rejected reload (main.ts calls it when the new file does not parse). */
  reloadFailed(): void;
  /** Stop accepting, drain for `graceMs` (default: config), close the rest, stop checks. */
  shutdown(graceMs?: number): Promise<LbShutdownSummary>;
}

/** Options for {@linkcode startLoadBalancer}. */
export interface StartLoadBalancerOptions {
  /** Logger. @default a console logger at the config's level */
  logger?: Logger;
  /** Random source of the random strategies (tests seed it). @default Math.random */
  random?: () => number;
  /** Share the listen port with other balancers (SO_REUSEPORT), as workers do. @default false */
  reusePort?: boolean;
}

/**
 * Start a load balancer from a (partial) configuration; missing keys take their defaults.
 *
 * @param config Listen address, backends, strategy, health checks and limits.
 * @param options Logger and random source.
 * @returns The running load balancer.
 * @throws {ConfigError} When the configuration is invalid.
 * @throws {ServiceError} When the listen or metrics address cannot be bound.
 * @example
 * ```ts
 * const lb = startLoadBalancer({
 *   listen_addr: "127.0.0.1:0",
 *   metrics_addr: "off",
 *   backends: [{ addr: "127.0.0.1:8081" }, { addr: "127.0.0.1:8082", weight: 2 }],
 * });
 * await lb.shutdown(0);
 * ```
 */
export function startLoadBalancer(
  config: LbConfigInput = {},
  options: StartLoadBalancerOptions = {},
): LoadBalancer {
  let cfg = normalizeLbConfig(config);
  let access = new AccessList(cfg);
  let accessFor = cfg;
  const logger = options.logger ?? new Logger({ name: "lb", level: cfg.log_level });
  const throttled = new ThrottledLog(logger);
  const strategyOptions: StrategyOptions = options.random ? { random: options.random } : {};
  let strategy: Strategy = createStrategy(cfg.strategy, strategyOptions);
  const started = performance.now();
  const m = lbMetrics();
  let closedUp = 0;
  let closedDown = 0;

  // Checks start once the listener is bound (a failed start leaves nothing running).
  let checking = false;
  const pool = new BackendPool({
    added: () => {
      if (checking) checker.sync();
    },
    removed: (backend) => {
      closedUp += backend.bytesIn;
      closedDown += backend.bytesOut;
      logger.info(`backend ${backend.addr} removed`);
      checker.sync();
    },
  });
  const checker: HealthChecker = new HealthChecker(pool, cfg.health_check, {
    onTransition: (backend, state, why) => {
      if (state === "down") logger.warn(`backend ${backend.addr} is DOWN (${why})`);
      else logger.info(`backend ${backend.addr} is UP (${why})`);
    },
    proxyProtocol: () => cfg.proxy_protocol,
    logger,
  });
  for (const backend of cfg.backends) pool.add({ ...backend, addr: backend.addr! });
  if (cfg.backends.length === 0) {
    logger.warn("no backends configured: clients are closed until one is added");
  }

  const bytes = () => {
    let up = closedUp;
    let down = closedDown;
    for (const b of pool.list()) {
      up += b.bytesIn;
      down += b.bytesOut;
    }
    return { up, down };
  };

  const handler = async (client: NetConn, force: AbortSignal) => {
    m.total.inc();
    const remote = client.remoteAddr as Deno.NetAddr;
    const tried = new Set<Backend>();
    let backend: Backend | undefined;
    let upstream: NetConn | undefined;
    while (upstream === undefined) {
      const { candidates, group } = pool.candidates(tried);
      const chosen = strategy.pick(candidates, { clientIp: remote.hostname, group });
      if (chosen === undefined) {
        if (tried.size === 0) {
          m.noBackend.inc();
          throttled.warn("no-backend", `no backend available; closed client ${remote.hostname}`);
        } else {
          m.failed.inc();
        }
        safeClose(client);
        return;
      }
      chosen.reserve();
      const began = performance.now();
      try {
        upstream = await connectTcp(chosen.addr, {
          timeoutMs: cfg.connect_timeout_ms,
          signal: force,
        });
        backend = chosen;
        chosen.recordLatency(performance.now() - began);
        if (checker.enabled && chosen.consecutiveFailures > 0) checker.record(chosen, true, "");
      } catch (error) {
        chosen.release();
        if (!(error instanceof ConnectError) || error.kind === "aborted") {
          safeClose(client);
          if (error instanceof ConnectError) return;
          throw error;
        }
        chosen.connectErrors++;
        tried.add(chosen);
        throttled.warn(`connect:${chosen.addr}:${error.kind}`, error.message);
        // Our own shortage (out of descriptors) is no failure of the backend.
        if (checker.enabled && error.kind !== "local") {
          checker.record(chosen, false, `connect ${error.kind}`);
        }
        if (tried.size > cfg.retries) {
          m.failed.inc();
          safeClose(client);
          return;
        }
        chosen.retries++;
        m.retries.inc();
      }
    }
    const target = backend!;
    const stats = target.attach();
    try {
      await sendProxyHeader(upstream, cfg.proxy_protocol, client);
    } catch {
      safeClose(client);
      safeClose(upstream);
      m.relayErrors.inc();
      target.finish(stats);
      return;
    }
    if (logger.enabled("debug")) logger.debug(`${remote.hostname} -> ${target.addr}`);
    const result = await relay(client, upstream, {
      mode: cfg.relay,
      idleTimeoutMs: cfg.idle_timeout_secs * 1000,
      stats,
      signal: force,
    });
    target.finish(stats);
    if (result.reason === "idle_timeout") m.idleTimeouts.inc();
    else if (result.reason === "reset" || result.reason === "error") m.relayErrors.inc();
  };

  const server: TcpServer = startFrontend({
    listen: cfg.listen_addr,
    handler,
    maxConnections: cfg.max_connections,
    reusePort: options.reusePort ?? false,
    admits: (ip) => {
      if (accessFor !== cfg) [access, accessFor] = [new AccessList(cfg), cfg]; // reloaded
      return access.admits(ip);
    },
    denied: m.denied,
    rejected: m.rejected,
    throttled,
    logger,
  });
  checking = true;
  checker.sync();
  registerCollectors(m.registry, pool, () => server, bytes);

  const snapshot = (): LbSnapshot => {
    const { up, down } = bytes();
    return {
      active_connections: server.active,
      total_connections: m.total.value,
      bytes_upstream: up,
      bytes_downstream: down,
      no_backend: m.noBackend.value,
      failed_connections: m.failed.value,
      retries: m.retries.value,
      rejected_connections: m.rejected.value,
      relay_errors: m.relayErrors.value,
      denied_connections: m.denied.value,
      idle_timeouts: m.idleTimeouts.value,
      reloads: m.reloads.value,
      reload_failures: m.reloadFailures.value,
      strategy: cfg.strategy,
      uptime_secs: (performance.now() - started) / 1000,
      draining: !server.accepting,
      backends: pool.list().map((b) => b.snapshot()),
    };
  };
  const app = createMetricsApp({
    service: "load balancer",
    prometheus: () => m.registry.render(),
    snapshot,
    healthy: () => server.accepting,
    routes: ADMIN_ROUTES,
  });
  addAdminRoutes(app, { pool, token: () => cfg.admin_token, logger });
  methodNotAllowed(app, {
    "/metrics": ["GET"],
    "/health": ["GET"],
    "/": ["GET"],
    ...ADMIN_METHODS,
  });
  let endpoint;
  try {
    endpoint = startEndpoint(app, cfg.metrics_addr, logger, { admin: { token: cfg.admin_token } });
  } catch (error) {
    server.stopAccepting();
    void checker.stop();
    throw error;
  }

  const reload = async (input: LbConfigInput): Promise<ReloadSummary> => {
    const next = normalizeLbConfig(input);
    const changes: string[] = [];
    const keep = (key: string, now: unknown, wanted: unknown) => {
      if (now !== wanted) changes.push(`${key} change needs a restart; keeping ${now}`);
    };
    keep("listen_addr", cfg.listen_addr, next.listen_addr);
    keep("metrics_addr", cfg.metrics_addr, next.metrics_addr);
    keep("max_connections", cfg.max_connections, next.max_connections);
    keep("log_level", cfg.log_level, next.log_level);
    keep(
      "metrics_log_interval_secs",
      cfg.metrics_log_interval_secs,
      next.metrics_log_interval_secs,
    );
    next.listen_addr = cfg.listen_addr;
    next.metrics_addr = cfg.metrics_addr;
    next.max_connections = cfg.max_connections;
    next.log_level = cfg.log_level;
    next.metrics_log_interval_secs = cfg.metrics_log_interval_secs;
    const wanted = new Set(next.backends.map((b) => b.addr!));
    for (const b of next.backends) {
      const addr = b.addr!;
      const existing = pool.get(addr);
      if (existing === undefined) {
        pool.add({ ...b, addr });
        changes.push(`added ${addr}`);
        continue;
      }
      if (existing.removing) {
        existing.removing = false;
        existing.draining = false;
        changes.push(`kept ${addr} (was being removed)`);
      }
      if (existing.weight !== b.weight) {
        changes.push(`${addr} weight ${existing.weight} -> ${b.weight}`);
      }
      if (existing.backup !== b.backup) {
        changes.push(`${addr} backup ${existing.backup} -> ${b.backup}`);
      }
      if (existing.maxConnections !== b.max_connections) {
        changes.push(`${addr} max_connections ${existing.maxConnections} -> ${b.max_connections}`);
      }
      existing.weight = b.weight;
      existing.backup = b.backup;
      existing.maxConnections = b.max_connections;
    }
    for (const existing of [...pool.list()]) {
      if (wanted.has(existing.addr) || existing.removing) continue;
      changes.push(`removing ${existing.addr} (${existing.active} live connections drain)`);
      pool.remove(existing.addr);
    }
    if (next.strategy !== cfg.strategy) {
      changes.push(`strategy ${cfg.strategy} -> ${next.strategy}`);
      strategy = createStrategy(next.strategy, strategyOptions);
    }
    for (
      const key of [
        "connect_timeout_ms",
        "idle_timeout_secs",
        "retries",
        "proxy_protocol",
        "grace_period_secs",
        "relay",
      ] as const
    ) {
      if (next[key] !== cfg[key]) changes.push(`${key} ${cfg[key]} -> ${next[key]}`);
    }
    if (next.admin_token !== cfg.admin_token) changes.push("admin_token changed");
    const healthChanged = JSON.stringify(next.health_check) !== JSON.stringify(cfg.health_check);
    cfg = next;
    if (healthChanged) {
      changes.push("health_check settings changed");
      await checker.update(next.health_check);
    }
    m.reloads.inc();
    return { changes };
  };

  return {
    addr: server.addr,
    metricsAddr: endpoint?.addr,
    app,
    backends: pool,
    get config() {
      return cfg;
    },
    snapshot,
    families: () => m.registry.families(),
    summaryLine: () => {
      const { up, down } = bytes();
      const list = pool.list();
      const upCount = list.filter((b) => b.state === "up").length;
      return `[METRICS] active: ${server.active} | total: ${m.total.value} | up: ${
        formatBytes(up)
      } | down: ${formatBytes(down)} | backends up: ${upCount}/${list.length}`;
    },
    reload,
    reloadFailed: () => m.reloadFailures.inc(),
    async shutdown(graceMs = cfg.grace_period_secs * 1000) {
      server.stopAccepting();
      const [{ forced }] = await Promise.all([server.shutdown(graceMs), checker.stop()]);
      await endpoint?.shutdown();
      return {
        total_connections: m.total.value,
        forced,
        uptime_secs: (performance.now() - started) / 1000,
      };
    },
  };
}

function lbMetrics() {
  const registry = new Registry();
  return {
    registry,
    total: registry.counter(
      "monkey_lb_connections_total",
      "Client connections accepted within the limit",
    ),
    noBackend: registry.counter(
      "monkey_lb_no_backend_total",
      "Clients closed at once because no backend was available",
    ),
    failed: registry.counter(
      "monkey_lb_failed_connections_total",
      "Clients closed after every backend they were given failed to connect",
    ),
    retries: registry.counter(
      "monkey_lb_retries_total",
      "Connects retried on the next pick after a refusal or timeout",
    ),
    rejected: registry.counter(
      "monkey_lb_rejected_connections_total",
      "Clients closed at once because max_connections was reached",
    ),
    relayErrors: registry.counter(
      "monkey_lb_relay_errors_total",
      "Relays ended by a reset or socket error on either side",
    ),
    denied: registry.counter(
      "monkey_lb_denied_connections_total",
      "Clients closed at once because allow/deny refused their address",
    ),
    idleTimeouts: registry.counter(
      "monkey_lb_idle_timeouts_total",
      "Connections closed after idle_timeout_secs without traffic",
    ),
    reloads: registry.counter("monkey_lb_reloads_total", "Configuration reloads applied"),
    reloadFailures: registry.counter(
      "monkey_lb_reload_failures_total",
      "Configuration reloads rejected (invalid file); the running config stayed",
    ),
  };
}

function registerCollectors(
  registry: Registry,
  pool: BackendPool,
  server: () => TcpServer,
  bytes: () => { up: number; down: number },
): void {
  registry.collect(
    "monkey_lb_connections_active",
    "Client connections open now",
    "gauge",
    () => [[{}, server().active]],
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
    server().accepting ? 0 : 1,
  ]]);
  const perBackend = (
    name: string,
    help: string,
    kind: "counter" | "gauge",
    value: (b: Backend) => number,
  ) =>
    registry.collect(
      name,
      help,
      kind,
      () => pool.list().map((b) => [{ backend: b.addr }, value(b)] as const),
    );
  perBackend(
    "monkey_lb_backend_up",
    "1 when health checks pass, 0 when down",
    "gauge",
    (b) => b.healthy ? 1 : 0,
  );
  perBackend(
    "monkey_lb_backend_draining",
    "1 while drained (admin, delete or reload), else 0",
    "gauge",
    (b) => b.draining ? 1 : 0,
  );
  perBackend("monkey_lb_backend_weight", "Configured weight", "gauge", (b) => b.weight);
  perBackend(
    "monkey_lb_backend_connections_active",
    "Connections open to the backend",
    "gauge",
    (b) => b.active,
  );
  perBackend(
    "monkey_lb_backend_connections_total",
    "Connections established to the backend",
    "counter",
    (b) => b.total,
  );
  perBackend(
    "monkey_lb_backend_upstream_bytes_total",
    "Bytes from clients to the backend",
    "counter",
    (b) => b.bytesIn,
  );
  perBackend(
    "monkey_lb_backend_downstream_bytes_total",
    "Bytes from the backend to clients",
    "counter",
    (b) => b.bytesOut,
  );
  perBackend(
    "monkey_lb_backend_connect_errors_total",
    "Failed connects to the backend (refused, timed out, unreachable)",
    "counter",
    (b) => b.connectErrors,
  );
  perBackend(
    "monkey_lb_backend_retries_total",
    "Clients retried on another backend after a failed connect to this one",
    "counter",
    (b) => b.retries,
  );
  perBackend(
    "monkey_lb_backend_health_check_failures_total",
    "Failed active health checks",
    "counter",
    (b) => b.checkFailures,
  );
  perBackend(
    "monkey_lb_backend_connect_latency_seconds",
    "EWMA of connect time (checks and connections), seconds",
    "gauge",
    (b) => (b.latencyEwma ?? 0) / 1000,
  );
}
