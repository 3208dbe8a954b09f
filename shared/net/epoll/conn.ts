/**
 * {@linkcode EpollConn}: a non-blocking TCP socket with the promise API of a `Deno.TcpConn`
 * (PROXY headers, health checks, the load tester's request loops, tests). The services' hot
 * paths take the fd over with `epollRelay` / `epollEcho`.
 *
 * Edge-triggered: the fd joins the epoll set on first use, for both directions, until closed
 * or relayed (no `epoll_ctl` per wait), and the handle remembers whether the socket may have
 * data or room. A read after one that returned EAGAIN, or fewer bytes than asked (the socket
 * is drained), is not tried: it waits for the next readiness event. So a request/reply
 * client pays one `send` and one `read` per exchange, plus its share of one `epoll_wait`.
 *
 * @module
 */

import { errno, IPPROTO_TCP, libc, SEND_FLAGS, SHUT_WR, TCP_NODELAY } from "./_libc.ts";
import { badResource, EAGAIN, EINTR, osError } from "./_errors.ts";
import { FdHandle } from "./_handle.ts";
import { decodeSockAddr, SOCKADDR_SIZE } from "./_sockaddr.ts";

/** A pending read or write: its buffer and promise (a write never resolves with null). */
interface Waiter {
  p: Uint8Array;
  resolve: (value: number | null) => void;
  reject: (error: unknown) => void;
}

/** Internal: the handle behind a connection (for the relay and echo in this folder). */
export let handleOf: (conn: EpollConn) => FdHandle;

/**
 * An accepted or connected TCP socket driven by this thread's epoll loop. Usable where
 * services use a `Deno.TcpConn`: `read`, `write`, `closeWrite`, `close`, `setNoDelay`, the
 * addresses and `fd`; errors are the `Deno.errors` classes Deno would throw.
 *
 * @example
 * ```ts
 * const conn = await epollConnect({ hostname: "127.0.0.1", port: 8081 });
 * await conn.write(new TextEncoder().encode("ping"));
 * const n = await conn.read(new Uint8Array(4));
 * conn.close();
 * ```
 */
export class EpollConn {
  /** The file descriptor. */
  readonly fd: number;
  #handle: FdHandle;
  #local: Deno.NetAddr | undefined;
  #remote: Deno.NetAddr | undefined;
  #reader: Waiter | undefined;
  #writer: Waiter | undefined;
  #retryRead: (() => void) | undefined;
  #retryWrite: (() => void) | undefined;

  static {
    handleOf = (conn) => conn.#handle;
  }

  /**
   * Wrap a connected non-blocking socket; the connection owns (and closes) the fd.
   *
   * @param fd The socket, or its handle (from a connect).
   * @param remoteAddr The peer's address, if already known (accept returns it).
   */
  constructor(fd: number | FdHandle, remoteAddr?: Deno.NetAddr) {
    this.#handle = typeof fd === "number" ? new FdHandle(fd) : fd;
    this.fd = this.#handle.fd;
    // Addresses are read on first use (or at close): idle connections stay small.
    this.#remote = remoteAddr;
  }

  /** This end's address. */
  get localAddr(): Deno.NetAddr {
    return this.#local ??= this.#name("getsockname");
  }

  /** The peer's address. */
  get remoteAddr(): Deno.NetAddr {
    return this.#remote ??= this.#name("getpeername");
  }

  #name(which: "getsockname" | "getpeername"): Deno.NetAddr {
    if (this.#handle.closed) throw badResource(`${which} on a closed EpollConn`);
    return socketName(this.fd, which);
  }

