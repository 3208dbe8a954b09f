/**
 * Test support for the epoll engine's tests (never imported by the engine): one connection
 * accepted by a fresh epoll listener on loopback.
 *
 * @module
 */

import { type EpollConn, epollConnect, epollListen } from "./mod.ts";

/** Both ends of one connection to a fresh epoll listener (closed once it has accepted). */
export interface Accepted<C> {
  /** The listener's accepted connection. */
  accepted: EpollConn;
  /** The connecting side. */
  peer: C;
}

/**
 * Listen with epoll on port 0, connect to it, accept once, close the listener.
 *
 * @param connect Opens the connecting side (a Deno connection or an epollConnect).
 * @param hostname Where to listen.
 * @returns The accepted connection and the peer.
 * @example
 * ```ts
 * const { accepted, peer } = await acceptOne((hostname, port) => Deno.connect({ hostname, port }));
 * ```
 */
export async function acceptOne<C>(
  connect: (hostname: string, port: number) => Promise<C>,
  hostname = "127.0.0.1",
): Promise<Accepted<C>> {
  const listener = epollListen({ hostname, port: 0 });
  const peerP = connect(hostname, listener.addr.port);
  const accepted = await listener.accept();
  listener.close();
  return { accepted, peer: await peerP };
}

/**
 * Open the connecting side with Deno's own TCP.
 *
 * @param hostname Where to connect.
 * @param port The port.
 * @returns The connection.
 * @example
 * ```ts
 * const { accepted, peer } = await acceptOne(denoConnect);
 * ```
 */
export function denoConnect(hostname: string, port: number): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname, port });
}

/**
 * Open the connecting side with the epoll engine.
 *
 * @param hostname Where to connect.
 * @param port The port.
 * @returns The connection.
 * @example
 * ```ts
 * const { accepted, peer } = await acceptOne(epollConnectTo);
 * ```
 */
export function epollConnectTo(hostname: string, port: number): Promise<EpollConn> {
  return epollConnect({ hostname, port });
}
