/**
 * Full reads and writes on connections, and the echo loop every test backend runs.
 *
 * @module
 */

import assert from "node:assert/strict";
import { concatBytes } from "@monkey/shared";
import { randomBytes } from "./random.ts";

/** Buffer size for reads that collect or echo a whole stream. */
const READ_CHUNK = 65_536;

/** Something to read from (`Deno.Conn`, or a test double). */
export interface Readable {
  /** Read into `p`; resolves to the byte count, or null at end of input. */
  read(p: Uint8Array): Promise<number | null>;
}

/** Something to write to (`Deno.Conn`, or a test double). */
export interface Writable {
  /** Write from `p`; resolves to the byte count written. */
  write(p: Uint8Array): Promise<number>;
}

/**
 * Write all of `data`.
 *
 * @param conn Destination.
 * @param data Bytes.
 * @example
 * ```ts
 * await writeAll(conn, new TextEncoder().encode("hello"));
 * ```
 */
export async function writeAll(conn: Writable, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

/**
 * Read until end of input.
 *
 * @param conn Source.
 * @returns Everything read.
 * @example
 * ```ts
 * const bytes = await readAll(conn);
 * ```
 */
export async function readAll(conn: Readable): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(READ_CHUNK);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    chunks.push(buf.slice(0, n));
  }
  return concatBytes(...chunks);
}

/**
 * Read exactly `n` bytes.
 *
 * @param conn Source.
 * @param n Byte count.
 * @returns The bytes.
 * @throws {Error} When input ends first.
 * @example
 * ```ts
 * const head = await readExactly(conn, 9);
 * ```
 */
export async function readExactly(conn: Readable, n: number): Promise<Uint8Array> {
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
 * Read one `\n`-terminated line (byte by byte: nothing past the newline is consumed).
 *
 * @param conn Source.
 * @returns The line without its newline, or null at end of input before any byte.
 * @example
 * ```ts
 * const tag = await readLine(conn);
 * ```
 */
export async function readLine(conn: Readable): Promise<string | null> {
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
 * Resolve how a read ends: "eof" (orderly close), "reset" (or other socket error), or data.
 *
 * @param conn Source.
 * @returns "eof", "reset", or "data".
 * @example
 * ```ts
 * assert.equal(await readOutcome(conn), "eof");
 * ```
 */
export async function readOutcome(conn: Readable): Promise<"eof" | "reset" | "data"> {
  try {
    const n = await conn.read(new Uint8Array(1024));
    return n === null ? "eof" : "data";
  } catch {
    return "reset";
  }
}

/** Options for {@linkcode echoUntilEof}. */
export interface EchoOptions {
  /** Read buffer size. @default 65536 */
  bufferSize?: number;
  /** Called with each chunk before it is echoed (it may change the bytes or wait). */
  onChunk?: (chunk: Uint8Array) => Promise<void> | void;
}

/**
 * Echo everything read back to the sender until end of input (what every test backend does).
 *
 * @param conn The connection.
 * @param options Buffer size and a per-chunk hook.
 * @example
 * ```ts
 * await using peer = startPeer((conn) => echoUntilEof(conn));
 * ```
 */
export async function echoUntilEof(
  conn: Readable & Writable,
  options: EchoOptions = {},
): Promise<void> {
  const buf = new Uint8Array(options.bufferSize ?? READ_CHUNK);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) return;
    const chunk = buf.subarray(0, n);
    await options.onChunk?.(chunk);
    await writeAll(conn, chunk);
  }
}

/**
 * Close a connection or listener, ignoring that it is closed already.
 *
 * @param closable What to close.
 * @example
 * ```ts
 * closeQuietly(conn); // the peer may have closed it first
 * ```
 */
export function closeQuietly(closable: { close(): void }): void {
  try {
    closable.close();
  } catch {
    // Already closed.
  }
}

/**
 * SHA-256 of some bytes, as hex.
 *
 * @param data Bytes.
 * @returns Hex digest.
 * @example
 * ```ts
 * assert.equal(await sha256(received), await sha256(sent));
 * ```
 */
export async function sha256(data: Uint8Array): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>),
  );
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Write `n` random bytes and assert that the same bytes come back (reading while writing).
 *
 * @param conn A connection to an echo, direct or through a proxy.
 * @param n How many bytes.
 * @param message Names the case when the bytes differ.
 * @example
 * ```ts
 * await assertEchoes(await tlsDial(proxy.addr, "localhost"), 256 * 1024);
 * ```
 */
export async function assertEchoes(
  conn: Readable & Writable,
  n: number,
  message?: string,
): Promise<void> {
  const payload = randomBytes(n);
  const [, back] = await Promise.all([writeAll(conn, payload), readExactly(conn, n)]);
  assert.deepEqual(back, payload, message);
}

export { concatBytes };
