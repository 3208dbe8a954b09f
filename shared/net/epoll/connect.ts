/**
 * {@linkcode epollConnect}: a non-blocking TCP connect on this thread's epoll loop.
 *
 * @module
 */

import {
  errno,
  IPPROTO_TCP,
  libc,
  SO_ERROR,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  TCP_NODELAY,
} from "./_libc.ts";
import { EINPROGRESS, EINTR, osError } from "./_errors.ts";
import { FdHandle } from "./_handle.ts";
import { encodeSockAddr, type SockAddr } from "./_sockaddr.ts";
import { EpollConn, setIntOption } from "./conn.ts";

/** Options for {@linkcode epollConnect}. */
export interface EpollConnectOptions {
  /** IP literal, "localhost" (127.0.0.1) or a name resolved with `Deno.resolveDns`. */
  hostname: string;
  /** Port. */
  port: number;
  /** Aborting closes the socket and rejects with `signal.reason`. */
  signal?: AbortSignal;
}

const errorBuf = new Int32Array(1);
const errorLen = new Uint32Array(1);

/**
 * Connect without blocking (EINPROGRESS, then EPOLLOUT, then SO_ERROR); TCP_NODELAY is set.
 *
 * @param options Host, port and abort signal.
 * @returns The connection.
 * @throws {Deno.errors.ConnectionRefused} When nothing listens there.
 * @throws {Deno.errors.TimedOut} When the kernel gives up.
 * @throws {unknown} `signal.reason` when aborted.
 * @example
 * ```ts
 * const conn = await epollConnect({
 *   hostname: "127.0.0.1",
 *   port: 8081,
 *   signal: AbortSignal.timeout(5000),
 * });
 * conn.close();
 * ```
 */
export async function epollConnect(options: EpollConnectOptions): Promise<EpollConn> {
  const { signal } = options;
  signal?.throwIfAborted();
  const host = options.hostname === "localhost" ? "127.0.0.1" : options.hostname;
  let addr = encodeSockAddr(host, options.port);
  if (addr === undefined) {
    addr = await resolve(host, options.port);
    signal?.throwIfAborted();
  }
  const lib = libc();
  const fd = lib.socket(addr.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw osError(errno());
  const handle = new FdHandle(fd);
  let owned = false;
  try {
    setIntOption(fd, IPPROTO_TCP, TCP_NODELAY, 1);
    let rc: number;
    do rc = lib.connect(fd, addr.bytes, addr.bytes.length); while (rc < 0 && errno() === EINTR);
    if (rc < 0) {
      const code = errno();
      if (code !== EINPROGRESS) throw osError(code);
      await connected(handle, signal);
    }
    const conn = new EpollConn(handle);
    owned = true;
    return conn;
  } finally {
    if (!owned) handle.close();
  }
}

/** Wait for the connect to finish; reject with its error or the abort reason. */
function connected(handle: FdHandle, signal: AbortSignal | undefined): Promise<void> {
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  const onAbort = () => {
    handle.clearWritable();
    reject(signal!.reason);
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  handle.onWritable(() => {
    handle.clearWritable();
    signal?.removeEventListener("abort", onAbort);
    errorBuf[0] = 0;
    errorLen[0] = 4;
    if (libc().getsockopt(handle.fd, SOL_SOCKET, SO_ERROR, errorBuf, errorLen) < 0) {
      return reject(osError(errno()));
    }
    if (errorBuf[0] !== 0) return reject(osError(errorBuf[0]!));
    resolve();
  });
  return promise;
}

/** Resolve a name: A records first, then AAAA; the first address wins. */
async function resolve(host: string, port: number): Promise<SockAddr> {
  for (const type of ["A", "AAAA"] as const) {
    let records: string[] = [];
    try {
      records = await Deno.resolveDns(host, type);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    const first = records[0];
    if (first !== undefined) return encodeSockAddr(first, port)!;
  }
  throw new Deno.errors.NotFound(`Cannot resolve '${host}': no A or AAAA record`);
}
