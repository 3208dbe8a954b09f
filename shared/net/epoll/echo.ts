/**
 * {@linkcode epollEcho}: the echo server's data path, run synchronously inside the epoll loop.
 *
 * @module
 */

import {
  EPOLLERR,
  EPOLLHUP,
  EPOLLIN,
  EPOLLOUT,
  errno,
  libc,
  SEND_FLAGS,
  SHUT_WR,
} from "./_libc.ts";
import { EAGAIN, EINTR, isPeerGone, osError } from "./_errors.ts";
import type { Delegate, FdHandle } from "./_handle.ts";
import type { IdleWatch } from "./_loop.ts";
import { type Abortable, unwatchAbort, watchAbort } from "./_abort.ts";
import { type EpollConn, handleOf } from "./conn.ts";
import { closeQuietly, type EpollEnd, type EpollStats, noDelay } from "./relay.ts";

/** Options for {@linkcode epollEcho}. */
export interface EpollEchoOptions {
  /** Close after this many ms without a byte; 0 disables. @default 0 */
  idleTimeoutMs?: number;
  /** `up` counts the bytes echoed. @default a new object */
  stats?: EpollStats;
  /** Aborting closes the connection at once. */
  signal?: AbortSignal;
}

/** What {@linkcode epollEcho} resolves to. */
export interface EpollEchoResult {
  /** Why it ended. */
  reason: EpollEnd;
  /** The error, when `reason` is "error". */
  error?: unknown;
}

const READY_IN = EPOLLIN | EPOLLERR | EPOLLHUP;
const READY_OUT = EPOLLOUT | EPOLLERR | EPOLLHUP;

class Echo implements Delegate, IdleWatch, Abortable {
  last: number;
  readonly idleMs: number;
  #conn: EpollConn;
  #h: FdHandle;
  #pending: Uint8Array | null = null;
  #eof = false;
  #done = false;
  #stats: EpollStats;
  #signal: AbortSignal | undefined;
  #resolve: (result: EpollEchoResult) => void;
  readonly promise: Promise<EpollEchoResult>;

  constructor(conn: EpollConn, options: EpollEchoOptions) {
    this.#conn = conn;
    this.#h = handleOf(conn);
    this.#stats = options.stats ?? { up: 0, down: 0 };
    this.idleMs = options.idleTimeoutMs ?? 0;
    this.last = performance.now(); // not loop.now: the last batch may be long ago
    this.#signal = options.signal;
    const { promise, resolve } = Promise.withResolvers<EpollEchoResult>();
    this.promise = promise;
    this.#resolve = resolve;
  }

  begin(): void {
    if (this.#h.closed) return this.#finish("error", osError(9));
    if (this.#signal?.aborted) return this.#finish("aborted");
    noDelay(this.#conn);
    if (this.#signal !== undefined) watchAbort(this.#signal, this);
    this.#h.delegateTo(this, 0);
    this.#mask();
    if (this.idleMs > 0) this.#h.loop.addIdle(this);
  }

  onAbort(): void {
    this.#finish("aborted");
  }

  onIdle(): void {
    this.#finish("idle_timeout");
  }

  onEvents(_side: number, events: number): void {
    if ((events & READY_OUT) !== 0 && this.#pending !== null) this.#flush();
    if (this.#done) return;
    if ((events & READY_IN) !== 0 && !this.#eof && this.#pending === null) this.#pump();
  }

  #pump(): void {
    const lib = libc();
    const h = this.#h;
    const buffer = h.loop.buffer;
    const n = lib.read(h.fd, buffer, buffer.length);
    if (n > 0) {
      this.#stats.up += n;
      this.last = h.loop.now;
      const w = lib.send(h.fd, buffer, n, SEND_FLAGS);
      if (w === n) return;
      if (w < 0) {
        const code = errno();
        if (code !== EAGAIN && code !== EINTR) return this.#fail(code);
        this.#pending = buffer.slice(0, n);
      } else {
        this.#pending = buffer.slice(w, n);
      }
      this.#mask();
      return;
    }
    if (n === 0) {
      this.#eof = true;
      this.#mask();
      this.#endIfFlushed();
      return;
    }
    const code = errno();
    if (code !== EAGAIN && code !== EINTR) this.#fail(code);
  }

  #flush(): void {
    const pending = this.#pending!;
    const w = libc().send(this.#h.fd, pending, pending.length, SEND_FLAGS);
    if (w < 0) {
      const code = errno();
      if (code !== EAGAIN && code !== EINTR) this.#fail(code);
      return;
    }
    this.last = this.#h.loop.now;
    if (w < pending.length) {
      this.#pending = pending.subarray(w);
      return;
    }
    this.#pending = null;
    this.#mask();
    this.#endIfFlushed();
  }

  #endIfFlushed(): void {
    if (!this.#eof || this.#pending !== null || this.#done) return;
    if (libc().shutdown(this.#h.fd, SHUT_WR) < 0) return this.#fail(errno());
    this.#finish("done");
  }

  #mask(): void {
    if (this.#done) return;
    const mask = this.#pending !== null ? EPOLLOUT : this.#eof ? 0 : EPOLLIN;
    try {
      this.#h.setMask(mask);
    } catch (error) {
      this.#finish("error", error);
    }
  }

  #fail(code: number): void {
    if (isPeerGone(code)) this.#finish("reset");
    else this.#finish("error", osError(code));
  }

  #finish(reason: EpollEnd, error?: unknown): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#signal !== undefined) unwatchAbort(this.#signal, this);
    if (this.idleMs > 0) this.#h.loop.removeIdle(this);
    closeQuietly(this.#conn);
    const result: EpollEchoResult = { reason };
    if (error !== undefined) result.error = error;
    this.#resolve(result);
  }
}

/**
 * Echo every byte back inside the epoll loop (counted in `stats.up`), with the relay's
 * backpressure rule; on the client's FIN, flush, shut down writing and close. Closes the fd at
 * the end; never rejects.
 *
 * @param conn An accepted connection.
 * @param options Idle timeout, counters and abort signal.
 * @returns Why it ended.
 * @example
 * ```ts
 * const listener = epollListen({ hostname: "127.0.0.1", port: 0 });
 * const conn = await listener.accept();
 * const { reason } = await epollEcho(conn, { idleTimeoutMs: 60_000 });
 * ```
 */
export function epollEcho(
  conn: EpollConn,
  options: EpollEchoOptions = {},
): Promise<EpollEchoResult> {
  const echo = new Echo(conn, options);
  echo.begin();
  return echo.promise;
}
