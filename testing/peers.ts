/**
 * Loopback test peers: the one accept loop every test server runs, plain peers, a listener
 * that never accepts, the four sockets of a relay test, and addresses nothing listens on.
 *
 * @module
 */

import { formatAddress } from "@monkey/shared";
import assert from "node:assert/strict";
import { closeQuietly, readExactly, readOutcome, writeAll } from "./io.ts";

/** A loopback listener with its accept loop; `close()` stops it and closes every connection. */
export interface AcceptLoop<C extends Deno.Conn = Deno.TcpConn> extends AsyncDisposable {
  /** Its first (usually only) address, `127.0.0.1:port`. */
  readonly addr: string;
  /** Every listener's address, in order. */
  readonly addrs: string[];
  /** Connections accepted and not yet closed by the loop. */
  readonly live: ReadonlySet<C>;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Stop listening, close every connection still open, wait for every handler. */
  close(): Promise<void>;
}

/** Options for {@linkcode acceptLoop}. */
export interface AcceptLoopOptions {
  /** How many listeners (distinct backends for a load balancer). @default 1 */
  listeners?: number;
  /** Port of the (single) listener. @default 0 */
  port?: number;
  /**
   * Close each connection when its handler returns. Off, a connection stays open (and in
   * `live`) until `close()`. @default true
   */
  closeWhenDone?: boolean;
}

/**
 * Listen on loopback and run `onConn` for each connection. Handler errors are swallowed (test
 * peers misbehave on purpose; their errors are not the test's subject).
 *
 * @param onConn Behaviour per connection.
 * @param options Listener count, port, who closes a connection.
 * @returns The running loop.
 * @example
 * ```ts
 * await using server = acceptLoop((conn) => echoUntilEof(conn));
 * const conn = await dial(server.addr);
 * ```
 */
export function acceptLoop(
  onConn: (conn: Deno.TcpConn) => Promise<void> | void,
  options: AcceptLoopOptions = {},
): AcceptLoop {
  const count = options.listeners ?? 1;
  const listeners = Array.from(
    { length: count },
    () => Deno.listen({ hostname: "127.0.0.1", port: count === 1 ? options.port ?? 0 : 0 }),
  );
  return serveListeners(listeners, onConn, options.closeWhenDone ?? true);
}

/**
 * The accept loop behind {@linkcode acceptLoop} and the TLS echo server, for any kind of
 * listener: runs `onConn` for each connection, swallowing its errors.
 *
 * @param listeners Bound listeners; the loop owns them.
 * @param onConn Behaviour per connection.
 * @param closeWhenDone Close each connection when its handler returns.
 * @returns The running loop.
 * @example
 * ```ts
 * const listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key });
 * await using server = serveListeners([listener], (conn) => echoUntilEof(conn), true);
 * ```
 */
