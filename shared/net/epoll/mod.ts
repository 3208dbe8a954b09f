/**
 * The `epoll` I/O engine (Linux, through Deno FFI): non-blocking sockets on one epoll loop per
 * thread, with the proxy and echo data paths ({@linkcode epollRelay}, {@linkcode epollEcho})
 * run synchronously inside the loop, no promise per chunk. Needs `--allow-ffi`; check
 * {@linkcode epollAvailable} first and fall back to the `deno` engine.
 *
 * @example
 * ```ts
 * import { epollAvailable, epollConnect, epollListen, epollRelay } from "./mod.ts";
 * if (epollAvailable()) {
 *   const listener = epollListen({ hostname: "127.0.0.1", port: 0 });
 *   const client = await listener.accept();
 *   const upstream = await epollConnect({ hostname: "127.0.0.1", port: 8081 });
 *   await epollRelay(client, upstream, { idleTimeoutMs: 60_000 });
 *   listener.close();
 * }
 * ```
 *
 * @module
 */

import { libc } from "./_libc.ts";

export { EpollConn } from "./conn.ts";
export { epollConnect, type EpollConnectOptions } from "./connect.ts";
export { epollEcho, type EpollEchoOptions, type EpollEchoResult } from "./echo.ts";
export { DEFAULT_BACKLOG, epollListen, EpollListener, type EpollListenOptions } from "./listen.ts";
export { epollPingPong, type EpollPingPongOptions, type EpollPingPongResult } from "./pingpong.ts";
export {
  type EpollEnd,
  epollRelay,
  type EpollRelayOptions,
  type EpollRelayResult,
  type EpollStats,
} from "./relay.ts";

/**
 * Whether the epoll engine can run here: Linux, FFI permission granted, libc loads.
 * Never throws.
 *
 * @returns True when the engine is usable.
 * @example
 * ```ts
 * const engine = epollAvailable() ? "epoll" : "deno";
 * ```
 */
export function epollAvailable(): boolean {
  try {
    if (Deno.build.os !== "linux") return false;
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return false;
    libc();
    return true;
  } catch {
    return false;
  }
}
