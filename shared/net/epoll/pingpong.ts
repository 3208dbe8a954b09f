/**
 * {@linkcode epollPingPong}: a client's closed loop (send a message, read its reply, again)
 * run synchronously inside the epoll loop, no promise per message: the load tester's hot path
 * on the epoll engine.
 *
 * @module
 */

import { clockMs, EPOLLIN, EPOLLOUT, libc, READY_IN, READY_OUT, SEND_FLAGS } from "./_libc.ts";
import type { Delegate, FdHandle } from "./_handle.ts";
import { type EpollConn, handleOf } from "./conn.ts";
import { LoopSession } from "./_session.ts";
import { closeQuietly, type EpollEnd, noDelay } from "./relay.ts";

/** Options for {@linkcode epollPingPong}. */
export interface EpollPingPongOptions {
  /** Sent at the start of every round. */
  payload: Uint8Array;
  /** Where each reply is read: at least `replySize` bytes; room past it shows extra bytes. */
  room: Uint8Array;
  /** Bytes of one reply. */
  replySize: number;
  /**
   * Called in the loop once a round's reply is in `room` (`got` bytes: `replySize`, or more
   * when the peer sent more) at time `at` (ms, the clock of `performance.now()`, read at a
   * third of its cost); true starts the next round at once, false ends with "done".
   */
  onReply(got: number, at: number): boolean;
  /** Aborting closes the connection at once ("aborted"). */
  signal?: AbortSignal;
}

/** What {@linkcode epollPingPong} resolves to. */
export interface EpollPingPongResult {
  /** Why it ended: "done" when `onReply` said stop; "error" with `UnexpectedEof` on a close. */
  reason: EpollEnd;
  /** The error, when `reason` is "error". */
  error?: unknown;
}

class PingPong extends LoopSession<EpollPingPongResult> implements Delegate {
  #conn: EpollConn;
  #h: FdHandle;
  #options: EpollPingPongOptions;
  /** Bytes of the payload sent this round. */
  #sent = 0;
  /** Bytes of the reply read this round. */
  #got = 0;

  constructor(conn: EpollConn, options: EpollPingPongOptions) {
    const h = handleOf(conn);
    super(h.loop, options);
    this.#conn = conn;
    this.#h = h;
    this.#options = options;
  }

  protected closedAlready(): boolean {
    return this.#h.closed;
  }

  protected start(): void {
    noDelay(this.#conn);
    this.#h.delegateTo(this, 0);
    this.#send();
  }

  protected close(): void {
    closeQuietly(this.#conn);
  }

  protected result(reason: EpollEnd): EpollPingPongResult {
    return { reason };
  }

  onEvents(_side: number, events: number): void {
    if (this.#sent < this.#options.payload.length) {
      if ((events & READY_OUT) !== 0) this.#send();
    } else if ((events & READY_IN) !== 0) this.#read();
  }

  /** Closed from outside (the load tester's stop or timeout): end as aborted. */
  onClosed(): void {
    this.finish("aborted");
  }

  /** Send the rest of this round's message; then wait for the reply. */
  #send(): void {
    const payload = this.#options.payload;
    const fd = this.#h.fd;
    const left = payload.length - this.#sent;
    const w = libc().send(
      fd,
      this.#sent === 0 ? payload : payload.subarray(this.#sent),
      left,
      SEND_FLAGS,
    );
    if (w < 0) {
      this.failUnlessAgain();
      return this.watchOnly(this.#h, EPOLLOUT);
    }
    this.#sent += w;
    this.watchOnly(this.#h, this.#sent < payload.length ? EPOLLOUT : EPOLLIN);
  }

  #read(): void {
    const { room, replySize } = this.#options;
    const fd = this.#h.fd;
    const got = this.#got;
    const n = got === 0
      ? libc().read(fd, room, room.length)
      : libc().read(fd, room.subarray(got), room.length - got);
    if (n < 0) return this.failUnlessAgain();
    if (n === 0) {
      const error = new Deno.errors.UnexpectedEof(
        got === 0 ? "connection closed before the reply" : `connection closed after ${got} bytes`,
      );
      return this.finish("error", error);
    }
    this.#got = got + n;
    if (this.#got < replySize) return;
    const at = clockMs();
    this.last = at;
    const more = this.#options.onReply(this.#got, at);
    if (this.done) return;
    if (!more) return this.finish("done");
    this.#got = 0;
    this.#sent = 0;
    this.#send();
  }
}

/**
 * Run rounds of send-`payload`, read-`replySize`-bytes inside the epoll loop, calling
 * `onReply` after each, until it returns false ("done"), the peer closes ("error" with
 * `Deno.errors.UnexpectedEof`) or resets ("reset"), or the connection is aborted or closed
 * from outside ("aborted"). Closes the connection at the end; never rejects.
 *
 * @param conn A connected epoll connection.
 * @param options Message, reply room and size, the per-reply callback, abort signal.
 * @returns Why it ended.
 * @example
 * ```ts
 * const conn = await epollConnect({ hostname: "127.0.0.1", port: 8081 });
 * const payload = new Uint8Array(1024);
 * let rounds = 0;
 * await epollPingPong(conn, {
 *   payload,
 *   room: new Uint8Array(1025),
 *   replySize: 1024,
 *   onReply: () => ++rounds < 100,
 * });
 * ```
 */
export function epollPingPong(
  conn: EpollConn,
  options: EpollPingPongOptions,
): Promise<EpollPingPongResult> {
  const session = new PingPong(conn, options);
  session.begin();
  return session.promise;
}
