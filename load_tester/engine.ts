/**
 * The load engine: one scenario's connections on this thread, in closed-loop ping-pong,
 * open loop (fixed rate, latency from the intended send time) or churn mode.
 *
 * The hot loop allocates nothing per request: one payload and one receive buffer per
 * connection, a word-wise comparison, and an HDR histogram with fixed memory.
 *
 * @module
 */

import {
  ConnectError,
  connectTcp,
  type Engine,
  type EngineChoice,
  type NetConn,
  resolveEngine,
} from "@monkey/shared";
import type { Mode } from "./config.ts";
import { classifyError, emptyErrorCounts, type ErrorCounts, type ErrorKind } from "./errors.ts";
import { createHistogram, type LatencyHistogram, recordMicros } from "./histogram.ts";
import { PayloadChecker, randomPayload } from "./payload.ts";

/** What one engine runs. */
export interface EngineSpec {
  /** Target `host:port`. */
  target: string;
  /** Load mode. */
  mode: Mode;
  /** Connections this engine opens. */
  connections: number;
  /** Bytes per request. */
  message_size: number;
  /** Measured seconds. */
  duration_secs: number;
  /** Unmeasured seconds first. */
  warmup_secs: number;
  /** Requests/s this engine sends in open loop; 0 = closed loop. */
  rate: number;
  /** Connect timeout, and the longest a request may wait for its echo, in seconds. */
  timeout_secs: number;
  /** I/O engine of the connections. @default "auto" */
  engine?: EngineChoice;
}

/** What an engine measured. */
export interface EngineResult {
  /** Requests completed and verified after the warmup. */
  requests: number;
  /** Errors after the warmup, by kind. */
  errors: ErrorCounts;
  /** Measured seconds (warmup end to stop). */
  duration_secs: number;
  /** Latency, µs. In open loop: from the intended send time. In churn: connect + exchange. */
  latency: LatencyHistogram;
  /** Open loop only: latency from the actual send time (what coordinated omission shows). */
  uncorrected: LatencyHistogram | undefined;
  /** Churn only: connect latency, µs. */
  connect: LatencyHistogram | undefined;
  /** Payload bytes sent in completed requests. */
  bytes_up: number;
  /** Payload bytes received in completed requests. */
  bytes_down: number;
}

/** A live view of a running engine, for progress lines and the metrics endpoint. */
export interface EngineSnapshot {
  /** Requests so far (after warmup). */
  requests: number;
  /** Errors so far, by kind. */
  errors: ErrorCounts;
  /** Seconds measured so far (0 during warmup). */
  elapsed_secs: number;
  /** True during warmup. */
  warming_up: boolean;
  /** Latency so far. */
  latency: LatencyHistogram;
}