  /**
   * Read into `p`. A read that would block is not tried: after one returned EAGAIN or drained
   * the socket (fewer bytes than asked), the next waits for the loop's readiness event first.
   *
   * @param p Destination.
   * @returns The byte count, or null at end of input.
   * @throws {Deno.errors.ConnectionReset} When the peer reset the connection.
   * @throws {Deno.errors.BadResource} When closed (before or during the read).
   * @throws {Deno.errors.Busy} When another read is pending, or a relay owns the connection.
   */
  read(p: Uint8Array): Promise<number | null> {
    const h = this.#handle;
    if (h.closed) return Promise.reject(badResource("read on a closed EpollConn"));
    if (h.delegated) return Promise.reject(new Deno.errors.Busy("EpollConn is being relayed"));
    if (this.#reader !== undefined) {
      return Promise.reject(new Deno.errors.Busy("EpollConn has a read pending"));
    }
    if (p.length === 0) return Promise.resolve(0);
    try {
      h.useEdges();
    } catch (error) {
      return Promise.reject(error);
    }
    let defer = false;
    if (h.readable) {
      // Past the loop's budget the read waits for the loop's next turn even if data is there,
      // so a fast peer cannot starve the loop.
      if (h.loop.syncBudget-- > 0) {
        try {
          const n = this.#tryRead(p);
          if (n !== undefined) return Promise.resolve(n);
        } catch (error) {
          return Promise.reject(error);
        }
      } else defer = true;
    }
    const { promise, resolve, reject } = Promise.withResolvers<number | null>();
    this.#reader = { p, resolve, reject };
    // Made on first use: a connection a relay takes over never needs it.
    const retry = this.#retryRead ??= () => this.#again(true);
    h.onReadable(retry);
    if (defer) h.loop.defer(retry);
    return promise;
  }

  /** One read: the count, null at end of input, undefined when it would block. */
  #tryRead(p: Uint8Array): number | null | undefined {
    const h = this.#handle;
    for (;;) {
      const n = libc().read(h.fd, p, p.length);
      if (n > 0) {
        // Edge-triggered: a short read drained the socket; new data brings a new event.
        if (n < p.length && !h.hangup) h.readable = false;
        return n;
      }
      if (n === 0) return null;
      const code = errno();
      if (code === EAGAIN) {
        h.readable = false;
        return undefined;
      }
      if (code !== EINTR) throw osError(code);
    }
  }

  /**
   * Write some of `p`, waiting for room when the socket buffer is full.
   *
   * @param p Bytes.
   * @returns How many bytes were written (at least one unless `p` is empty).
   * @throws {Deno.errors.BrokenPipe} When the peer is gone.
   * @throws {Deno.errors.ConnectionReset} When the peer reset the connection.
   * @throws {Deno.errors.BadResource} When closed.
   * @throws {Deno.errors.Busy} When another write is pending, or a relay owns the connection.
   */
  write(p: Uint8Array): Promise<number> {
    const h = this.#handle;
    if (h.closed) return Promise.reject(badResource("write on a closed EpollConn"));
    if (h.delegated) return Promise.reject(new Deno.errors.Busy("EpollConn is being relayed"));
    if (this.#writer !== undefined) {
      return Promise.reject(new Deno.errors.Busy("EpollConn has a write pending"));
    }
    try {
      h.useEdges();
    } catch (error) {
      return Promise.reject(error);
    }
    if (h.writable) {
      try {
        const n = this.#trySend(p);
        if (n !== undefined) return Promise.resolve(n);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const { promise, resolve, reject } = Promise.withResolvers<number>();
    // #trySend never returns null, so the waiter only ever resolves with a number.
    this.#writer = { p, resolve: resolve as Waiter["resolve"], reject };
    h.onWritable(this.#retryWrite ??= () => this.#again(false));
    return promise;
  }

  /** One send: the count, or undefined when the socket buffer is full. */
  #trySend(p: Uint8Array): number | undefined {
    const h = this.#handle;
    for (;;) {
      const n = libc().send(h.fd, p, p.length, SEND_FLAGS);
      if (n >= 0) return n;
      const code = errno();
      if (code === EAGAIN) {
        h.writable = false;
        return undefined;
      }
      if (code !== EINTR) throw osError(code);
    }
  }

  /** On a readiness event: retry the pending read (or write) unless it would still block. */
  #again(reading: boolean): void {
    const h = this.#handle;
    const waiter = reading ? this.#reader : this.#writer;
    if (waiter === undefined || h.closed || !(reading ? h.readable : h.writable)) return;
    let n: number | null | undefined;
    try {
      n = reading ? this.#tryRead(waiter.p) : this.#trySend(waiter.p);
      if (n === undefined) return;
    } catch (error) {
      this.#endWait(reading);
      return waiter.reject(error);
    }
    this.#endWait(reading);
    waiter.resolve(n);
  }

  #endWait(reading: boolean): void {
    if (reading) {
      this.#reader = undefined;
      this.#handle.clearReadable();
    } else {
      this.#writer = undefined;
      this.#handle.clearWritable();
    }
  }

  /**
   * Shut down the sending side (the peer reads end of input); reading goes on.
   *
   * @throws {Deno.errors.NotConnected} When the peer is already gone.
   * @throws {Deno.errors.BadResource} When closed.
   */
  closeWrite(): Promise<void> {
    const h = this.#handle;
    if (h.closed) return Promise.reject(badResource("closeWrite on a closed EpollConn"));
    if (libc().shutdown(h.fd, SHUT_WR) < 0) return Promise.reject(osError(errno()));
    return Promise.resolve();
  }

  /**
   * Close the socket; pending reads and writes reject with `BadResource`.
   *
   * @throws {Deno.errors.BadResource} When already closed.
   */
  close(): void {
    const h = this.#handle;
    if (h.closed) throw badResource("close on a closed EpollConn");
    // Keep the addresses readable after close, like Deno (the peer may already be gone).
    try {
      this.#local ??= socketName(h.fd, "getsockname");
      this.#remote ??= socketName(h.fd, "getpeername");
    } catch {
      // Not connected any more: only what was read before stays available.
    }
    h.close();
    const reader = this.#reader;
    const writer = this.#writer;
    this.#reader = this.#writer = undefined;
    reader?.reject(badResource("EpollConn closed"));
    writer?.reject(badResource("EpollConn closed"));
  }

  /** Whether {@linkcode EpollConn.close} ran (directly or by a relay). */
  get closed(): boolean {
    return this.#handle.closed;
  }

  /**
   * Turn Nagle's algorithm off (`true`, the default) or on.
   *
   * @param on Set TCP_NODELAY.
   * @throws {Deno.errors.BadResource} When closed.
   */
  setNoDelay(on = true): void {
    const h = this.#handle;
    if (h.closed) throw badResource("setNoDelay on a closed EpollConn");
    setIntOption(h.fd, IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0);
  }

  /** Close unless already closed (for `using`). */
  [Symbol.dispose](): void {
    if (!this.#handle.closed) this.close();
  }
}

