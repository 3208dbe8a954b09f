/**
 * The misbehaving upstream of the fault suite: one or more loopback listeners that do, per
 * connection, what the client's header asks.
 *
 * @module
 */

import { echoUntilEof, readAll, readExactly, writeAll } from "../io.ts";
import { acceptLoop } from "../peers.ts";
import { HEADER_BYTES, parseHeader, writeStream } from "./tape.ts";

/** The misbehaving upstream: one or more loopback listeners serving every fault mode. */
export interface FaultUpstream extends AsyncDisposable {
  /** Listener addresses (`127.0.0.1:port`), one per listener. */
  readonly addrs: string[];
  /** Connections open now. */
  readonly open: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Bytes written by flooding connections so far. */
  readonly flooded: number;
  /** PROXY protocol headers read (with `proxyProtocol`). */
  readonly proxyHeaders: number;
  /** Stop listening, close every connection, wait for the handlers. */
  close(): Promise<void>;
}

/** Options for {@linkcode startFaultUpstream}. */
export interface FaultUpstreamOptions {
  /** How many listeners (distinct backends for a load balancer). @default 1 */
  listeners?: number;
  /** Expect a PROXY protocol v1 or v2 header before each client's bytes. @default false */
  proxyProtocol?: boolean;
}

const PROXY_V2_FIXED = 16;
const PROXY_V1_MAX = 107;
const ASCII_P = 0x50;
const CR = 0x0d;
const LF = 0x0a;
const DRAIN_CHUNK = 64 * 1024;

/** Read and drop a PROXY protocol v1 line or v2 header; returns its length. */
async function skipProxyHeader(conn: Deno.Conn): Promise<number> {
  const first = await readExactly(conn, 1);
  if (first[0] === ASCII_P) { // v1, up to CRLF
    let n = 1;
    let last = 0;
    for (;;) {
      const [b] = await readExactly(conn, 1);
      n++;
      if (last === CR && b === LF) return n;
      if (n > PROXY_V1_MAX) throw new Error(`PROXY v1 line longer than ${PROXY_V1_MAX} bytes`);
      last = b!;
    }
  }
  const fixed = await readExactly(conn, PROXY_V2_FIXED - 1);
  const length = new DataView(fixed.buffer).getUint16(PROXY_V2_FIXED - 3);
  await readExactly(conn, length);
  return PROXY_V2_FIXED + length;
}

/** Read and drop everything until the client's FIN. */
async function drain(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(DRAIN_CHUNK);
  while (await conn.read(buf) !== null) { /* dropped */ }
}

/**
 * Start the upstream every fault-suite client talks to through the service under test. Per
 * connection it reads a header and then echoes (`E`), stores and forwards after the client's
 * FIN (`H`), sends a few bytes and resets (`R`), reads and never answers (`S`), or floods
 * (`F`).
 *
 * @param options Listener count.
 * @returns The running upstream.
 * @example
 * ```ts
 * await using upstream = startFaultUpstream({ listeners: 2 });
 * console.log(upstream.addrs);
 * ```
 */
export function startFaultUpstream(options: FaultUpstreamOptions = {}): FaultUpstream {
  const counts = { flooded: 0, proxyHeaders: 0 };
  const serve = async (conn: Deno.TcpConn) => {
    if (options.proxyProtocol) {
      await skipProxyHeader(conn);
      counts.proxyHeaders++;
    }
    const { mode, seed, size } = parseHeader(await readExactly(conn, HEADER_BYTES));
    switch (mode) {
      case "E":
        return await echoUntilEof(conn);
      case "H":
        return await writeAll(conn, await readAll(conn));
      case "R":
        // A few bytes, then close with the client's data unread: the kernel sends RST.
        return await writeStream(conn, seed, size);
      case "S":
        return await drain(conn); // never answer
      case "F":
        return await writeStream(conn, seed, size, (n) => counts.flooded += n);
    }
  };
  const loop = acceptLoop(serve, { listeners: options.listeners ?? 1 });
  return {
    addrs: loop.addrs,
    get open() {
      return loop.live.size;
    },
    get accepted() {
      return loop.accepted;
    },
    get flooded() {
      return counts.flooded;
    },
    get proxyHeaders() {
      return counts.proxyHeaders;
    },
    close: () => loop.close(),
    [Symbol.asyncDispose]: () => loop.close(),
  };
}
