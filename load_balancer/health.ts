/**
 * Active health checks of every backend of a pool. One check ({@linkcode checkOnce}) and the
 * rise/fall state machine ({@linkcode recordResult}) are generic: they live in
 * `@monkey/shared/health`, which the proxy uses for its target too.
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import { checkOnce, type Logger, type ProxyProtocolMode } from "@monkey/shared";
import type { Backend } from "./backend.ts";
import type { BackendPool } from "./pool.ts";
import type { HealthConfig } from "./config.ts";

export {
  checkOnce,
  type CheckOptions,
  type CheckOutcome,
  type HealthCounters,
  type HealthPolicy,
  recordResult,
} from "@monkey/shared";

/** Options for {@linkcode HealthChecker}. */
export interface HealthCheckerOptions {
  /** Called when a backend changes state (after it changed). */
  onTransition?: (backend: Backend, state: "up" | "down", why: string) => void;
  /** PROXY protocol mode of the balancer (every check sends a LOCAL header when it is on). */
  proxyProtocol?: () => ProxyProtocolMode;
  /** Logger for check errors. */
  logger?: Logger;
}

/**
 * Runs active checks on every backend of a pool, each on its own timer, and moves the
 * backends' health with {@linkcode recordResult}.
 *
 * @example
 * ```ts
 * const checker = new HealthChecker(pool, config.health_check);
 * checker.sync(); // start checking the pool's backends
 * await checker.stop();
 * ```
 */
export class HealthChecker {
  #pool: BackendPool;
  #config: HealthConfig;
  #options: HealthCheckerOptions;
  #loops = new Map<Backend, { controller: AbortController; done: Promise<void> }>();
  #stopped = false;

  /**
   * Create a checker; {@linkcode HealthChecker.sync} starts the checks.
   *
   * @param pool The backends to check.
   * @param config Interval, timeout, rise, fall, send and expect.
   * @param options Transition callback and PROXY protocol mode.
   */
  constructor(pool: BackendPool, config: HealthConfig, options: HealthCheckerOptions = {}) {
    this.#pool = pool;
    this.#config = config;
    this.#options = options;
  }

  /** The current check settings. */
  get config(): HealthConfig {
    return this.#config;
  }

  /** Whether active checks run (interval above 0). */
  get enabled(): boolean {
    return this.#config.interval_ms > 0;
  }

  /**
   * Record a result for a backend (a check, or a connect on the data path) and report a
   * state change.
   *
   * @param backend The backend.
   * @param ok Whether it passed.
   * @param why What happened, for the transition message.
   */
  record(backend: Backend, ok: boolean, why: string): void {
    const change = backend.recordHealth(ok, this.#config);
    if (change !== undefined) this.#options.onTransition?.(backend, change, why);
  }

  /** Start checks for backends that joined the pool and stop them for those that left. */
  sync(): void {
    if (this.#stopped) return;
    const present = new Set(this.#pool.list());
    for (const [backend, loop] of this.#loops) {
      if (!present.has(backend) || !this.enabled) {
        loop.controller.abort();
        this.#loops.delete(backend);
      }
    }
    if (!this.enabled) return;
    for (const backend of present) {
      if (this.#loops.has(backend)) continue;
      const controller = new AbortController();
      const done = this.#run(backend, controller.signal);
      this.#loops.set(backend, { controller, done });
    }
  }

  /**
   * Apply new settings: every backend's checks restart with them.
   *
   * @param config The new `[health_check]`.
   * @returns Resolves when the old loops have stopped.
   */
  async update(config: HealthConfig): Promise<void> {
    this.#config = config;
    const old = [...this.#loops.values()];
    this.#loops.clear();
    for (const loop of old) loop.controller.abort();
    await Promise.all(old.map((loop) => loop.done));
    this.sync();
  }

  /**
   * Stop every check and wait for them to end.
   *
   * @returns Resolves when no check is running.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    const loops = [...this.#loops.values()];
    this.#loops.clear();
    for (const loop of loops) loop.controller.abort();
    await Promise.all(loops.map((loop) => loop.done));
  }

  async #run(backend: Backend, signal: AbortSignal): Promise<void> {
    const config = this.#config;
    // Spread the first checks over one interval so backends are not probed in lockstep.
    let wait = Math.random() * config.interval_ms;
    while (!signal.aborted) {
      try {
        await sleep(wait, undefined, { signal });
      } catch {
        return;
      }
      wait = config.interval_ms;
      const outcome = await checkOnce(backend.addr, {
        timeoutMs: config.timeout_ms,
        send: config.send,
        expect: config.expect,
        proxyProtocol: this.#options.proxyProtocol?.() ?? "off",
        signal,
      });
      if (signal.aborted) return;
      backend.recordCheck({
        time: new Date().toISOString(),
        result: outcome.result,
        latency_ms: Math.round(outcome.totalMs * 1000) / 1000,
      }, outcome.connectMs);
      this.record(backend, outcome.ok, `health check: ${outcome.result}`);
    }
  }
}
