/**
 * Test support for the epoll engine's tests (never imported by the engine): open-fd counting,
 * a proxy rig on loopback, and whether the engine can run here.
 *
 * @module
 */

import { epollAvailable, type EpollConn, epollConnect, epollRelay } from "./mod.ts";
import type { EpollRelayOptions, EpollRelayResult, EpollStats } from "./relay.ts";
import { loop } from "./_loop.ts";
import { acceptOne, denoConnect } from "./_testing_accept.ts";

/** Why the engine's tests are ignored here, or undefined when they run. */
export const SKIP_REASON: string | undefined = epollAvailable()
  ? undefined
  : "needs Linux and --allow-ffi";

/** Ignore option: the engine's tests run only with FFI on Linux. */
export const IGNORE: boolean = SKIP_REASON !== undefined;

/** Appended to the engine's test names: why they are ignored, or nothing when they run. */
export const SKIP_NOTE: string = SKIP_REASON === undefined ? "" : ` (ignored: ${SKIP_REASON})`;

const F_GETFD = 1;
const FD_SCAN_LIMIT = 4096;
const SOL_SOCKET = 1;
const SO_LINGER = 13;
const probe = IGNORE ? undefined : Deno.dlopen("libc.so.6", {
  fcntl: { parameters: ["i32", "i32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
}).symbols;

/**
 * Open file descriptors of this process. (Deno grants /proc/self/fd only with --allow-all, so
 * this asks `fcntl(F_GETFD)` about each of the first 4096 numbers instead.)
 *
 * @returns How many are open.
 * @example
 * ```ts
 * const before = openFds();
 * ```
 */
export function openFds(): number {
  let n = 0;
  for (let fd = 0; fd < FD_SCAN_LIMIT; fd++) if (probe!.fcntl(fd, F_GETFD) >= 0) n++;
  return n;
}

/**
 * Close a connection with SO_LINGER 0, so the kernel sends RST instead of FIN.
 *
 * @param conn An epoll connection.
 * @example
 * ```ts
 * resetClose(conn); // the peer's next read rejects with ConnectionReset
 * ```
 */
export function resetClose(conn: EpollConn): void {
  const linger = new Int32Array([1, 0]);
  if (probe!.setsockopt(conn.fd, SOL_SOCKET, SO_LINGER, linger, 8) < 0) {
    throw new Error(`setsockopt(SO_LINGER) failed on fd ${conn.fd}`);
  }
  conn.close();
}

/** How many fds the epoll loop has registered (0 once everything is closed). * @example
 * ```ts
 * assert.equal(registeredFds(), 0);
 * ```
 */
export function registeredFds(): number {
  return loop().registered;
}

/**
 * Resolve once the loop stopped and closed its epoll fd and eventfd.
 *
 * @returns A promise.
 * @example
 * ```ts
 * await loopStopped();
 * ```
 */
export function loopStopped(): Promise<void> {
  return loop().stopped();
}

/** A client, an epoll relay in the middle, and the upstream's side of the connection. */
export interface RelayRig {
  /** The test's client (a Deno connection to the relay). */
  client: Deno.TcpConn;
  /** The upstream's accepted connection. */
  upstream: Deno.TcpConn;
  /** The relay's result. */
  result: Promise<EpollRelayResult>;
  /** Its counters. */
  stats: EpollStats;
  /** Close the test's ends (ignoring "already closed"). */
  close(): void;
}

/**
 * Start a relay: Deno client -> epoll listener -> epollRelay -> epollConnect -> Deno upstream.
 *
 * @param options Relay options (stats are filled in).
 * @param idleBeforeMs Let the loop sit idle this long between connecting and relaying.
 * @returns The rig.
 * @example
 * ```ts
 * const rig = await relayRig({ idleTimeoutMs: 100 });
 * console.log((await rig.result).reason);
 * ```
 */
export async function relayRig(
  options: EpollRelayOptions = {},
  idleBeforeMs = 0,
): Promise<RelayRig> {
  const upstreamListener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { accepted, peer: client } = await acceptOne(denoConnect);
  const upstreamConnP = upstreamListener.accept();
  const toUpstream = await epollConnect({
    hostname: "127.0.0.1",
    port: upstreamListener.addr.port,
  });
  const upstream = await upstreamConnP;
  upstreamListener.close();
  if (idleBeforeMs > 0) {
    await loopStopped();
    await new Promise((resolve) => setTimeout(resolve, idleBeforeMs));
  }
  const stats = { up: 0, down: 0 };
  const result = epollRelay(accepted, toUpstream, { ...options, stats });
  const close = () => {
    for (const conn of [client, upstream]) {
      try {
        conn.close();
      } catch {
        // Already closed by the test.
      }
    }
  };
  return { client, upstream, result, stats, close };
}
