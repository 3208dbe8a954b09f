/**
 * Load-balancer test helpers: tagged echo backends (they say who they are) and clients that
 * read which backend answered. Generic helpers (`waitFor`, `readLine`, `closedPortAddr`,
 * `splitAddr`) come from `@monkey/testing`.
 *
 * @module
 */

import { acceptLoop, dial, echoUntilEof, readLine, writeAll } from "@monkey/testing";

/** Echo buffer of a tagged backend. */
const ECHO_BUFFER = 16 * 1024;

/** A backend that writes `<tag>\n` on every connection, then echoes. */
export interface TaggedBackend {
  /** Its `host:port`. */
  readonly addr: string;
  /** Its tag. */
  readonly tag: string;
  /** Connections open now. */
  readonly open: number;
  /** Close the listener and every connection; resolves when all handlers ended. */
  close(): Promise<void>;
}

/**
 * Start a tagged echo backend on 127.0.0.1 (port 0 unless given).
 *
 * @param tag What it says on connect.
 * @param port Port to bind. @default 0
 * @returns The running backend.
 * @example
 * ```ts
 * const a = startTagged("a");
 * assert.equal(await tagOf(a.addr), "a");
 * ```
 */
export function startTagged(tag: string, port = 0): TaggedBackend {
  const greeting = new TextEncoder().encode(`${tag}\n`);
  const loop = acceptLoop(async (conn) => {
    await writeAll(conn, greeting);
    await echoUntilEof(conn, { bufferSize: ECHO_BUFFER });
  }, { port });
  return {
    addr: loop.addr,
    tag,
    get open() {
      return loop.live.size;
    },
    close: () => loop.close(),
  };
}

/**
 * Connect to a balancer in front of tagged backends and read which backend answered.
 *
 * @param addr The balancer's address.
 * @returns The connection and the tag (null when the balancer closed it).
 * @example
 * ```ts
 * const { conn, tag } = await connectTagged(lb.addr);
 * ```
 */
export async function connectTagged(
  addr: string,
): Promise<{ conn: Deno.TcpConn; tag: string | null }> {
  const conn = await dial(addr);
  return { conn, tag: await readLine(conn) };
}

/**
 * Open a connection, read the tag, close it.
 *
 * @param addr The balancer's address.
 * @returns The tag, or null when the balancer closed the client.
 * @example
 * ```ts
 * const tags = await Promise.all([tagOf(lb.addr), tagOf(lb.addr)]);
 * ```
 */
export async function tagOf(addr: string): Promise<string | null> {
  const { conn, tag } = await connectTagged(addr);
  conn.close();
  return tag;
}

/**
 * Send a line and read it back.
 *
 * @param conn A connection to an echo.
 * @param text The line (no newline).
 * @returns What came back.
 * @example
 * ```ts
 * assert.equal(await echoLine(conn, "ping"), "ping");
 * ```
 */
export async function echoLine(conn: Deno.Conn, text: string): Promise<string | null> {
  await writeAll(conn, new TextEncoder().encode(`${text}\n`));
  return await readLine(conn);
}
