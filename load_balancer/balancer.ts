/**
 * The load balancer: wires the backend pool, health checks, the connection handler, the
 * metrics, the HTTP endpoint with the admin API, and reload.
 *
 * @module
 */

import {
  AccessList,
  clientGateFromConfig,
  createMetricsApp,
  createTlsEngine,
  type DiscoveryLoop,
  type Engine,
  loadTlsCertificate,
  loadUpstreamTls,
  Logger,
  type MetricFamily,
  resolveTlsEngine,
  startEndpoint,
  startFrontend,
  type TcpServer,
  ThrottledLog,
  type TlsEngine,
  usesTls,
} from "@monkey/shared";
import { ADMIN_ROUTES, createAdminApp } from "./admin.ts";
import {
  DEFAULT_POOL_NAME,
  type LbConfig,
  type LbConfigInput,
  normalizeLbConfig,
} from "./config.ts";
import { type ConnectionSettings, createConnectionHandler } from "./connection.ts";
import { lbDashboardView } from "./dashboard.ts";
import { HealthChecker } from "./health.ts";
import { LbMetrics, type LbSnapshot } from "./metrics.ts";
import { BackendPool } from "./pool.ts";
import { planReload, type ReloadPlan } from "./reload_plan.ts";
import { createStrategy, type StrategyOptions } from "./strategies.ts";
import { NamedPools, type RoutedPool, Router, TrafficCounters } from "./routing.ts";
import { poolRows, registerRoutingMetrics, routeRows } from "./routing_metrics.ts";
import { attachDiscovery } from "./discovery.ts";

export type { LbSnapshot } from "./metrics.ts";

/** The endpoint's HTTP app (a Hono app) as callers use it: without a socket, or from a server. */
export interface LbHttpApp {
  /**
   * Answer a request in process, e.g. `app.request("/backends")`.
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
  readonly app: LbHttpApp;
  /** The backends (change them through the pool's methods; the admin API does too). */
  readonly backends: BackendPool;
  /** The configuration in force. */
  readonly config: LbConfig;
  /** The engine as the startup line names it (`epoll`, `deno (TLS needs it)`, …). */
  readonly engineLabel: string;
  /** Current metrics. */
  snapshot(): LbSnapshot;
  /** Prometheus families (for aggregation across workers). */
  families(): MetricFamily[];
  /** The `[METRICS] active: 3 | total: 15 | up: … | down: … | backends up: 2/3` line. */
  summaryLine(): string;
  /**
   * Apply a new configuration without dropping connections: new backends join, missing ones
   * drain and leave, weights, strategy, timeouts, retries, health checks, token, allow/deny
   * and PROXY protocol apply to new connections (a connection keeps the settings it was
   * accepted with). `listen_addr`, `metrics_addr`, `max_connections`,
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
  const initial = normalizeLbConfig(config);
  const logger = options.logger ?? new Logger({ name: "lb", level: initial.log_level });
  const throttled = new ThrottledLog(logger);
  const strategyOptions: StrategyOptions = options.random ? { random: options.random } : {};
  /** Swapped whole on reload; each connection reads it once, at accept. */
  const tlsLabel = "the load balancer configuration";
  const decision = resolveTlsEngine(initial.engine, usesTls(initial), tlsLabel);
  const certificate = loadTlsCertificate(initial, tlsLabel);
  const upstreamTls = loadUpstreamTls(initial, tlsLabel);
  const tlsEngine: TlsEngine | undefined = usesTls(initial)
    ? createTlsEngine({ certificate, alpn: initial.tls_alpn, upstream: upstreamTls })
    : undefined;
  const engine: Engine = tlsEngine ?? decision.engine;
  if (upstreamTls?.insecure) {
    logger.warn("upstream_tls_insecure = true: backend certificates are NOT verified");
  }
  const named = new NamedPools(initial.pools, {
    strategy: strategyOptions,
    proxyProtocol: () => settings.config.proxy_protocol,
    logger,
  });
  const defaultTraffic = new TrafficCounters();
  const defaultPool: RoutedPool = {
    name: DEFAULT_POOL_NAME,
    get pool() {
      return pool;
    },
    get strategy() {
      return settings.strategy;
    },
    get health() {
      return checker;
    },
    traffic: defaultTraffic,
  };
  const lookup = (name: string) => name === DEFAULT_POOL_NAME ? defaultPool : named.get(name);
  const makeRouter = (config: LbConfig, previous?: Router) =>
    config.routes.length > 0 || config.default_pool !== DEFAULT_POOL_NAME
      ? new Router(config, lookup, previous)
      : undefined;
  let settings: Settings = {
    config: initial,
    strategy: createStrategy(initial.strategy, strategyOptions),
    access: new AccessList(initial),
    ...withRouter(makeRouter(initial)),
  };

