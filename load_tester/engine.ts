/**
 * The load engine: one scenario's connections on this thread, in closed-loop ping-pong,
 * open loop (fixed rate, latency from the intended send time) or churn mode, speaking the
 * scenario's protocol (echo, redis, http, raw) on the chosen I/O engine.
 *
 * @module
 */

import { connectTcp, type Engine, type NetConn } from "@monkey/shared";
import { clientEngine } from "./client_tls.ts";
import { classifyError } from "./errors.ts";
import type { EngineResult, EngineSnapshot, EngineSpec } from "./engine_types.ts";
import { Meter } from "./meter.ts";
import { PayloadChecker, randomPayload } from "./payload.ts";
import { createClient, ECHO_PROTOCOL, type ProtocolSpec } from "./protocols/mod.ts";
import { echoChurnLoop, echoClosedLoop, echoOpenLoop } from "./protocols/echo.ts";
import { replyChurnLoop, replyLoop } from "./_reply_session.ts";
import {
  closeQuietly,
  CONNECT_BACKOFF_MS,
  FAILURE_BACKOFF_MS,
  type LoopHost,
  type Slot,
} from "./_loop_host.ts";

export type { EngineResult, EngineSnapshot, EngineSpec } from "./engine_types.ts";

/** `stopped` reads the clock once per this many + 1 calls (a mask). */
const CLOCK_EVERY = 15;
/** How often the watchdog looks for requests past the timeout. */
const WATCHDOG_MS = 50;

/** Options for {@linkcode LoadEngine}. */
export interface LoadEngineOptions {
  /**
   * Called every 16 requests from the request path (as well as any timer the caller
   * runs): a busy epoll loop can hold back timers, never requests.
   */
  onTick?: () => void;
}

/**
 * Runs one scenario's share of connections on the current thread.
 *
 * @example
 * ```ts
 * const engine = new LoadEngine({ target: "127.0.0.1:8081", mode: "pingpong", connections: 4,
 *   message_size: 1024, duration_secs: 1, warmup_secs: 0, rate: 0, timeout_secs: 5 });
 * const result = await engine.run();
 * ```
 */
export class LoadEngine {
  readonly #spec: EngineSpec;
  readonly #io: Engine;
  readonly #meter: Meter;
  /** Open loop: ms between one connection's requests; 0 in closed loop. */
  readonly #interval: number;
  /** What the per-connection loops see of this engine. */
  readonly #host: LoopHost;
  readonly #protocol: ProtocolSpec;
  readonly #mixLabels: readonly string[];
  #stopped = false;
  #deadline = 0;
  #asked = 0;
  #warmupEnd = 0;
  #warmingUp = false;
  #measureStart = 0;
  #stopTime = 0;
  #slots: Slot[] = [];
  #origin = 0;
  #onTick: (() => void) | undefined;

