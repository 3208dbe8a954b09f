/**
 * The echo protocol's loops: write a random payload, read the same number of bytes back and
 * verify every byte. The hot loop allocates nothing per request: one payload and one receive
 * buffer per connection and a word-wise comparison.
 *
 * @module
 */

import { EpollConn, epollPingPong, type NetConn } from "@monkey/shared";
import { LoadError } from "../errors.ts";
import { recordMicros } from "../histogram.ts";
import type { PayloadChecker } from "../payload.ts";
import {
  churnLoop,
  type LoopHost,
  SEND_AHEAD_MS,
  type Slot,
  US_PER_MS,
  writeAll,
} from "../_loop_host.ts";

/**
 * Messages above this are written and read concurrently: written first, a message larger than
 * the socket buffers would deadlock against an echo server blocked on its own write.
 */
const CONCURRENT_ABOVE = 256 * 1024;

/**
 * Closed-loop ping-pong on one connection until the run stops (the hot loop).
 *
 * @param host The engine.
 * @param slot The connection's state.
 * @param conn The connection.
 */
export async function echoClosedLoop(host: LoopHost, slot: Slot, conn: NetConn): Promise<void> {
  const checker = slot.checker!;
  const payload = checker.payload;
  const room = checker.room;
  const size = payload.length;
  const meter = host.meter;
  if (size > CONCURRENT_ABOVE) return await echoOpenLoop(host, slot, conn, 0);
  if (conn instanceof EpollConn) return await epollClosedLoop(host, slot, conn);
  // One clock read per request: a reply's arrival time is the next request's send time.
  let sent = performance.now();
  while (!host.stopped) {
    slot.since = sent;
    // The exchange is inlined: one await per write and per read, no extra promise.
    let written = await conn.write(payload);
    while (written < size) written += await conn.write(payload.subarray(written));
    let got = await conn.read(room);
    if (got === null) throw new LoadError("short_read", "connection closed before the echo");
    while (got < size) {
      const n = await conn.read(room.subarray(got));
      if (n === null) throw new LoadError("short_read", `connection closed after ${got} bytes`);
      got += n;
    }
    slot.since = 0;
    const done = performance.now();
    countReply(meter, checker, got, done - sent);
    sent = done;
  }
}

/** Count one round: a mismatch (a changed byte, or bytes past the echo), or a request. */
function countReply(
  meter: LoopHost["meter"],
  checker: PayloadChecker,
  got: number,
  elapsedMs: number,
): void {
  if (got > checker.payload.length || !checker.matches()) meter.error("mismatch");
  else {
    recordMicros(meter.latency, elapsedMs * US_PER_MS);
    meter.requests++;
  }
}

/**
 * The closed loop on the epoll engine: the same rounds, run inside the epoll loop with no
 * promise per message ({@linkcode epollPingPong}); throws as the promise version would.
 */
async function epollClosedLoop(host: LoopHost, slot: Slot, conn: EpollConn): Promise<void> {
  const checker = slot.checker!;
  const meter = host.meter;
  let sent = performance.now();
  slot.since = sent;
  const { reason, error } = await epollPingPong(conn, {
    payload: checker.payload,
    room: checker.room,
    replySize: checker.payload.length,
    onReply(got, done) {
      countReply(meter, checker, got, done - sent);
      sent = done;
      const more = !host.stopped;
      slot.since = more ? done : 0;
      return more;
    },
  });
  slot.since = 0;
  if (reason === "done") return;
  if (reason === "reset") throw new Deno.errors.ConnectionReset("connection reset by the peer");
  // Closed by the run's stop or its timeout watchdog, as a pending read would reject.
  if (reason === "aborted") throw new Deno.errors.BadResource("connection closed");
  throw error;
}

/**
 * Open loop: requests at fixed intervals; latency from the intended send time. With
 * `interval` 0 it is a closed loop for large messages (no schedule).
 *
 * @param host The engine.
 * @param slot The connection's state.
 * @param conn The connection.
 * @param interval Ms between this connection's requests.
 */
export async function echoOpenLoop(
  host: LoopHost,
  slot: Slot,
  conn: NetConn,
  interval = host.interval,
): Promise<void> {
  const checker = slot.checker!;
  const meter = host.meter;
  const latency = meter.latency;
  const uncorrected = meter.uncorrected;
  while (!host.stopped) {
    const intended = interval > 0 ? host.nextIntended(slot, interval) : 0;
    const wait = intended - performance.now();
    if (interval > 0 && wait > SEND_AHEAD_MS) {
      await host.sleep(slot, wait - SEND_AHEAD_MS);
      if (host.stopped) return;
    }
    const sent = performance.now();
    slot.since = sent;
    const good = await exchangeMatches(conn, checker);
    slot.since = 0;
    if (!good) {
      meter.error("mismatch");
      continue;
    }
    const done = performance.now();
    recordMicros(latency, (done - (interval > 0 && intended < sent ? intended : sent)) * US_PER_MS);
    if (uncorrected) recordMicros(uncorrected, (done - sent) * US_PER_MS);
    meter.requests++;
  }
}

/**
 * Churn: connect, one exchange, close; open loop too when a rate is set. The client closes
 * first, so TIME_WAIT stays on this machine: long churn runs against a remote target need
 * `net.ipv4.tcp_tw_reuse` (on by default for loopback only) or a wide port range.
 *
 * @param host The engine.
 * @param slot The connection's state.
 */
export async function echoChurnLoop(host: LoopHost, slot: Slot): Promise<void> {
  const checker = slot.checker!;
  const meter = host.meter;
  await churnLoop(host, slot, async ({ conn }) => {
    if (await exchangeMatches(conn, checker)) return true;
    meter.error("mismatch");
    return false;
  }, ({ intended, start }) => {
    const done = performance.now();
    recordMicros(meter.latency, (done - intended) * US_PER_MS);
    if (meter.uncorrected) recordMicros(meter.uncorrected, (done - start) * US_PER_MS);
    meter.requests++;
  });
}

/**
 * Write the checker's payload, read at least its length back into its room (one byte longer)
 * and verify it.
 *
 * @returns True when exactly the payload came back: false on a changed byte, or a byte sent
 * past the echo.
 */
async function exchangeMatches(conn: NetConn, checker: PayloadChecker): Promise<boolean> {
  const payload = checker.payload;
  const size = payload.length;
  let got: number;
  if (size > CONCURRENT_ABOVE) {
    [, got] = await Promise.all([writeAll(conn, payload), readFull(conn, checker.room, size)]);
  } else {
    await writeAll(conn, payload);
    got = await readFull(conn, checker.room, size);
  }
  return got <= size && checker.matches();
}

async function readFull(conn: NetConn, room: Uint8Array, size: number): Promise<number> {
  let got = await conn.read(room);
  if (got === null) throw new LoadError("short_read", "connection closed before the echo");
  while (got < size) {
    const n = await conn.read(room.subarray(got));
    if (n === null) {
      throw new LoadError("short_read", `connection closed after ${got} of ${size} bytes`);
    }
    got += n;
  }
  return got;
}
