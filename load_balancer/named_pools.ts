/**
 * The `[pools.NAME]` pools: each with its backends (static and, with `discovery`, from DNS),
 * strategy, health checks, traffic counters and, when it sets upstream TLS keys, its own way
 * of connecting (TLS origination or plain).
 *
 * @module
 */

import {
  createTlsEngine,
  DENO_ENGINE,
  type DiscoveryLoop,
  type Engine,
  loadUpstreamTls,
  type Logger,
  type TlsKeys,
} from "@monkey/shared";
import { type LbConfig, ownsUpstreamTls, type PoolConfig, poolUpstreamKeys } from "./config.ts";
import { attachDiscovery } from "./discovery.ts";
import { HealthChecker } from "./health.ts";
import { BackendPool } from "./pool.ts";
import type { RoutedPool } from "./routing.ts";
import { TrafficCounters } from "./routing.ts";
import { createStrategy, type StrategyOptions } from "./strategies.ts";

/** A named pool with its own checks and discovery. */
interface NamedPool extends RoutedPool {
  readonly config: PoolConfig;
  readonly checker: HealthChecker;
  readonly discovery: DiscoveryLoop | undefined;
}

/** Options for {@linkcode NamedPools}. */
export interface NamedPoolsOptions {
  /** Random source of the strategies. */
  strategy: StrategyOptions;
  /** PROXY protocol mode, for checks with send/expect. */
  proxyProtocol: () => LbConfig["proxy_protocol"];
  /** Where health transitions and discovery changes are logged. */
  logger: Logger;
  /** The top-level keys pools inherit: `upstream_*` and the discovery `resolver`. @default {} */
  inherited?: TlsKeys & { resolver?: string | undefined };
  /** Where the configuration came from, named in messages. @default "config" */
  label?: string;
}

/**
 * The `[pools.NAME]` pools: created at start, replaced on reload when their settings change
 * (live connections finish on the old backends; the new pool's health and discovery start
 * over).
 *
 * @example
 * ```ts
 * const pools = new NamedPools(config.pools, { strategy: {}, proxyProtocol: () => "off", logger });
 * pools.get("web")?.pool.list();
 * ```
 */
export class NamedPools {
  #pools = new Map<string, NamedPool>();
  #options: NamedPoolsOptions;

  /**
   * Build every pool and start its checks and discovery.
   *
   * @param configs `[pools.NAME]` tables.
   * @param options Strategy options, PROXY mode, logger and inherited keys.
   */
  constructor(configs: Record<string, PoolConfig>, options: NamedPoolsOptions) {
    this.#options = options;
    for (const [name, config] of Object.entries(configs)) {
      this.#pools.set(name, this.#make(name, config));
    }
  }

  #make(name: string, config: PoolConfig, traffic = new TrafficCounters()): NamedPool {
    const { logger } = this.#options;
    const inherited = this.#options.inherited ?? {};
    // Discovered backends join and leave through these events: checks follow them.
    let sync = () => {};
    const pool = new BackendPool({ added: () => sync(), removed: () => sync() });
    for (const backend of config.backends) pool.add({ ...backend, addr: backend.addr! });
    const checker = new HealthChecker(pool, config.health_check, {
      onTransition: (backend, state, why) => {
        const line = `pool ${name}: backend ${backend.addr} is ${state.toUpperCase()} (${why})`;
        if (state === "down") logger.warn(line);
        else logger.info(line);
      },
      proxyProtocol: this.#options.proxyProtocol,
      logger,
    });
    sync = () => checker.sync();
    sync();
    const discovery = config.discovery === undefined ? undefined : attachDiscovery(
      pool,
      { ...config, resolver: config.resolver ?? inherited.resolver },
      { name, healthChecks: () => checker.enabled, logger },
    );
    const engine = this.#engineOf(name, config);
    return {
      name,
      config,
      pool,
      strategy: createStrategy(config.strategy, this.#options.strategy),
      health: checker,
      checker,
      discovery,
      traffic,
      ...(engine === undefined ? {} : { engine }),
    };
  }

  /** The pool's own connect engine, when its upstream TLS differs from the default pool's. */
  #engineOf(name: string, config: PoolConfig): Engine | undefined {
    if (!ownsUpstreamTls(config)) return undefined;
    const label = `${this.#options.label ?? "config"} [pools.${name}]`;
    const inherited = this.#options.inherited ?? {};
    const upstream = loadUpstreamTls(poolUpstreamKeys(inherited, config), label);
    // Plain: the service's engine connects plainly unless the top level originates TLS.
    if (upstream === undefined) return inherited.upstream_tls === true ? DENO_ENGINE : undefined;
    if (upstream.insecure) {
      this.#options.logger.warn(
        `pool ${name}: upstream_tls_insecure = true: backend certificates are NOT verified`,
      );
    }
    return createTlsEngine({ upstream });
  }

  /**
   * Look a pool up.
   *
   * @param name The pool's name.
   * @returns The pool, if configured.
   */
  get(name: string): RoutedPool | undefined {
    return this.#pools.get(name);
  }

  /**
   * Every pool, in configuration order.
   *
   * @returns The pools.
   */
  list(): RoutedPool[] {
    return [...this.#pools.values()];
  }

  /**
   * Failed lookups of every pool with discovery, for `monkey_lb_discovery_failures_total`.
   *
   * @returns `[pool name, failures]` pairs.
   */
  discoveryFailures(): [string, number][] {
    return [...this.#pools.values()].flatMap((p) =>
      p.discovery === undefined ? [] : [[p.name, p.discovery.failures] as [string, number]]
    );
  }

  /**
   * Match a new configuration: new pools start, missing ones stop, changed ones are rebuilt.
   *
   * @param configs The new `[pools.NAME]` tables.
   * @returns One line per change.
   */
  async reload(configs: Record<string, PoolConfig>): Promise<string[]> {
    const changes: string[] = [];
    const stops: Promise<void>[] = [];
    for (const [name, old] of this.#pools) {
      if (!Object.hasOwn(configs, name)) {
        this.#pools.delete(name);
        stops.push(stopPool(old));
        changes.push(`pool ${name} removed`);
      }
    }
    for (const [name, config] of Object.entries(configs)) {
      const old = this.#pools.get(name);
      if (old !== undefined && JSON.stringify(old.config) === JSON.stringify(config)) continue;
      if (old !== undefined) stops.push(stopPool(old));
      this.#pools.set(name, this.#make(name, config, old?.traffic));
      changes.push(`pool ${name} ${old === undefined ? "added" : "changed"}`);
    }
    await Promise.all(stops);
    return changes;
  }

  /**
   * Stop every health check and discovery.
   *
   * @returns Resolves when all stopped.
   */
  async stop(): Promise<void> {
    await Promise.all([...this.#pools.values()].map(stopPool));
  }
}

async function stopPool(pool: NamedPool): Promise<void> {
  await Promise.all([pool.checker.stop(), pool.discovery?.stop()]);
}