class LoadError extends Error {
  readonly kind: ErrorKind;
  constructor(kind: ErrorKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

interface Slot {
  index: number;
  conn: NetConn | undefined;
  checker: PayloadChecker;
  /** performance.now() when the request in flight was sent; 0 when idle. */
  since: number;
  timedOut: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
  next?: number;
  wake: (() => void) | undefined;
}

/** Pause after a failed connect before the next attempt. */
const CONNECT_BACKOFF_MS = 100;
/** Pause after a connection failed mid-request, before reconnecting. */
const FAILURE_BACKOFF_MS = 10;
/** How often the watchdog looks for requests past the timeout. */
const WATCHDOG_MS = 50;
const US_PER_MS = 1000;
/**
 * Open loop: a request may go out this many ms before its intended time. Timers here fire
 * 1-2 ms late, so sleeping to the exact time would add the timer's lateness to every latency;
 * instead the sleep ends early and latency counts from the earlier of intended and actual
 * send time. A connection is never more than this far ahead of its schedule, so the rate holds.
 */
const SEND_AHEAD_MS = 2;

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
  readonly #latency = createHistogram();
  readonly #uncorrected: LatencyHistogram | undefined;
  readonly #connect: LatencyHistogram | undefined;
  #requests = 0;
  #errors = emptyErrorCounts();
  #stopped = false;
  #warmingUp = false;
  #measureStart = 0;
  #stopTime = 0;
  #slots: Slot[] = [];
  #origin = 0;

  /**
   * Prepare an engine; nothing connects until {@linkcode LoadEngine.run}.
   *
   * @param spec What to run.
   */
  constructor(spec: EngineSpec) {
    this.#spec = spec;
    this.#io = resolveEngine(spec.engine ?? "auto");
    this.#uncorrected = spec.rate > 0 ? createHistogram() : undefined;
    this.#connect = spec.mode === "churn" ? createHistogram() : undefined;
  }

  /**
   * Live counters.
   *
   * @returns Requests, errors, elapsed measured time and the latency histogram so far.
   */
  snapshot(): EngineSnapshot {
    const end = this.#stopTime > 0 ? this.#stopTime : performance.now();
    return {
      requests: this.#requests,
      errors: this.#errors,
      elapsed_secs: this.#warmingUp || this.#measureStart === 0
        ? 0
        : (end - this.#measureStart) / 1000,
      warming_up: this.#warmingUp,
      latency: this.#latency,
    };
  }

  /** Stop early (Ctrl+C): the run resolves with what was measured so far. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#stopTime = performance.now();
    for (const slot of this.#slots) {
      if (slot.conn !== undefined) closeQuietly(slot.conn);
      slot.conn = undefined;
      if (slot.timer !== undefined) clearTimeout(slot.timer);
      slot.timer = undefined;
      slot.wake?.();
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
    this.#slots = Array.from({ length: spec.connections }, (_, index) => ({
      index,
      conn: undefined,
      checker: new PayloadChecker(randomPayload(spec.message_size)),
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
    const measured = this.#measureStart === 0 || this.#warmingUp
      ? 0
      : Math.max(0, ((this.#stopTime || performance.now()) - this.#measureStart) / 1000);
    return {
      requests: this.#requests,
      errors: this.#errors,
      duration_secs: measured,
      latency: this.#latency,
      uncorrected: this.#uncorrected,
      connect: this.#connect,
      bytes_up: this.#requests * size,
      bytes_down: this.#requests * size,
    };
  }

  #endWarmup(): void {
    this.#latency.reset();
    this.#uncorrected?.reset();
    this.#connect?.reset();
    this.#requests = 0;
    this.#errors = emptyErrorCounts();
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

  #count(kind: ErrorKind): void {
    this.#errors[kind]++;
  }

  #fail(slot: Slot, error: unknown): void {
    if (slot.conn !== undefined) closeQuietly(slot.conn);
    slot.conn = undefined;
    slot.since = 0;
    if (this.#stopped) return;
    if (slot.timedOut) {
      slot.timedOut = false;
      this.#count("timeout");
      return;
    }
    this.#count(error instanceof LoadError ? error.kind : classifyError(error));
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
      if (!this.#stopped) this.#count(classifyError(error));
      return false;
    }
  }

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

  async #loop(slot: Slot): Promise<void> {
    const spec = this.#spec;
    if (spec.mode === "churn") return await this.#churnLoop(slot);
    while (!this.#stopped) {
      if (slot.conn === undefined) {
        if (!(await this.#open(slot))) {
          if (!this.#stopped) await this.#sleep(slot, CONNECT_BACKOFF_MS);
          continue;
        }
      }
      try {
        if (spec.rate > 0) await this.#openLoop(slot, slot.conn!);
        else await this.#closedLoop(slot, slot.conn!);
      } catch (error) {
        this.#fail(slot, error);
        // A server that resets or closes every connection would otherwise be hammered.
        if (!this.#stopped) await this.#sleep(slot, FAILURE_BACKOFF_MS);
      }
    }
  }

  /** Closed-loop ping-pong: the hot loop. */
  async #closedLoop(slot: Slot, conn: NetConn): Promise<void> {
    const checker = slot.checker;
    const payload = checker.payload;
    const received = checker.received;
    const size = payload.length;
    const latency = this.#latency;
    if (size > CONCURRENT_ABOVE) return await this.#openLoop(slot, conn, 0);
    while (!this.#stopped) {
      const sent = performance.now();
      slot.since = sent;
      // The exchange is inlined: one await per write and per read, no extra promise.
      let written = await conn.write(payload);
      while (written < size) written += await conn.write(payload.subarray(written));
      let got = await conn.read(received);
      if (got === null) throw new LoadError("short_read", "connection closed before the echo");
      while (got < size) {
        const n = await conn.read(received.subarray(got));
        if (n === null) throw new LoadError("short_read", `connection closed after ${got} bytes`);
        got += n;
      }
      slot.since = 0;
      if (!checker.matches()) {
        this.#count("mismatch");
        continue;
      }
      recordMicros(latency, (performance.now() - sent) * US_PER_MS);
      this.#requests++;
    }
  }

  /**
   * Open loop: requests at fixed intervals; latency from the intended send time. With
   * `interval` 0 it is a closed loop for large messages (no schedule).
   */
  async #openLoop(slot: Slot, conn: NetConn, interval = this.#intervalMs()): Promise<void> {
    const checker = slot.checker;
    const payload = checker.payload;
    const received = checker.received;
    const size = payload.length;
    const latency = this.#latency;
    const uncorrected = this.#uncorrected;
    while (!this.#stopped) {
      const intended = interval > 0 ? this.#nextIntended(slot, interval) : 0;
      const wait = intended - performance.now();
      if (interval > 0 && wait > SEND_AHEAD_MS) {
        await this.#sleep(slot, wait - SEND_AHEAD_MS);
        if (this.#stopped) return;
      }
      const sent = performance.now();
      slot.since = sent;
      await exchange(conn, payload, received, size);
      slot.since = 0;
      if (!checker.matches()) {
        this.#count("mismatch");
        continue;
      }
      const done = performance.now();
      recordMicros(
        latency,
        (done - (interval > 0 && intended < sent ? intended : sent)) * US_PER_MS,
      );
      if (uncorrected) recordMicros(uncorrected, (done - sent) * US_PER_MS);
      this.#requests++;
    }
  }

  #intervalMs(): number {
    return (this.#spec.connections / this.#spec.rate) * 1000;
  }

  /** Slot `i`'s k-th intended send time: staggered so connections do not fire together. */
  #nextIntended(slot: Slot, interval: number): number {
    if (slot.next === undefined) {
      slot.next = this.#origin + (slot.index * interval) / this.#spec.connections;
    }
    const intended = slot.next;
    slot.next += interval;
    return intended;
  }

