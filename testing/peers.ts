/**
 * Helpers for tests of TCP services: payloads, full reads and writes, condition waits, and
 * loopback peers that misbehave on purpose. Imported as `@monkey/testing`; never used
 * by the services themselves.
 *
 * @module
 */

import { formatAddress } from "@monkey/shared";
import { type LineProcess, spawnLines } from "./process.ts";

/** Largest chunk `crypto.getRandomValues` fills at once. */
const RANDOM_CHUNK = 65_536;

/**
 * Random bytes of any length.
 *
 * @param n Length.
 * @returns Fresh random bytes.
 */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let off = 0; off < n; off += RANDOM_CHUNK) {
    crypto.getRandomValues(out.subarray(off, off + RANDOM_CHUNK));
  }
  return out;
}

/**
 * SHA-256 of some bytes, as hex.
 *
 * @param data Bytes.
 * @returns Hex digest.
 */
export async function sha256(data: Uint8Array): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>),
  );
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Write all of `data`.
 *
 * @param conn Destination.
 * @param data Bytes.
 */
export async function writeAll(
  conn: { write(p: Uint8Array): Promise<number> },
  data: Uint8Array,
): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

/**
 * Read until end of input.
 *
 * @param conn Source.
 * @returns Everything read.
 */
export async function readAll(
  conn: { read(p: Uint8Array): Promise<number | null> },
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buf = new Uint8Array(RANDOM_CHUNK);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    chunks.push(buf.slice(0, n));
    total += n;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const chunk of chunks) {
    out.set(chunk, off);
    off += chunk.length;
  }
  return out;
}

/**
 * Read exactly `n` bytes.
 *
 * @param conn Source.
 * @param n Byte count.
 * @returns The bytes.
 * @throws {Error} When input ends first.
 */
export async function readExactly(
  conn: { read(p: Uint8Array): Promise<number | null> },
  n: number,
): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const got = await conn.read(out.subarray(off));
    if (got === null) throw new Error(`connection ended after ${off} of ${n} bytes`);
    off += got;
  }
  return out;
}

/**
 * Resolve how a read ends: "eof" (orderly close), "reset" (or other socket error), or data.
 *
 * @param conn Source.
 * @returns "eof", "reset", or "data".
 */
export async function readOutcome(
  conn: { read(p: Uint8Array): Promise<number | null> },
): Promise<"eof" | "reset" | "data"> {
  try {
    const n = await conn.read(new Uint8Array(1024));
    return n === null ? "eof" : "data";
  } catch {
    return "reset";
  }
}

/**
 * Poll `condition` until it holds or `timeoutMs` passes. For state with no event to await
 * (a counter in another component); prefer awaiting an event where one exists.
 *
 * @param condition Checked every few ms.
 * @param timeoutMs Deadline. @default 5000
 * @param what Description for the timeout error.
 * @throws {Error} On timeout.
 */
export async function waitFor(
  condition: () => boolean,
  timeoutMs = 5000,
  what = "condition",
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Connect to a `host:port` address (IPv4 or bracketed IPv6).
 *
 * @param addr Address.
 * @returns The connection.
 */
export function dial(addr: string): Promise<Deno.TcpConn> {
  const v6 = addr.startsWith("[");
  const host = v6 ? addr.slice(1, addr.indexOf("]")) : addr.slice(0, addr.lastIndexOf(":"));
  const port = Number(addr.slice(addr.lastIndexOf(":") + 1));
  return Deno.connect({ hostname: host, port });
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
 */
export function startPeer(onConn: (conn: Deno.TcpConn) => Promise<void> | void): TestPeer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.TcpConn[] = [];
  const tasks: Promise<void>[] = [];
  const loop = (async () => {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      accepted.push(conn);
      tasks.push((async () => {
        try {
          await onConn(conn);
        } catch {
          // Peers misbehave on purpose; their errors are not the test's subject.
        }
      })());
    }
  })();
  const close = async () => {
    try {
      listener.close();
    } catch {
      // Already closed.
    }
    await loop;
    for (const conn of accepted) {
      try {
        conn.close();
      } catch {
        // Already closed by the handler.
      }
    }
    await Promise.allSettled(tasks);
  };
  return { addr: formatAddress(listener.addr), accepted, close, [Symbol.asyncDispose]: close };
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

/**
 * Run `deno <args>` from the repository root and collect its output lines as they come.
 *
 * @param args Arguments after `deno`, e.g. `["task", "proxy", "--listen", "127.0.0.1:0"]`.
 * @param cwd Working directory (the repository root).
 * @returns The running child.
 */
export function spawnDeno(args: string[], cwd: string): LineProcess {
  return spawnLines(Deno.execPath(), args, { cwd });
}

/**
 * Run `deno <args>` to completion.
 *
 * @param args Arguments after `deno`.
 * @param cwd Working directory.
 * @returns Exit code and the stdout and stderr text.
 */
export async function runDeno(
  args: string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** A permission a test may need beyond `--allow-net`. */
export type TestPermission = "read" | "write" | "run" | "env" | "sys";

/**
 * Test options that ignore a test when a permission it needs was not granted, so that
 * `deno test --allow-net` alone passes and reports such tests as ignored (`deno task test`
 * grants them all).
 *
 * @param names Permissions the test needs.
 * @returns Options for `Deno.test(name, options, fn)`.
 * @example
 * ```ts
 * Deno.test("CLI exits 2 on a bad flag", requires("run", "read"), async () => {});
 * ```
 */
export function requires(...names: TestPermission[]): { ignore: boolean } {
  return {
    ignore: !names.every((name) => Deno.permissions.querySync({ name }).state === "granted"),
  };
}
