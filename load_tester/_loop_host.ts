/**
 * What the per-connection loops (echo and request/reply) share with the engine that runs
 * them: the spec, the counters, the schedule and the failure handling.
 *
 * @module
 */

import { connectTcp, type Engine, type NetConn } from "@monkey/shared";
import type { EngineSpec } from "./engine_types.ts";
import { classifyError } from "./errors.ts";
import { recordMicros } from "./histogram.ts";
import type { Meter } from "./meter.ts";
import type { PayloadChecker } from "./payload.ts";
import type { ReplySession } from "./_reply_session.ts";

/** One connection's state. */
export interface Slot {
  /** Connection number. */
  index: number;
  /** The open connection, if any. */
  conn: NetConn | undefined;
  /** echo: the payload and its verification. */
  checker: PayloadChecker | undefined;
  /** Request/reply protocols: the client and its buffers. */
  session: ReplySession | undefined;
  /** performance.now() when the oldest request in flight was sent; 0 when idle. */
  since: number;
  /** The watchdog closed the connection because a request outlived the timeout. */
  timedOut: boolean;
  /** Pending sleep timer. */
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Open loop: the next intended send time. */
  next?: number;
  /** Ends the pending sleep early. */
  wake: (() => void) | undefined;
}

/** The engine as the loops see it. */
export interface LoopHost {
  /** What runs. */
  readonly spec: EngineSpec;
  /** The I/O engine connections use. */
  readonly io: Engine;
  /** Counters and histograms. */
  readonly meter: Meter;
  /** True once the run is over. */
  readonly stopped: boolean;
  /** Open loop: ms between one connection's requests; 0 in closed loop. */
  readonly interval: number;
  /** Sleep, woken early by stop(). */
  sleep(slot: Slot, ms: number): Promise<void>;
  /** Take the slot's next intended send time. */
  nextIntended(slot: Slot, interval: number): number;
  /** Count a failed connection (or nothing when stopped) and drop it. */
  fail(slot: Slot, error: unknown): void;
}

/** Pause after a failed connect before the next attempt. */
export const CONNECT_BACKOFF_MS = 100;
/** Pause after a connection failed mid-request, before reconnecting. */
export const FAILURE_BACKOFF_MS = 10;
/** Microseconds per millisecond. */
export const US_PER_MS = 1000;
/**
 * Open loop: a request may go out this many ms before its intended time. Timers here fire
 * 1-2 ms late, so sleeping to the exact time would add the timer's lateness to every latency;
 * instead the sleep ends early and latency counts from the earlier of intended and actual
 * send time. A connection is never more than this far ahead of its schedule, so the rate holds.
 */
export const SEND_AHEAD_MS = 2;

/**
 * Close without throwing when it is closed already.
 *
 * @param conn A connection.
 */
export function closeQuietly(conn: { close(): void }): void {
  try {
    conn.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.BadResource)) throw error;
  }
}

/**
 * Write all of `payload`.
 *
 * @param conn The connection.
 * @param payload Bytes.
 */
export async function writeAll(conn: NetConn, payload: Uint8Array): Promise<void> {
  let written = await conn.write(payload);
  while (written < payload.length) written += await conn.write(payload.subarray(written));
}

/** One churn round's connection, and when its request was intended, started and connected. */
export interface ChurnRound {
  /** The new connection (also in `slot.conn`). */
  conn: NetConn;
  /** The intended send time: the schedule's in open loop, else `start`. */
  intended: number;
  /** performance.now() when the connect began. */
  start: number;
  /** performance.now() when the connection was made. */
  connected: number;
}

/**
 * The start of one churn round: in open loop, wait for the slot's next intended send time;
 * then connect. A failed connect is counted and, in closed loop, backed off.
 *
 * @param host The engine.
 * @param slot The connection's state.
 * @returns The round; null to try again; undefined once the run has stopped.
 */
export async function churnConnect(
  host: LoopHost,
  slot: Slot,
): Promise<ChurnRound | null | undefined> {
  const interval = host.interval;
  let intended = 0;
  if (interval > 0) {
    intended = host.nextIntended(slot, interval);
    const wait = intended - performance.now();
    if (wait > SEND_AHEAD_MS) {
      await host.sleep(slot, wait - SEND_AHEAD_MS);
      if (host.stopped) return undefined;
    }
  }
  const start = performance.now();
  if (interval === 0 || start < intended) intended = start;
  // A local: the watchdog and stop() may clear slot.conn while the round awaits.
  let conn: NetConn;
  try {
    const timeoutMs = host.spec.timeout_secs * 1000;
    conn = slot.conn = await connectTcp(host.spec.target, { timeoutMs, engine: host.io });
  } catch (error) {
    if (host.stopped) return undefined;
    host.meter.error(classifyError(error));
    if (interval === 0) await host.sleep(slot, CONNECT_BACKOFF_MS);
    return null;
  }
  if (host.stopped) {
    closeQuietly(conn);
    slot.conn = undefined;
    return undefined;
  }
  return { conn, intended, start, connected: performance.now() };
}

/**
 * One churn round's requests and replies on its new connection (it may throw: the round then
 * counts as a failed connection).
 *
 * @param round The round.
 * @returns False when a reply was judged wrong (counted already): the round is not timed.
 */
export type ChurnExchange = (round: ChurnRound) => Promise<boolean>;

/**
 * Churn until the run stops: connect ({@linkcode churnConnect}), `exchange` on the new
 * connection, close; then `timed` and the connect time are recorded. A connection that fails
 * mid-round is counted and, in closed loop, backed off.
 *
 * @param host The engine.
 * @param slot The connection's state.
 * @param exchange One round's requests and replies.
 * @param timed After a good round's close: record what the protocol measures per round.
 */
export async function churnLoop(
  host: LoopHost,
  slot: Slot,
  exchange: ChurnExchange,
  timed?: (round: ChurnRound) => void,
): Promise<void> {
  const meter = host.meter;
  while (!host.stopped) {
    const round = await churnConnect(host, slot);
    if (round === undefined) return;
    if (round === null) continue;
    let good: boolean;
    try {
      slot.since = round.connected;
      good = await exchange(round);
      slot.since = 0;
      closeQuietly(round.conn);
      slot.conn = undefined;
    } catch (error) {
      host.fail(slot, error);
      if (host.interval === 0 && !host.stopped) await host.sleep(slot, FAILURE_BACKOFF_MS);
      continue;
    }
    if (!good) continue;
    timed?.(round);
    recordMicros(meter.connect!, (round.connected - round.start) * US_PER_MS);
  }
}
