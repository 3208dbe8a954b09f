/**
 * Request/reply protocols (redis, http, raw) on one connection: up to `pipeline` requests in
 * flight, rendered into one reused buffer per batch; replies parsed from one reused receive
 * buffer, each matched to its request in order (latency per request).
 *
 * @module
 */

import type { NetConn } from "@monkey/shared";
import { LoadError } from "./errors.ts";
import { recordMicros } from "./histogram.ts";
import { ByteBuffer, createClient, type ProtocolClient } from "./protocols/mod.ts";
import {
  churnLoop,
  closeQuietly,
  type LoopHost,
  SEND_AHEAD_MS,
  type Slot,
  US_PER_MS,
  writeAll,
} from "./_loop_host.ts";

const INITIAL_RECEIVE = 16 * 1024;
/** Read only when at least this much room is free (else compact or grow first). */
const MIN_READ_ROOM = 4096;
/** Marks the first send's reply in the in-flight ring. */
const FIRST_SEND = -1;

/** One connection's protocol client, buffers and in-flight requests. */
export class ReplySession {
  /** The protocol client. */
  readonly client: ProtocolClient;
  /** Outgoing batch. */
  readonly out = new ByteBuffer();
  /** Receive buffer and the unparsed range in it. */
  buf = new Uint8Array(INITIAL_RECEIVE);
  /** Start of unparsed bytes. */
  start = 0;
  /** End of received bytes. */
  end = 0;
  /** In flight: intended send time (open loop), actual send time, mix index. */
  readonly #intended: Float64Array;
  readonly #sent: Float64Array;
  readonly #mix: Int32Array;
  #head = 0;
  /** Requests in flight (the first send included). */
  inflight = 0;
  /** Request number on this connection. */
  seq = 0;
  /** Open loop: an intended time taken from the schedule but not yet sent. */
  pending: number | undefined;
  /** The server asked to close (or closed) the connection at a reply boundary. */
  closing = false;
  /** When the last {@linkcode ReplySession.drain} judged its first reply (0: none). */
  drainedAt = 0;
  readonly #ctx = { conn: 0, seq: 0 };

  /**
   * A session for one connection slot.
   *
   * @param host The engine (its spec names the protocol and pipeline).
   * @param conn Connection number, for `{{conn}}`.
   */
  constructor(host: LoopHost, conn: number) {
    const protocol = host.spec.protocol!;
    this.client = createClient(protocol);
    const depth = protocol.pipeline + 1;
    this.#intended = new Float64Array(depth);
    this.#sent = new Float64Array(depth);
    this.#mix = new Int32Array(depth);
    this.#ctx.conn = conn;
  }

  /** Forget the previous connection's state. */
  reset(): void {
    this.start = 0;
    this.end = 0;
    this.#head = 0;
    this.inflight = 0;
    this.seq = 0;
    this.closing = false;
  }

  #push(intended: number, sent: number, mix: number): void {
    const depth = this.#sent.length;
    const at = (this.#head + this.inflight) % depth;
    this.#intended[at] = intended;
    this.#sent[at] = sent;
    this.#mix[at] = mix;
    this.inflight++;
  }

  /** The oldest in-flight request's send time, or 0. */
  oldest(): number {
    return this.inflight > 0 ? this.#sent[this.#head]! : 0;
  }

