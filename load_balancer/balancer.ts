/**
 * The load balancer: wires the backend pool, health checks, the connection handler, the
 * metrics, the HTTP endpoint with the admin API, and reload.
 *
 * @module
 */

import {
  AccessList,
  clientGateFromConfig,
  ConfigError,
  type DiscoveryLoop,
  Logger,
  type MetricFamily,
  type ServiceShutdownSummary,
  setupServiceTls,
  startEndpoint,
  startGatedFrontend,
  type StartServiceOptions,
  type TcpServer,
  ThrottledLog,
} from "@monkey/shared";
import {
  DEFAULT_POOL_NAME,
  type LbConfig,
  type LbConfigInput,
  lbUsesTls,
  normalizeLbConfig,
} from "./config.ts";
import { type ConnectionSettings, createConnectionHandler } from "./connection.ts";
import { HealthChecker } from "./health.ts";
import { LbMetrics, type LbSnapshot } from "./metrics.ts";
import { BackendPool } from "./pool.ts";
import { planReload, type ReloadPlan } from "./reload_plan.ts";
import { createStrategy, type StrategyOptions } from "./strategies.ts";
import { NamedPools } from "./named_pools.ts";
import { type RoutedPool, Router, TrafficCounters } from "./routing.ts";
import { registerRoutingMetrics } from "./routing_metrics.ts";
import { createLbApp, type LbHttpApp } from "./http_app.ts";
import { attachDiscovery, discoveryChanged } from "./discovery.ts";

export type { LbSnapshot } from "./metrics.ts";
export type { LbHttpApp } from "./http_app.ts";

/** What shutdown reports. */
export type LbShutdownSummary = ServiceShutdownSummary;

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
export interface StartLoadBalancerOptions extends StartServiceOptions {
  /** Random source of the random strategies (tests seed it). @default Math.random */
  random?: () => number;
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
  const tls = setupServiceTls(initial, {
    label: tlsLabel,
    logger,
    peer: "backend",
    alsoTls: lbUsesTls(initial),
  });
  const engine = tls.engine;
  const named = new NamedPools(initial.pools, {
    strategy: strategyOptions,
    proxyProtocol: () => settings.config.proxy_protocol,
    logger,
    inherited: initial, // upstream_* need a restart: the running values stay
    label: tlsLabel,
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
  const makeGate = (config: LbConfig) =>
    clientGateFromConfig(config, (ip) => settings.access.admits(ip), {
      counters: metrics.gate,
      throttled,
      upgrade: tls.upgrade,
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
    terminatesTls: tls.terminates,
    tlsCounters,
  });
  const frontend: TcpServer = startGatedFrontend(initial, {
    gate: () => gate,
    handler: handleConnection,
    counters: metrics,
    reusePort: options.reusePort ?? false,
    engine,
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
    () => [
      [{ pool: DEFAULT_POOL_NAME }, discovery?.failures ?? 0],
      ...named.discoveryFailures().map(([pool, n]) => [{ pool }, n] as [{ pool: string }, number]),
    ],
  );

  const { app, snapshot } = createLbApp({
    metrics,
    tlsCounters,
    pools: allPools,
    routes: () => settings.router?.routes ?? [],
    config: () => settings.config,
    healthy: () => frontend.accepting,
    pool,
    logger,
  });
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
    if (engine.name !== "deno" && lbUsesTls(plan.config)) {
      throw new ConfigError(
        `Cannot use a pool's 'upstream_tls' on reload: TLS needs the deno engine and this ` +
          `balancer runs '${engine.name}' (restart to change engines)`,
      );
    }
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
    if (discoveryChanged(current, next)) {
      await discovery?.stop();
      discovery = discover(next);
      changes.push("discovery settings changed");
    }
    // The files were read and checked with the configuration; serve them from now on.
    const certificate = await tls.reloadCertificate(next);
    if (certificate === "reloaded") changes.push(`TLS certificate reloaded from ${next.tls_cert}`);
    if (certificate === "failed") changes.push("TLS certificate reload failed; the old one stays");
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
    engineLabel: tls.engineLabel ?? engine.name,
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

/** Make the pool match a reload plan. */
function applyToPool(pool: BackendPool, plan: ReloadPlan): void {
  for (const backend of plan.add) pool.add(backend);
  for (const { addr, settings } of plan.restore) pool.restore(addr, settings);
  for (const { addr, settings } of plan.update) pool.update(addr, settings);
  for (const addr of plan.remove) pool.remove(addr);
}