const optionBuf = new Int32Array(1);

/**
 * Set an integer socket option.
 *
 * @param fd Socket.
 * @param level SOL_SOCKET, IPPROTO_TCP, ...
 * @param name The option.
 * @param value Its value.
 * @throws {Error} The mapped errno.
 * @example
 * ```ts
 * setIntOption(conn.fd, IPPROTO_TCP, TCP_NODELAY, 1);
 * ```
 */
export function setIntOption(fd: number, level: number, name: number, value: number): void {
  optionBuf[0] = value;
  if (libc().setsockopt(fd, level, name, optionBuf, 4) < 0) throw osError(errno());
}

const nameBuf = new Uint8Array(SOCKADDR_SIZE);
const nameLen = new Uint32Array(1);

/**
 * Read a socket's own or peer address.
 *
 * @param fd Socket.
 * @param which "getsockname" or "getpeername".
 * @returns The address.
 * @throws {Error} The mapped errno (ENOTCONN when the peer is already gone).
 * @example
 * ```ts
 * const local = socketName(conn.fd, "getsockname");
 * ```
 */
export function socketName(fd: number, which: "getsockname" | "getpeername"): Deno.NetAddr {
  nameLen[0] = nameBuf.length;
  if (libc()[which](fd, nameBuf, nameLen) < 0) throw osError(errno());
  return decodeSockAddr(nameBuf);
}