  /**
   * Render the first send (if any) and up to `count` requests into one batch and count them
   * in flight; {@linkcode ReplySession.flush} writes it.
   *
   * @param count Requests.
   * @param intended Their intended send time (open loop), or 0.
   * @param first Include the first send.
   * @param sent Their send time (a clock read just taken, to save one).
   */
  render(count: number, intended: number, first: boolean, sent = performance.now()): void {
    const out = this.out;
    out.reset();
    const ctx = this.#ctx;
    if (first) {
      const bytes = this.client.firstSend(ctx);
      if (bytes !== undefined) {
        out.push(bytes);
        this.#push(sent, sent, FIRST_SEND);
      }
    }
    for (let i = 0; i < count; i++) {
      ctx.seq = this.seq++;
      this.#push(
        intended > 0 && intended < sent ? intended : sent,
        sent,
        this.client.write(out, ctx),
      );
    }
  }

  /**
   * Write the rendered batch.
   *
   * @param conn The connection.
   */
  async flush(conn: NetConn): Promise<void> {
    if (this.out.length > 0) await writeAll(conn, this.out.view());
  }

  /**
   * Read until at least one reply is judged (or the connection closes at a reply boundary).
   *
   * @param host The engine.
   * @param conn The connection.
   * @throws {LoadError} On a short read or a reply that cannot be parsed.
   */
  async receive(host: LoopHost, conn: NetConn): Promise<void> {
    while (this.drain(host) === 0 && !this.closing) {
      const n = await conn.read(this.room());
      if (!this.received(host, n)) return;
    }
  }

  /**
   * Where the next read goes (compacting or growing the buffer when little room is left).
   *
   * @returns A view of the free part of the receive buffer.
   */
  room(): Uint8Array {
    if (this.start === this.end) this.start = this.end = 0;
    if (this.buf.length - this.end < MIN_READ_ROOM) this.#makeRoom();
    return this.buf.subarray(this.end);
  }

  /**
   * Account for a read into {@linkcode ReplySession.room}.
   *
   * @param host The engine.
   * @param n What the read returned.
   * @returns False when the connection closed between replies (http: reconnect).
   * @throws {LoadError} When it closed with a reply missing.
   */
  received(host: LoopHost, n: number | null): boolean {
    if (n !== null) {
      this.end += n;
      return true;
    }
    if (this.start === this.end && host.spec.protocol!.protocol === "http") {
      // A keep-alive connection closed between responses: reconnect.
      this.closing = true;
      return false;
    }
    throw new LoadError(
      "short_read",
      `connection closed with ${this.inflight} request(s) in flight and ${
        this.end - this.start
      } byte(s) of a reply`,
    );
  }

  #makeRoom(): void {
    const used = this.end - this.start;
    if (this.start > 0 && this.buf.length - used >= MIN_READ_ROOM) {
      this.buf.copyWithin(0, this.start, this.end);
    } else {
      const grown = new Uint8Array(this.buf.length * 2);
      grown.set(this.buf.subarray(this.start, this.end));
      this.buf = grown;
    }
    this.start = 0;
    this.end = used;
  }

  /**
   * Judge every complete reply buffered.
   *
   * @param host The engine (its counters).
   * @returns How many replies were judged.
   */
  drain(host: LoopHost): number {
    const client = this.client;
    const meter = host.meter;
    const depth = this.#sent.length;
    let judged = 0;
    // One clock read per drain: every reply judged here arrived by the read before it.
    let done = 0;
    while (this.inflight > 0 && this.start < this.end) {
      const head = this.#head;
      const mix = this.#mix[head]!;
      const after = client.parse(this.buf, this.start, this.end, mix);
      if (after < 0) break;
      if (judged === 0) done = this.drainedAt = performance.now();
      this.start = after;
      this.#head = (head + 1) % depth;
      this.inflight--;
      judged++;
      if (client.status > 0) meter.codes[client.status]!++;
      if (client.error !== undefined) meter.error(client.error, client.sample);
      else if (mix !== FIRST_SEND) {
        recordMicros(meter.latency, (done - this.#intended[head]!) * US_PER_MS);
        if (meter.uncorrected) {
          recordMicros(meter.uncorrected, (done - this.#sent[head]!) * US_PER_MS);
        }
        meter.mix[mix]!++;
        meter.requests++;
      }
      if (client.close) {
        this.closing = true;
        break;
      }
    }
    return judged;
  }
}

function session(host: LoopHost, slot: Slot): ReplySession {
  return (slot.session ??= new ReplySession(host, slot.index));
}

/**
 * Closed or open loop on one connection, `pipeline` requests in flight, until the run stops
 * or the server closes the keep-alive connection (then the connection is dropped and counted
 * as a reconnect; the caller opens a new one).
 *
 * In open loop a request due while every pipeline slot waits for a reply goes out with the
 * next reply; its latency still counts from its intended send time.
 *
 * @param host The engine.
 * @param slot The connection's state.
 * @param conn The connection.
 */
export async function replyLoop(host: LoopHost, slot: Slot, conn: NetConn): Promise<void> {
  const s = session(host, slot);
  s.reset();
  const depth = host.spec.protocol!.pipeline;
  const interval = host.interval;
  let first = true;
  // A clock read taken since the last await (the last drain's), reused as the send time.
  let clock = 0;
  while (!host.stopped) {
    let count = depth - s.inflight;
    let intended = 0;
    if (interval > 0) {
      // Send only what is due; sleep when nothing is in flight and nothing is due.
      s.pending ??= host.nextIntended(slot, interval);
      const wait = s.pending - performance.now();
      if (wait > SEND_AHEAD_MS || count === 0) {
        if (s.inflight === 0 && !first) {
          await host.sleep(slot, wait - SEND_AHEAD_MS);
          clock = 0;
          continue;
        }
        count = 0;
      } else {
        intended = s.pending;
        s.pending = undefined;
        count = 1;
      }
    }
    if (count > 0 || first) {
      s.render(count, intended, first, clock > 0 ? clock : performance.now());
      first = false;
      clock = 0;
      // In flight from now on (the watchdog and the end-of-run count see them during the write).
      slot.since = s.oldest();
      // Written and read inline (no helper promise per request): this is the hot loop.
      const batch = s.out.view();
      let written = batch.length > 0 ? await conn.write(batch) : 0;
      while (written < batch.length) written += await conn.write(batch.subarray(written));
    }
    if (s.inflight === 0) continue;
    s.drainedAt = 0;
    while (s.drain(host) === 0 && !s.closing) {
      if (!s.received(host, await conn.read(s.room()))) break;
    }
    clock = s.drainedAt;
    slot.since = s.oldest();
    if (s.closing) {
      host.meter.reconnects++;
      closeQuietly(conn);
      slot.conn = undefined;
      slot.since = 0;
      return;
    }
  }
}

/**
 * Churn: connect, the first send and `pipeline` requests, their replies, close.
 *
 * @param host The engine.
 * @param slot The connection's state.
 */
export async function replyChurnLoop(host: LoopHost, slot: Slot): Promise<void> {
  const s = session(host, slot);
  const depth = host.spec.protocol!.pipeline;
  await churnLoop(host, slot, async ({ conn, intended }) => {
    s.reset();
    s.render(depth, intended, true);
    await s.flush(conn);
    while (s.inflight > 0 && !s.closing) await s.receive(host, conn);
    return true;
  });
}