  /**
   * Churn: connect, one exchange, close; open loop too when a rate is set. The client closes
   * first, so TIME_WAIT stays on this machine: long churn runs against a remote target need
   * `net.ipv4.tcp_tw_reuse` (on by default for loopback only) or a wide port range.
   */
  async #churnLoop(slot: Slot): Promise<void> {
    const spec = this.#spec;
    const checker = slot.checker;
    const payload = checker.payload;
    const received = checker.received;
    const size = payload.length;
    const timeoutMs = spec.timeout_secs * 1000;
    const interval = spec.rate > 0 ? this.#intervalMs() : 0;
    while (!this.#stopped) {
      let intended = 0;
      if (interval > 0) {
        intended = this.#nextIntended(slot, interval);
        const wait = intended - performance.now();
        if (wait > SEND_AHEAD_MS) {
          await this.#sleep(slot, wait - SEND_AHEAD_MS);
          if (this.#stopped) return;
        }
      }
      const start = performance.now();
      if (interval === 0 || start < intended) intended = start;
      try {
        slot.conn = await connectTcp(spec.target, { timeoutMs, engine: this.#io });
      } catch (error) {
        if (this.#stopped) return;
        this.#count(classifyError(error));
        if (error instanceof ConnectError && interval === 0) {
          await this.#sleep(slot, CONNECT_BACKOFF_MS);
        }
        continue;
      }
      if (this.#stopped) {
        closeQuietly(slot.conn);
        slot.conn = undefined;
        return;
      }
      const connected = performance.now();
      try {
        slot.since = connected;
        await exchange(slot.conn, payload, received, size);
        slot.since = 0;
        closeQuietly(slot.conn);
        slot.conn = undefined;
        if (!checker.matches()) {
          this.#count("mismatch");
          continue;
        }
      } catch (error) {
        this.#fail(slot, error);
        if (interval === 0 && !this.#stopped) await this.#sleep(slot, FAILURE_BACKOFF_MS);
        continue;
      }
      const done = performance.now();
      recordMicros(this.#connect!, (connected - start) * US_PER_MS);
      recordMicros(this.#latency, (done - intended) * US_PER_MS);
      if (this.#uncorrected) recordMicros(this.#uncorrected, (done - start) * US_PER_MS);
      this.#requests++;
    }
  }
}

/**
 * Messages above this are written and read concurrently: written first, a message larger than
 * the socket buffers would deadlock against an echo server blocked on its own write.
 */
const CONCURRENT_ABOVE = 256 * 1024;

/** Write the payload, read exactly its length back. */
async function exchange(
  conn: NetConn,
  payload: Uint8Array,
  received: Uint8Array,
  size: number,
): Promise<void> {
  if (size > CONCURRENT_ABOVE) {
    await Promise.all([writeAll(conn, payload), readFull(conn, received, size)]);
    return;
  }
  await writeAll(conn, payload);
  await readFull(conn, received, size);
}

async function writeAll(conn: NetConn, payload: Uint8Array): Promise<void> {
  let written = await conn.write(payload);
  while (written < payload.length) written += await conn.write(payload.subarray(written));
}

async function readFull(conn: NetConn, received: Uint8Array, size: number): Promise<void> {
  let got = await conn.read(received);
  if (got === null) throw new LoadError("short_read", "connection closed before the echo");
  while (got < size) {
    const n = await conn.read(received.subarray(got));
    if (n === null) {
      throw new LoadError("short_read", `connection closed after ${got} of ${size} bytes`);
    }
    got += n;
  }
}

function closeQuietly(conn: { close(): void }): void {
  try {
    conn.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.BadResource)) throw error;
  }
}