  /**
   * Prepare an engine; nothing connects until {@linkcode LoadEngine.run}.
   *
   * @param spec What to run.
   * @throws {ConfigError} On bad protocol settings.
   */
  constructor(spec: EngineSpec, options: LoadEngineOptions = {}) {
    this.#onTick = options.onTick;
    this.#protocol = spec.protocol ?? ECHO_PROTOCOL;
    this.#spec = { ...spec, protocol: this.#protocol };
    this.#io = clientEngine(spec.engine ?? "auto", spec.tls);
    this.#mixLabels = this.#protocol.protocol === "echo"
      ? ["echo"]
      : createClient(this.#protocol).mix;
    this.#meter = new Meter({
      uncorrected: spec.rate > 0,
      connect: spec.mode === "churn",
      mix: this.#mixLabels.length,
    });
    this.#interval = spec.rate > 0 ? (spec.connections / spec.rate) * 1000 : 0;
    const isStopped = () => this.#isStopped();
    this.#host = {
      spec: this.#spec,
      io: this.#io,
      meter: this.#meter,
      interval: this.#interval,
      get stopped() {
        return isStopped();
      },
      sleep: (slot, ms) => this.#sleep(slot, ms),
      nextIntended: (slot, interval) => this.#nextIntended(slot, interval),
      fail: (slot, error) => this.#fail(slot, error),
    };
  }

  /** True once the run is over. */
  #isStopped(): boolean {
    // The loops ask before every request: the clock is checked here too, because a busy
    // epoll loop can hold back timers (the stop timer fired up to 2 s late at 1 s runs).
    if (!this.#stopped && this.#deadline > 0 && (++this.#asked & CLOCK_EVERY) === 0) {
      const now = performance.now();
      if (this.#warmingUp && now >= this.#warmupEnd) this.#endWarmup();
      if (now >= this.#deadline) this.stop();
      this.#onTick?.();
    }
    return this.#stopped;
  }

  /**
   * Live counters.
   *
   * @returns Requests, errors, elapsed measured time and the latency histogram so far.
   */
  snapshot(): EngineSnapshot {
    const end = this.#stopTime > 0 ? this.#stopTime : performance.now();
    return {
      requests: this.#meter.requests,
      errors: this.#meter.errors,
      elapsed_secs: this.#warmingUp || this.#measureStart === 0
        ? 0
        : (end - this.#measureStart) / 1000,
      warming_up: this.#warmingUp,
      latency: this.#meter.latency,
    };
  }

  /** Stop early (Ctrl+C): the run resolves with what was measured so far. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#stopTime = performance.now();
    this.#countInFlight();
    for (const slot of this.#slots) {
      if (slot.conn !== undefined) closeQuietly(slot.conn);
      slot.conn = undefined;
      if (slot.timer !== undefined) clearTimeout(slot.timer);
      slot.timer = undefined;
      slot.wake?.();
    }
  }

  /** Requests in flight at the end: timeouts when older than the timeout, else unfinished. */
  #countInFlight(): void {
    if (this.#warmingUp || this.#measureStart === 0) return;
    const limit = this.#stopTime - this.#spec.timeout_secs * 1000;
    for (const slot of this.#slots) {
      if (slot.conn === undefined || slot.since === 0) continue;
      const inflight = slot.session !== undefined ? slot.session.inflight : 1;
      if (slot.since < limit) this.#meter.errors.timeout += inflight;
      else this.#meter.unfinished += inflight;
    }
  }

  /**
   * Run: connect, warm up, measure for the duration, stop by itself.
   *
   * @param signal Aborting stops early; the partial result is returned.
   * @returns What was measured.
   * @throws {ConnectError} When the target cannot be reached at all (first connect fails).
   */
  async run(signal?: AbortSignal): Promise<EngineResult> {
    const spec = this.#spec;
    const timeoutMs = spec.timeout_secs * 1000;
    // One connect first: a dead target fails the run with a clear error instead of a storm.
    const first = await connectTcp(spec.target, { timeoutMs, engine: this.#io });
    if (spec.mode === "churn") closeQuietly(first);
    if (signal?.aborted) {
      if (spec.mode !== "churn") closeQuietly(first);
      return this.#result();
    }
    const echo = this.#protocol.protocol === "echo";
    this.#slots = Array.from({ length: spec.connections }, (_, index) => ({
      index,
      conn: undefined,
      checker: echo ? new PayloadChecker(randomPayload(spec.message_size)) : undefined,
      session: undefined,
      since: 0,
      timedOut: false,
      timer: undefined,
      wake: undefined,
    }));
    const onAbort = () => this.stop();
    signal?.addEventListener("abort", onAbort, { once: true });
    if (spec.mode === "pingpong") {
      this.#slots[0]!.conn = first;
      await Promise.all(this.#slots.slice(1).map((slot) => this.#open(slot)));
    }
    this.#origin = performance.now();
    this.#warmingUp = spec.warmup_secs > 0;
    if (!this.#warmingUp) this.#measureStart = this.#origin;
    this.#warmupEnd = this.#origin + spec.warmup_secs * 1000;
    this.#deadline = this.#warmupEnd + spec.duration_secs * 1000;
    const warmupTimer = this.#warmingUp
      ? setTimeout(() => this.#endWarmup(), spec.warmup_secs * 1000)
      : undefined;
    const stopTimer = setTimeout(
      () => this.stop(),
      (spec.warmup_secs + spec.duration_secs) * 1000,
    );
    const watchdog = setInterval(() => this.#watch(timeoutMs), WATCHDOG_MS);
    try {
      await Promise.all(this.#slots.map((slot) => this.#loop(slot)));
    } finally {
      clearTimeout(warmupTimer);
      clearTimeout(stopTimer);
      clearInterval(watchdog);
      signal?.removeEventListener("abort", onAbort);
      this.stop();
    }
    return this.#result();
  }

  #result(): EngineResult {
    const size = this.#spec.message_size;
    const meter = this.#meter;
    const measured = this.#measureStart === 0 || this.#warmingUp
      ? 0
      : Math.max(0, ((this.#stopTime || performance.now()) - this.#measureStart) / 1000);
    const echo = this.#protocol.protocol === "echo";
    const from = performance.timeOrigin + this.#measureStart;
    return {
      ...(measured > 0 ? { window_ms: { start: from, end: from + measured * 1000 } } : {}),
      requests: meter.requests,
      errors: meter.errors,
      samples: meter.samples,
      duration_secs: measured,
      latency: meter.latency,
      uncorrected: meter.uncorrected,
      connect: meter.connect,
      bytes_up: echo ? meter.requests * size : 0,
      bytes_down: echo ? meter.requests * size : 0,
      status_codes: meter.statusCodes(),
      mix: this.#mixLabels.map((request, i) => ({ request, requests: meter.mix[i]! })),
      reconnects: meter.reconnects,
      unfinished: meter.unfinished,
    };
  }

  #endWarmup(): void {
    if (!this.#warmingUp) return;
    this.#meter.reset();
    this.#warmingUp = false;
    this.#measureStart = performance.now();
  }

  #watch(timeoutMs: number): void {
    const limit = performance.now() - timeoutMs;
    for (const slot of this.#slots) {
      if (slot.since !== 0 && slot.since < limit && slot.conn !== undefined) {
        slot.timedOut = true;
        slot.since = 0;
        closeQuietly(slot.conn);
      }
    }
  }

  /**
   * Count a failed connection (nothing once stopped) and drop it.
   *
   * @param slot The connection's state.
   * @param error What it failed with.
   */
  #fail(slot: Slot, error: unknown): void {
    if (slot.conn !== undefined) closeQuietly(slot.conn);
    slot.conn = undefined;
    slot.since = 0;
    if (this.#stopped) return;
    const lost = slot.session?.inflight ?? 1;
    if (slot.timedOut) {
      slot.timedOut = false;
      this.#meter.errors.timeout += Math.max(1, lost);
      return;
    }
    this.#meter.error(
      classifyError(error),
      error instanceof Error && !(error instanceof Deno.errors.BadResource)
        ? error.message
        : undefined,
    );
  }

  async #open(slot: Slot): Promise<boolean> {
    try {
      slot.conn = await connectTcp(this.#spec.target, {
        timeoutMs: this.#spec.timeout_secs * 1000,
        engine: this.#io,
      });
      if (this.#stopped) {
        closeQuietly(slot.conn);
        slot.conn = undefined;
        return false;
      }
      return true;
    } catch (error) {
      if (!this.#stopped) this.#meter.error(classifyError(error));
      return false;
    }
  }

  /**
   * Sleep, woken early by {@linkcode LoadEngine.stop}.
   *
   * @param slot The sleeping connection.
   * @param ms How long.
   * @returns When done.
   */
  #sleep(slot: Slot, ms: number): Promise<void> {
    return new Promise((resolve) => {
      slot.wake = () => {
        slot.wake = undefined;
        slot.timer = undefined;
        resolve();
      };
      slot.timer = setTimeout(slot.wake, ms);
    });
  }

  /**
   * Slot `i`'s k-th intended send time: staggered so connections do not fire together.
   *
   * @param slot The connection.
   * @param interval Ms between its requests.
   * @returns The intended time (performance.now() clock).
   */
  #nextIntended(slot: Slot, interval: number): number {
    if (slot.next === undefined) {
      slot.next = this.#origin + (slot.index * interval) / this.#spec.connections;
    }
    const intended = slot.next;
    slot.next += interval;
    return intended;
  }

  async #loop(slot: Slot): Promise<void> {
    const spec = this.#spec;
    const echo = this.#protocol.protocol === "echo";
    if (spec.mode === "churn") {
      return echo ? await echoChurnLoop(this.#host, slot) : await replyChurnLoop(this.#host, slot);
    }
    while (!this.#isStopped()) {
      if (slot.conn === undefined) {
        if (!(await this.#open(slot))) {
          if (!this.#stopped) await this.#sleep(slot, CONNECT_BACKOFF_MS);
          continue;
        }
      }
      try {
        await this.#connLoop(slot, slot.conn!, echo);
      } catch (error) {
        this.#fail(slot, error);
        // A server that resets or closes every connection would otherwise be hammered.
        if (!this.#stopped) await this.#sleep(slot, FAILURE_BACKOFF_MS);
      }
    }
  }

  #connLoop(slot: Slot, conn: NetConn, echo: boolean): Promise<void> {
    if (!echo) return replyLoop(this.#host, slot, conn);
    return this.#spec.rate > 0
      ? echoOpenLoop(this.#host, slot, conn)
      : echoClosedLoop(this.#host, slot, conn);
  }
}