  // Checks start once the listener is bound (a failed start leaves nothing running).
  let checking = false;
  const pool = new BackendPool({
    added: () => {
      if (checking) checker.sync();
    },
    removed: (backend) => {
      metrics.retire(backend);
      logger.info(`backend ${backend.addr} removed`);
      checker.sync();
    },
  });
  const metrics = new LbMetrics({
    pool,
    // Read at scrape time, once the listener below is bound.
    active: () => frontend.active,
    accepting: () => frontend.accepting,
    strategy: () => settings.config.strategy,
    engine: () => engine.name,
  });
  const checker: HealthChecker = new HealthChecker(pool, initial.health_check, {
    onTransition: (backend, state, why) => {
      if (state === "down") logger.warn(`backend ${backend.addr} is DOWN (${why})`);
      else logger.info(`backend ${backend.addr} is UP (${why})`);
    },
    proxyProtocol: () => settings.config.proxy_protocol,
    logger,
  });
  const allPools = () => [defaultPool, ...named.list()];
  const tlsCounters = registerRoutingMetrics(
    metrics.registry,
    allPools,
    () => settings.router?.routes ?? [],
  );
  for (const backend of initial.backends) pool.add({ ...backend, addr: backend.addr! });
  if (
    initial.backends.length === 0 && Object.keys(initial.pools).length === 0 &&
    initial.discovery === undefined
  ) {
    logger.warn("no backends configured: clients are closed until one is added");
  }

  // PROXY protocol receive and per-client limits; rebuilt on reload (limit state restarts).
  const gateCounters = {
    denied: metrics.denied,
    rateLimited: metrics.registry.counter(
      "monkey_lb_rate_limited_connections_total",
      "Clients closed at once over max_connections_per_client or max_conn_rate_per_client",
    ),
    proxyErrors: metrics.registry.counter(
      "monkey_lb_proxy_protocol_errors_total",
      "Connections from trusted_proxies closed for a missing, invalid or late PROXY header",
    ),
    proxyRejected: metrics.registry.counter(
      "monkey_lb_proxy_rejected_connections_total",
      "Clients outside trusted_proxies closed because proxy_fallback is reject",
    ),
  };
  const makeGate = (config: LbConfig) =>
    clientGateFromConfig(config, (ip) => settings.access.admits(ip), {
      counters: gateCounters,
      throttled,
    });
  let gate = makeGate(initial);
  const handleConnection = createConnectionHandler({
    pool,
    metrics,
    health: checker,
    settings: () => settings,
    throttled,
    logger,
    engine,
    terminatesTls: certificate !== undefined,
    tlsCounters,
  });
  const admitted = (client: Parameters<typeof handleConnection>[0], force: AbortSignal) =>
    gate.wrap(handleConnection)(client, force);

  const frontend: TcpServer = startFrontend({
    listen: initial.listen_addr,
    handler: admitted,
    maxConnections: initial.max_connections,
    reusePort: options.reusePort ?? false,
    engine,
    admits: (ip) => gate.atAccept(ip),
    denied: metrics.denied,
    rejected: metrics.rejected,
    throttled,
    logger,
  });
  checking = true;
  checker.sync();
  const discover = (config: LbConfig): DiscoveryLoop | undefined =>
    config.discovery === undefined ? undefined : attachDiscovery(pool, config, {
      healthChecks: () => checker.enabled,
      logger,
    });
  let discovery = discover(initial);
  metrics.registry.collect(
    "monkey_lb_discovery_failures_total",
    "Failed DNS lookups of discovery (errors, timeouts, NXDOMAIN, empty answers)",
    "counter",
    () => [[{ pool: "default" }, discovery?.failures ?? 0]],
  );

