/**
 * {@linkcode epollEcho}: the echo server's data path, run synchronously inside the epoll loop.
 *
 * @module
 */

import {
  EPOLLIN,
  EPOLLOUT,
  errno,
  libc,
  READY_IN,
  READY_OUT,
  SEND_FLAGS,
  SHUT_WR,
} from "./_libc.ts";
import { EAGAIN, EINTR } from "./_errors.ts";
import type { Delegate, FdHandle } from "./_handle.ts";
import { type EpollConn, handleOf } from "./conn.ts";
import { LoopSession } from "./_session.ts";
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

class Echo extends LoopSession<EpollEchoResult> implements Delegate {
  #conn: EpollConn;
  #h: FdHandle;
  #pending: Uint8Array | null = null;
  #eof = false;
  #stats: EpollStats;

  constructor(conn: EpollConn, options: EpollEchoOptions) {
    const h = handleOf(conn);
    super(h.loop, options);
    this.#conn = conn;
    this.#h = h;
    this.#stats = options.stats ?? { up: 0, down: 0 };
  }

  protected closedAlready(): boolean {
    return this.#h.closed;
  }

  protected start(): void {
    noDelay(this.#conn);
    this.#h.delegateTo(this, 0);
    this.#h.setMask(EPOLLIN);
  }

  protected close(): void {
    closeQuietly(this.#conn);
  }

  protected result(reason: EpollEnd): EpollEchoResult {
    return { reason };
  }

  onEvents(_side: number, events: number): void {
    if ((events & READY_OUT) !== 0 && this.#pending !== null) this.#flush();
    if (this.done) return;
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
        if (code !== EAGAIN && code !== EINTR) return this.fail(code);
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
    if (code !== EAGAIN && code !== EINTR) this.fail(code);
  }

  #flush(): void {
    const pending = this.#pending!;
    const w = libc().send(this.#h.fd, pending, pending.length, SEND_FLAGS);
    if (w < 0) {
      const code = errno();
      if (code !== EAGAIN && code !== EINTR) this.fail(code);
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
    if (!this.#eof || this.#pending !== null || this.done) return;
    if (libc().shutdown(this.#h.fd, SHUT_WR) < 0) return this.fail(errno());
    this.finish("done");
  }

  #mask(): void {
    if (this.done) return;
    const mask = this.#pending !== null ? EPOLLOUT : this.#eof ? 0 : EPOLLIN;
    try {
      this.#h.setMask(mask);
    } catch (error) {
      this.finish("error", error);
    }
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
