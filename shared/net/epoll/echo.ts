/**
 * {@linkcode epollEcho}: the echo server's data path, run synchronously inside the epoll loop.
 *
 * @module
 */

import { EPOLLIN, EPOLLOUT, libc, READY_IN, READY_OUT } from "./_libc.ts";
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
    const h = this.#h;
    const buffer = h.loop.buffer;
    const n = libc().read(h.fd, buffer, buffer.length);
    if (n > 0) {
      this.#stats.up += n;
      this.last = h.loop.now;
      this.#pending = this.sendRead(h.fd, buffer, n);
      if (this.#pending !== null) this.#mask();
      return;
    }
    if (n === 0) {
      this.#eof = true;
      this.#mask();
      this.#endIfFlushed();
      return;
    }
    this.failUnlessAgain();
  }

  #flush(): void {
    this.#pending = this.sendPending(this.#h.fd, this.#pending!);
    if (this.#pending !== null) return;
    this.#mask();
    this.#endIfFlushed();
  }

  #endIfFlushed(): void {
    if (!this.#eof || this.#pending !== null || this.done) return;
    if (this.shutdownWrite(this.#h.fd)) this.finish("done");
  }

  #mask(): void {
    this.watchOnly(this.#h, this.#pending !== null ? EPOLLOUT : this.#eof ? 0 : EPOLLIN);
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
