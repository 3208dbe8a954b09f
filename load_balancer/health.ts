/**
 * Active health checks: one check (TCP connect, optional send/expect), and the checker that
 * runs them on every backend of a pool. The rise/fall state machine is in `health_state.ts`.
 *
 * @module
 */

import { setTimeout as sleep } from "node:timers/promises";
import {
  ConnectError,
  connectTcp,
  encodeProxyLocal,
  type Logger,
  type NetConn,
  type ProxyProtocolMode,
  safeClose,
} from "@monkey/shared";
import type { Backend } from "./backend.ts";
import type { BackendPool } from "./pool.ts";
import type { HealthConfig } from "./config.ts";

export { type HealthCounters, type HealthPolicy, recordResult } from "./health_state.ts";

/** Options for {@linkcode checkOnce}. */
export interface CheckOptions {
  /** Whole check deadline in ms. */
  timeoutMs: number;
  /** Written after connecting. */
  send?: string | undefined;
  /** The reply must contain this. */
  expect?: string | undefined;
  /** Send a PROXY protocol LOCAL header first, on every check kind. @default "off" */
  proxyProtocol?: ProxyProtocolMode;
  /** Abort the check (checker stopping). */
  signal?: AbortSignal;
}

/** What one check found. */
export interface CheckOutcome {
  /** Passed. */
  ok: boolean;
  /** `ok`, or why it failed. */
  result: string;
  /** Time to connect in ms (undefined when the connect failed). */
  connectMs: number | undefined;
  /** Time for the whole check in ms. */
  totalMs: number;
}

const MAX_EXPECT_BYTES = 64 * 1024;

/**
 * Connect to `addr`; when `send` is set write it; when `expect` is set read until the reply
 * contains it. Everything within `timeoutMs`.
 *
 * @param addr Backend `host:port`.
 * @param options Deadline, send/expect and abort signal.
 * @returns The outcome; it never rejects.
 * @example
 * ```ts
 * const outcome = await checkOnce("127.0.0.1:6379", { timeoutMs: 1000, send: "PING\r\n", expect: "+PONG" });
 * ```
 */
export async function checkOnce(addr: string, options: CheckOptions): Promise<CheckOutcome> {
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
  let conn: NetConn;
  try {
    conn = await connectTcp(addr, { timeoutMs: options.timeoutMs, signal });
  } catch (error) {
    if (!(error instanceof ConnectError)) throw error;
    const why = error.kind === "aborted" && deadline.aborted ? "timeout" : error.kind;
    return { ok: false, result: why, connectMs: undefined, totalMs: elapsed() };
  }
  const connectMs = elapsed();
  const onAbort = () => safeClose(conn);
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    const mode = options.proxyProtocol ?? "off";
    // Every check kind sends the header: a backend that requires one (nginx `proxy_protocol`,
    // HAProxy `accept-proxy`) logs a broken header for each bare connect otherwise.
    if (mode !== "off") await writeAll(conn, encodeProxyLocal(mode));
    if (options.send !== undefined && options.send !== "") {
      await writeAll(conn, new TextEncoder().encode(options.send));
    }
    if (options.expect !== undefined && options.expect !== "") {
      const found = await readUntil(conn, options.expect);
      if (!found) return { ok: false, result: "unexpected reply", connectMs, totalMs: elapsed() };
    }
    return { ok: true, result: "ok", connectMs, totalMs: elapsed() };
  } catch {
    const result = deadline.aborted ? "timeout" : "closed";
    return { ok: false, result, connectMs, totalMs: elapsed() };
  } finally {
    signal.removeEventListener("abort", onAbort);
    safeClose(conn);
  }
}

async function writeAll(conn: NetConn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

/** Read until the text seen so far contains `expect`; false at EOF or past 64 KiB. */
async function readUntil(conn: NetConn, expect: string): Promise<boolean> {
  const decoder = new TextDecoder();
  const buf = new Uint8Array(4096);
  let seen = "";
  while (seen.length < MAX_EXPECT_BYTES) {
    const n = await conn.read(buf);
    if (n === null) return false;
    seen += decoder.decode(buf.subarray(0, n), { stream: true });
    if (seen.includes(expect)) return true;
  }
  return false;
}

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