export function serveListeners<C extends Deno.Conn>(
  listeners: Deno.Listener<C>[],
  onConn: (conn: C) => Promise<void> | void,
  closeWhenDone: boolean,
): AcceptLoop<C> {
  const live = new Set<C>();
  const tasks = new Set<Promise<void>>();
  let accepted = 0;
  const serve = async (conn: C) => {
    try {
      await onConn(conn);
    } catch {
      // Peers misbehave on purpose.
    } finally {
      if (closeWhenDone) {
        live.delete(conn);
        closeQuietly(conn);
      }
    }
  };
  const loops = listeners.map(async (listener) => {
    for (;;) {
      let conn: C;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      accepted++;
      live.add(conn);
      const task = serve(conn);
      tasks.add(task);
      void task.finally(() => tasks.delete(task));
    }
  });
  const close = async () => {
    for (const listener of listeners) closeQuietly(listener);
    await Promise.all(loops);
    for (const conn of live) closeQuietly(conn);
    await Promise.allSettled([...tasks]);
  };
  const addrs = listeners.map((l) => formatAddress(l.addr as Deno.NetAddr));
  return {
    addr: addrs[0]!,
    addrs,
    live,
    get accepted() {
      return accepted;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A loopback test peer; `close()` stops it and closes what it accepted. */
export interface TestPeer extends AsyncDisposable {
  /** Its address, `127.0.0.1:port`. */
  addr: string;
  /** Connections accepted so far. */
  accepted: Deno.TcpConn[];
  /** Stop listening and close every accepted connection. */
  close(): Promise<void>;
}

/**
 * A loopback listener that runs `onConn` for each connection (the handler owns the conn, but
 * the peer closes everything still open on `close()`).
 *
 * @param onConn Behaviour per connection.
 * @returns The running peer.
 * @example
 * ```ts
 * await using peer = startPeer(async (conn) => void (await readAll(conn)));
 * ```
 */
export function startPeer(onConn: (conn: Deno.TcpConn) => Promise<void> | void): TestPeer {
  const accepted: Deno.TcpConn[] = [];
  const loop = acceptLoop((conn) => {
    accepted.push(conn);
    return onConn(conn);
  }, { closeWhenDone: false });
  const close = () => loop.close();
  return { addr: loop.addr, accepted, close, [Symbol.asyncDispose]: close };
}

/**
 * Connect to a `host:port` address (IPv4 or bracketed IPv6).
 *
 * @param addr Address.
 * @returns The connection.
 * @example
 * ```ts
 * const conn = await dial("[::1]:8081");
 * ```
 */
export function dial(addr: string): Promise<Deno.TcpConn> {
  const [hostname, port] = splitAddr(addr);
  return Deno.connect({ hostname, port });
}

/**
 * Connect, send `bytes` when given, and assert that the server closes the connection (end of
 * input or a reset) without sending anything.
 *
 * @param addr Address.
 * @param bytes Sent first. @default nothing
 * @param message Names the case when the assertion fails.
 * @example
 * ```ts
 * await assertClosedWithoutData(lb.addr, new TextEncoder().encode("hello"));
 * ```
 */
export async function assertClosedWithoutData(
  addr: string,
  bytes?: Uint8Array,
  message?: string,
): Promise<void> {
  const conn = await dial(addr);
  try {
    if (bytes !== undefined) await writeAll(conn, bytes);
    assert.notEqual(await readOutcome(conn), "data", message);
  } finally {
    closeQuietly(conn);
  }
}

/**
 * Open `count` connections to an echo (direct or through a proxy) and echo `bytes` zero bytes
 * on each, so every one is relayed end to end when this returns.
 *
 * @param addr Address.
 * @param count How many connections.
 * @param bytes Echoed on each.
 * @returns The open connections; {@linkcode closeEachAfterEof} ends them.
 * @example
 * ```ts
 * const conns = await openEchoed(proxy.addr, 16, 100);
 * ```
 */
export async function openEchoed(
  addr: string,
  count: number,
  bytes: number,
): Promise<Deno.TcpConn[]> {
  return await Promise.all(Array.from({ length: count }, () => dialEchoed(addr, bytes)));
}

/**
 * Connect to an echo (direct or through a proxy) and echo `bytes` zero bytes, so the
 * connection is relayed end to end when this returns.
 *
 * @param addr Address.
 * @param bytes Echoed once. @default 1
 * @returns The open connection.
 * @example
 * ```ts
 * const conn = await dialEchoed(proxy.addr);
 * ```
 */
export async function dialEchoed(addr: string, bytes = 1): Promise<Deno.TcpConn> {
  const conn = await dial(addr);
  await writeAll(conn, new Uint8Array(bytes));
  await readExactly(conn, bytes);
  return conn;
}

/**
 * Half-close each connection, assert that the far end answers with end of input, close it.
 *
 * @param conns Connections to an echo.
 * @example
 * ```ts
 * await closeEachAfterEof(await openEchoed(proxy.addr, 4, 10));
 * ```
 */
export async function closeEachAfterEof(conns: Deno.TcpConn[]): Promise<void> {
  for (const conn of conns) {
    await conn.closeWrite();
    assert.equal(await readOutcome(conn), "eof");
    conn.close();
  }
}

/**
 * Split `host:port` (IPv4, hostname or bracketed IPv6) for `Deno.connect`.
 *
 * @param addr The address.
 * @returns Host (without brackets) and port.
 * @example
 * ```ts
 * const [hostname, port] = splitAddr("[::1]:80"); // ["::1", 80]
 * ```
 */
export function splitAddr(addr: string): [string, number] {
  const colon = addr.lastIndexOf(":");
  return [addr.slice(0, colon).replace(/^\[|\]$/g, ""), Number(addr.slice(colon + 1))];
}

/**
 * A free loopback port: bound on port 0, then released (for programs that need a port number
 * up front, like HAProxy, nginx and iperf3; a small race remains).
 *
 * @returns A port number.
 * @example
 * ```ts
 * const port = freePort();
 * ```
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/**
 * An address that refuses connects: a port that was free a moment ago (bound and released) on
 * 127.0.0.2, an address of the loopback network the tests' services do not listen on. A service
 * a test starts next on `127.0.0.1:0` may be given the same port number: on 127.0.0.1 the
 * "dead" target would then be the service itself (a proxy connecting to itself in a loop).
 *
 * @returns `127.0.0.2:<port>`.
 * @example
 * ```ts
 * await assert.rejects(dial(closedPortAddr()), Deno.errors.ConnectionRefused);
 * ```
 */
export function closedPortAddr(): string {
  const listener = Deno.listen({ hostname: "127.0.0.2", port: 0 });
  const addr = formatAddress(listener.addr);
  listener.close();
  return addr;
}

/** A listener whose accept queue is full: connects to it hang until they time out. */
export interface BlackHole extends Disposable {
  /** Its address. */
  addr: string;
  /** Close the listener and the connections that filled its queue. */
  close(): void;
}

/** Connects tried at most to fill a backlog (Deno's is 511). */
const MAX_FILL = 8192;
const FILL_PROBE_MS = 100;

/**
 * A loopback listener that never accepts, with its backlog filled: further SYNs are dropped,
 * so a connect to it hangs ("slow to accept"), as a dead host would.
 *
 * @returns The address and a `close()`.
 * @example
 * ```ts
 * using hole = await startBlackHole();
 * ```
 */
export async function startBlackHole(): Promise<BlackHole> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  const fill: Deno.TcpConn[] = [];
  for (let i = 0; i < MAX_FILL; i++) {
    try {
      fill.push(
        await Deno.connect({
          hostname: "127.0.0.1",
          port,
          signal: AbortSignal.timeout(FILL_PROBE_MS),
        }),
      );
    } catch {
      break;
    }
  }
  const close = () => {
    for (const conn of fill) conn.close();
    listener.close();
  };
  return { addr: formatAddress(listener.addr), close, [Symbol.dispose]: close };
}

/** Two loopback connections chained for relay tests: client→accepted and upstream→server. */
export interface RelayEnds {
  /** The test's client socket. */
  client: Deno.TcpConn;
  /** The accepted side of `client`, handed to the relay. */
  accepted: Deno.TcpConn;
  /** The relay's connection to the server. */
  upstream: Deno.TcpConn;
  /** The test's server socket (accepted side of `upstream`). */
  server: Deno.TcpConn;
}

/**
 * Open the four sockets a relay test needs, on loopback.
 *
 * @returns The connected sockets.
 * @example
 * ```ts
 * const { client, accepted, upstream, server } = await relayEnds();
 * ```
 */
export async function relayEnds(): Promise<RelayEnds> {
  const front = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const back = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const client = await Deno.connect({ hostname: "127.0.0.1", port: front.addr.port });
    const accepted = await front.accept();
    const upstream = await Deno.connect({ hostname: "127.0.0.1", port: back.addr.port });
    const server = await back.accept();
    return { client, accepted, upstream, server };
  } finally {
    front.close();
    back.close();
  }
}
