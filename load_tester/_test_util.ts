/**
 * Test backends: the project's echo server, and misbehaving servers (a byte flipper, a
 * server that stalls once, one that closes at once).
 *
 * @module
 */

import { startEcho } from "@monkey/echo";
import type { Scenario } from "./config.ts";

/** A server started for a test. */
export interface TestServer {
  /** `host:port`. */
  addr: string;
  /** Stop and close every connection. */
  close(): Promise<void>;
}

/**
 * Start the project's echo server on port 0.
 *
 * @returns The server.
 */
export function echoServer(): TestServer {
  const echo = startEcho({ listen_addr: "127.0.0.1:0", metrics_addr: "off", log_level: "error" });
  return { addr: echo.addr, close: async () => void (await echo.shutdown(0)) };
}

/** How a misbehaving server treats each chunk it echoes. */
export type ChunkHook = (chunk: Uint8Array, conn: number) => Promise<void> | void;

/**
 * An echo server that calls `hook` on every chunk before echoing it (it may change the bytes
 * or wait); `closeAtOnce` closes every connection without reading.
 *
 * @param hook Called per chunk.
 * @param closeAtOnce Close accepted connections immediately.
 * @returns The server.
 */
export function customServer(hook: ChunkHook, closeAtOnce = false): TestServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const handlers: Promise<void>[] = [];
  let count = 0;
  const serve = async (conn: Deno.Conn, id: number) => {
    const buf = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await conn.read(buf);
        if (n === null) break;
        const chunk = buf.subarray(0, n);
        await hook(chunk, id);
        let written = 0;
        while (written < n) written += await conn.write(chunk.subarray(written));
      }
    } catch {
      // closed by the test or the client
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch { /* already closed */ }
    }
  };
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        if (closeAtOnce) {
          conn.close();
          continue;
        }
        conns.add(conn);
        handlers.push(serve(conn, count++));
      }
    } catch {
      // listener closed
    }
  })();
  const { port } = listener.addr as Deno.NetAddr;
  return {
    addr: `127.0.0.1:${port}`,
    async close() {
      listener.close();
      await accepting;
      for (const conn of conns) {
        try {
          conn.close();
        } catch { /* already closed */ }
      }
      await Promise.all(handlers);
    },
  };
}

/**
 * A scenario with test-friendly defaults.
 *
 * @param overrides Keys to change.
 * @returns The scenario.
 */
export function scenario(overrides: Partial<Scenario> = {}): Scenario {
  return {
    name: "test",
    mode: "pingpong",
    connections: 4,
    duration_secs: 0.3,
    message_size: 1024,
    rate: 0,
    warmup_secs: 0,
    ...overrides,
  };
}

/**
 * A free port with nothing listening on it (bound, then closed).
 *
 * @returns The address.
 */
export function deadAddr(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return `127.0.0.1:${port}`;
}
