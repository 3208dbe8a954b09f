/**
 * {@linkcode epollListen}: a listening TCP socket whose accepted connections are
 * {@linkcode EpollConn}s on this thread's epoll loop.
 *
 * @module
 */

import {
  errno,
  libc,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
} from "./_libc.ts";
import { badResource, EAGAIN, ECONNABORTED, EINTR, osError } from "./_errors.ts";
import { FdHandle } from "./_handle.ts";
import { decodeSockAddr, encodeSockAddr, SOCKADDR_SIZE } from "./_sockaddr.ts";
import { EpollConn, setIntOption, socketName } from "./conn.ts";

/** Options for {@linkcode epollListen}. */
export interface EpollListenOptions {
  /** IP literal to bind ("localhost" means 127.0.0.1). */
  hostname: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** Set SO_REUSEPORT (share the port with other listeners). @default false */
  reusePort?: boolean;
  /** Listen backlog. @default 4096 */
  backlog?: number;
}

/** Default accept queue length (the kernel caps it at net.core.somaxconn). */
export const DEFAULT_BACKLOG = 4096;

const acceptAddr = new Uint8Array(SOCKADDR_SIZE);
const acceptLen = new Uint32Array(1);

interface Waiter {
  resolve(conn: EpollConn): void;
  reject(error: unknown): void;
}

/**
 * A listening socket. The fd is polled only while an `accept()` is pending; the kernel
 * backlog queues the rest.
 *
 * @example
 * ```ts
 * const listener = epollListen({ hostname: "127.0.0.1", port: 0 });
 * const conn = await listener.accept();
 * conn.close();
 * listener.close();
 * ```
 */
export class EpollListener {
  /** The bound address (the real port when 0 was asked). */
  readonly addr: Deno.NetAddr;
  #handle: FdHandle;
  #waiters: Waiter[] = [];

  /**
   * Take over a listening socket (`epollListen()` makes one).
   *
   * @param fd A bound, listening, non-blocking socket the listener now owns.
   */
  constructor(fd: number) {
    this.#handle = new FdHandle(fd);
    this.addr = socketName(fd, "getsockname");
  }

  /**
   * Accept the next connection (synchronously when one is queued).
   *
   * @returns The connection.
   * @throws {Deno.errors.BadResource} When the listener is (or gets) closed.
   * @throws {Error} EMFILE, ENFILE and the like: back off and try again.
   */
  accept(): Promise<EpollConn> {
    if (this.#handle.closed) return Promise.reject(badResource("accept on a closed listener"));
    if (this.#waiters.length === 0) {
      try {
        const conn = this.#tryAccept();
        if (conn !== undefined) return Promise.resolve(conn);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const { promise, resolve, reject } = Promise.withResolvers<EpollConn>();
    this.#waiters.push({ resolve, reject });
    if (this.#waiters.length === 1) this.#handle.onReadable(() => this.#drain());
    return promise;
  }

  #drain(): void {
    while (this.#waiters.length > 0) {
      let conn: EpollConn | undefined;
      try {
        conn = this.#tryAccept();
      } catch (error) {
        // Out of descriptors and the like: fail every waiter so callers back off (polling a
        // level-triggered fd we cannot accept from would spin).
        const waiters = this.#waiters.splice(0);
        this.#handle.clearReadable();
        for (const w of waiters) w.reject(error);
        return;
      }
      if (conn === undefined) return;
      this.#waiters.shift()!.resolve(conn);
    }
    this.#handle.clearReadable();
  }

  #tryAccept(): EpollConn | undefined {
    const lib = libc();
    for (;;) {
      acceptLen[0] = acceptAddr.length;
      const fd = lib.accept4(
        this.#handle.fd,
        acceptAddr,
        acceptLen,
        SOCK_NONBLOCK | SOCK_CLOEXEC,
      );
      if (fd >= 0) {
        try {
          return new EpollConn(fd, decodeSockAddr(acceptAddr));
        } catch {
          // Reset before we could read its address: drop it, take the next.
          lib.close(fd);
          continue;
        }
      }
      const code = errno();
      if (code === EAGAIN) return undefined;
      if (code === EINTR || code === ECONNABORTED) continue;
      throw osError(code);
    }
  }

  /** Stop listening; pending and later `accept()` calls reject with `BadResource`. */
  close(): void {
    if (!this.#handle.close()) throw badResource("close on a closed listener");
    for (const w of this.#waiters.splice(0)) w.reject(badResource("listener closed"));
  }

  /** Close unless already closed (for `using`). */
  [Symbol.dispose](): void {
    if (!this.#handle.closed) this.close();
  }
}

/**
 * Bind and listen (SO_REUSEADDR always; SO_REUSEPORT on request; an IPv6 socket for a v6
 * literal).
 *
 * @param options Address, port, reusePort and backlog.
 * @returns The listener; `addr` has the real port.
 * @throws {Deno.errors.AddrInUse} When the address is taken.
 * @throws {TypeError} When `hostname` is not an IP literal or "localhost".
 * @example
 * ```ts
 * const listener = epollListen({ hostname: "::1", port: 0 });
 * console.log(listener.addr.port);
 * listener.close();
 * ```
 */
export function epollListen(options: EpollListenOptions): EpollListener {
  const host = options.hostname === "localhost" ? "127.0.0.1" : options.hostname;
  const addr = encodeSockAddr(host, options.port);
  if (addr === undefined) {
    throw new TypeError(
      `Cannot listen on '${options.hostname}': expected an IP address or "localhost"`,
    );
  }
  const lib = libc();
  const fd = lib.socket(addr.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw osError(errno());
  try {
    setIntOption(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    if (options.reusePort) setIntOption(fd, SOL_SOCKET, SO_REUSEPORT, 1);
    if (lib.bind(fd, addr.bytes, addr.bytes.length) < 0) throw osError(errno());
    if (lib.listen(fd, options.backlog ?? DEFAULT_BACKLOG) < 0) throw osError(errno());
    return new EpollListener(fd);
  } catch (error) {
    lib.close(fd);
    throw error;
  }
}
