/**
 * Test helpers: tagged echo backends (they say who they are), line reading, polling.
 *
 * @module
 */

import { formatAddress } from "@monkey/shared";

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
 */
export function startTagged(tag: string, port = 0): TaggedBackend {
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const conns = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  const greeting = new TextEncoder().encode(`${tag}\n`);
  const serve = async (conn: Deno.Conn) => {
    try {
      await conn.write(greeting);
      const buf = new Uint8Array(16 * 1024);
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        let off = 0;
        while (off < n) off += await conn.write(buf.subarray(off, n));
      }
    } catch {
      // Closed by close() or the peer.
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
  };
  const loop = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      conns.add(conn);
      const task = serve(conn).finally(() => tasks.delete(task));
      tasks.add(task);
    }
  })();
  return {
    addr: formatAddress(listener.addr as Deno.NetAddr),
    tag,
    get open() {
      return conns.size;
    },
    async close() {
      listener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      }
      await loop;
      await Promise.all([...tasks]);
    },
  };
}

/**
 * Read one `\n`-terminated line (byte by byte: nothing past the newline is consumed).
 *
 * @param conn The connection.
 * @returns The line without its newline, or null at EOF before any byte.
 */
export async function readLine(conn: Deno.Conn): Promise<string | null> {
  const one = new Uint8Array(1);
  const bytes: number[] = [];
  for (;;) {
    const n = await conn.read(one);
    if (n === null) {
      return bytes.length === 0 ? null : new TextDecoder().decode(new Uint8Array(bytes));
    }
    if (one[0] === 0x0a) return new TextDecoder().decode(new Uint8Array(bytes));
    bytes.push(one[0]!);
  }
}

/**
 * Connect to a balancer in front of tagged backends and read which backend answered.
 *
 * @param addr The balancer's address.
 * @returns The connection and the tag (null when the balancer closed it).
 */
export async function connectTagged(
  addr: string,
): Promise<{ conn: Deno.TcpConn; tag: string | null }> {
  const [hostname, port] = splitAddr(addr);
  const conn = await Deno.connect({ hostname, port });
  return { conn, tag: await readLine(conn) };
}

/**
 * Open a connection, read the tag, close it.
 *
 * @param addr The balancer's address.
 * @returns The tag, or null when the balancer closed the client.
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
 */
export async function echoLine(conn: Deno.Conn, text: string): Promise<string | null> {
  await conn.write(new TextEncoder().encode(`${text}\n`));
  return await readLine(conn);
}

/**
 * Split `host:port` (IPv4 or hostname) for `Deno.connect`.
 *
 * @param addr The address.
 * @returns Host and port.
 */
export function splitAddr(addr: string): [string, number] {
  const colon = addr.lastIndexOf(":");
  return [addr.slice(0, colon).replace(/^\[|\]$/g, ""), Number(addr.slice(colon + 1))];
}

/**
 * Poll `condition` every 10 ms until it holds; throw after `timeoutMs`.
 *
 * @param condition What to wait for.
 * @param what Named in the timeout error.
 * @param timeoutMs Deadline. @default 5000
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * A port that was free a moment ago (bound and released): connects to it are refused.
 *
 * @returns `127.0.0.1:<port>`.
 */
export function closedPortAddr(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const addr = formatAddress(listener.addr as Deno.NetAddr);
  listener.close();
  return addr;
}