  const strategyOf = (p: RoutedPool) =>
    p.name === DEFAULT_POOL_NAME
      ? settings.config.strategy
      : settings.config.pools[p.name]?.strategy ?? "";
  const snapshot = (): LbSnapshot => ({
    ...metrics.snapshot(),
    tls_handshake_failures: tlsCounters.handshakeFailures.value,
    sni_misses: tlsCounters.sniMisses.value,
    client_hello_errors: tlsCounters.helloErrors.value,
    inspect_timeouts: tlsCounters.inspectTimeouts.value,
    pools: poolRows(allPools(), strategyOf),
    routes: routeRows(settings.router?.routes ?? []),
  });
  const app = createMetricsApp({
    service: "load balancer",
    prometheus: () => metrics.registry.render(),
    snapshot,
    healthy: () => frontend.accepting,
    routes: [
      ...ADMIN_ROUTES,
      ["GET /pools", "every pool (default first) with its backends, connections and bytes"],
      ["GET /routes", "every route with its matchers, pool, connections and bytes"],
    ],
    dashboard: { view: () => lbDashboardView(metrics.snapshot(), settings.config) },
  });
  app.get("/pools", (c) => c.json(poolRows(allPools(), strategyOf)));
  app.get("/routes", (c) => c.json(routeRows(settings.router?.routes ?? [])));
  app.route("/", createAdminApp({ pool, token: () => settings.config.admin_token, logger }));
  let endpoint;
  try {
    endpoint = startEndpoint(app, initial.metrics_addr, logger, {
      admin: { token: initial.admin_token },
    });
  } catch (error) {
    frontend.stopAccepting();
    void checker.stop();
    void named.stop();
    void discovery?.stop();
    throw error;
  }

  const reload = async (input: LbConfigInput): Promise<ReloadSummary> => {
    const current = settings.config;
    const previousRoutes = current.routes;
    const plan = planReload(current, normalizeLbConfig(input), pool.list());
    const access = new AccessList(plan.config);
    const next = plan.config;
    applyToPool(pool, plan);
    const poolChanges = await named.reload(next.pools);
    settings = {
      config: next,
      strategy: plan.strategyChanged
        ? createStrategy(next.strategy, strategyOptions)
        : settings.strategy,
      access,
      ...withRouter(makeRouter(next, settings.router)),
    };
    if (plan.healthChanged) await checker.update(next.health_check);
    const changes = [...plan.changes, ...poolChanges];
    if (JSON.stringify(next.routes) !== JSON.stringify(previousRoutes)) {
      changes.push(`routes: ${next.routes.length} in force`);
    }
    gate = makeGate(next);
    if (JSON.stringify(discoveryKeys(next)) !== JSON.stringify(discoveryKeys(current))) {
      await discovery?.stop();
      discovery = discover(next);
      changes.push("discovery settings changed");
    }
    if (tlsEngine !== undefined && certificate !== undefined) {
      // The files were read and checked with the configuration; serve them from now on.
      await tlsEngine.reloadCertificate(loadTlsCertificate(next, tlsLabel)!);
      changes.push(`TLS certificate reloaded from ${next.tls_cert}`);
    }
    metrics.reloads.inc();
    return { changes };
  };

  return {
    addr: frontend.addr,
    metricsAddr: endpoint?.addr,
    app,
    backends: pool,
    get config() {
      return settings.config;
    },
    engineLabel: decision.reason ? `${engine.name} (${decision.reason})` : engine.name,
    snapshot,
    families: () => metrics.registry.families(),
    summaryLine: () => metrics.summaryLine(),
    reload,
    reloadFailed: () => metrics.reloadFailures.inc(),
    async shutdown(graceMs = settings.config.grace_period_secs * 1000) {
      frontend.stopAccepting();
      const [{ forced }] = await Promise.all([
        frontend.shutdown(graceMs),
        checker.stop(),
        named.stop(),
        discovery?.stop(),
      ]);
      await endpoint?.shutdown();
      return {
        total_connections: metrics.total.value,
        forced,
        uptime_secs: metrics.uptimeSecs,
      };
    },
  };
}

/** What connections read: the configuration, the strategy and the allow/deny rules. */
interface Settings extends ConnectionSettings {
  /** The allow/deny rules of `config`. */
  readonly access: AccessList;
}

/** The `router` key of settings, absent when there is none (exactOptionalPropertyTypes). */
function withRouter(router: Router | undefined): { router?: Router } {
  return router === undefined ? {} : { router };
}

/** The keys that restart discovery when a reload changes them. */
function discoveryKeys(config: LbConfig): unknown[] {
  return [
    config.discovery,
    config.resolver,
    config.refresh_secs,
    config.min_refresh_secs,
    config.max_refresh_secs,
    config.on_failure,
  ];
}

/** Make the pool match a reload plan. */
function applyToPool(pool: BackendPool, plan: ReloadPlan): void {
  for (const backend of plan.add) pool.add(backend);
  for (const { addr, settings } of plan.restore) pool.restore(addr, settings);
  for (const { addr, settings } of plan.update) pool.update(addr, settings);
  for (const addr of plan.remove) pool.remove(addr);
}
