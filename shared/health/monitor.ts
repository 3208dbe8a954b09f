/**
 * Active checks of one address on a timer, with the rise/fall state machine: the proxy's
 * watch on its target. (The load balancer runs the same check and state machine per backend.)
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import type { ProxyProtocolMode } from "../net/proxy_protocol.ts";
import { checkOnce, type CheckOutcome } from "./check.ts";
import { type HealthCounters, type HealthPolicy, recordResult } from "./state.ts";

/** The `[health_check]` settings a monitor runs with. */
export interface HealthCheckSettings extends HealthPolicy {
  /** Milliseconds between checks; 0 = no checks. */
  interval_ms: number;
  /** A check slower than this fails. */
  timeout_ms: number;
  /** Text sent after connecting. */
  send?: string | undefined;
  /** Text the reply must contain. */
  expect?: string | undefined;
}

/** Options for {@linkcode HealthMonitor}. */
export interface HealthMonitorOptions {
  /** Called after the state changed, with the check result that changed it. */
  onTransition?: (state: "up" | "down", outcome: CheckOutcome) => void;
  /** PROXY protocol header each check sends first. @default "off" */
  proxyProtocol?: ProxyProtocolMode;
}

/**
 * Checks one address every `interval_ms` until stopped; `healthy` follows rise and fall.
 *
 * @example
 * ```ts
 * const monitor = new HealthMonitor("127.0.0.1:8081", {
 *   interval_ms: 2000, timeout_ms: 1000, rise: 2, fall: 3,
 * }, { onTransition: (state) => console.log(`target is ${state}`) });
 * monitor.start();
 * await monitor.stop();
 * ```
 */
export class HealthMonitor {
  #addr: string;
  #settings: HealthCheckSettings;
  #options: HealthMonitorOptions;
  #counters: HealthCounters = { healthy: true, consecutiveFailures: 0, consecutiveSuccesses: 0 };
  #last: CheckOutcome | undefined;
  #controller: AbortController | undefined;
  #done: Promise<void> = Promise.resolve();

  /**
   * A monitor of `addr`; {@linkcode HealthMonitor.start} starts the checks.
   *
   * @param addr `host:port` to check.
   * @param settings Interval, timeout, rise, fall, send and expect.
   * @param options Transition callback and PROXY protocol mode.
   */
  constructor(addr: string, settings: HealthCheckSettings, options: HealthMonitorOptions = {}) {
    this.#addr = addr;
    this.#settings = settings;
    this.#options = options;
  }

  /** Whether the address passes its checks (true until `fall` checks failed in a row). */
  get healthy(): boolean {
    return this.#counters.healthy;
  }

  /** The last check's outcome, undefined before the first. */
  get lastCheck(): CheckOutcome | undefined {
    return this.#last;
  }

  /** Start checking (first check at once); no-op when `interval_ms` is 0 or already running. */
  start(): void {
    if (this.#settings.interval_ms <= 0 || this.#controller !== undefined) return;
    this.#controller = new AbortController();
    this.#done = this.#run(this.#controller.signal);
  }

  /**
   * Stop checking.
   *
   * @returns Resolves once no check is running.
   */
  async stop(): Promise<void> {
    this.#controller?.abort();
    await this.#done;
  }

  async #run(signal: AbortSignal): Promise<void> {
    const s = this.#settings;
    while (!signal.aborted) {
      const outcome = await checkOnce(this.#addr, {
        timeoutMs: s.timeout_ms,
        send: s.send,
        expect: s.expect,
        proxyProtocol: this.#options.proxyProtocol ?? "off",
        signal,
      });
      if (signal.aborted) return;
      this.#last = outcome;
      const change = recordResult(this.#counters, outcome.ok, s);
      if (change !== undefined) this.#options.onTransition?.(change, outcome);
      try {
        await sleep(s.interval_ms, undefined, { signal });
      } catch {
        return;
      }
    }
  }
}
