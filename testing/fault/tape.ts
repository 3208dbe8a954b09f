/**
 * The recorded byte stream every fault-suite payload is cut from, and the 9-byte header a
 * client sends to tell the upstream what to do. Position `p` of stream `s` is
 * `tape[(s + p) % size]`, so both ends check every byte without keeping copies.
 *
 * @module
 */

import { writeAll } from "../io.ts";

/** One KiB. */
export const KiB = 1024;
/** One MiB. */
export const MiB = 1024 * KiB;
/** Bytes on the tape (streams wrap around it). */
export const TAPE_SIZE = 1 << 20;
const TAPE_MASK = TAPE_SIZE - 1;
/** Bytes of the header: mode, seed (u32), size (u32). */
export const HEADER_BYTES = 9;
const WRITE_CHUNK = 64 * KiB;
const FILL_CHUNK = 64 * KiB;

let tapeCache: Uint8Array | undefined;

/** One MiB of random bytes, made on first use. */
function tape(): Uint8Array {
  if (tapeCache === undefined) {
    tapeCache = new Uint8Array(TAPE_SIZE);
    for (let off = 0; off < TAPE_SIZE; off += FILL_CHUNK) {
      crypto.getRandomValues(tapeCache.subarray(off, off + FILL_CHUNK));
    }
  }
  return tapeCache;
}

/** Bytes `[pos, pos + n)` of stream `seed`, at most up to the tape's end (callers loop). */
function tapeChunk(seed: number, pos: number, n: number): Uint8Array {
  const start = (seed + pos) & TAPE_MASK;
  return tape().subarray(start, Math.min(TAPE_SIZE, start + n));
}

/**
 * Bytes `[0, n)` of stream `seed`, as one array.
 *
 * @param seed Stream.
 * @param n Length.
 * @returns A copy of the bytes.
 */
export function streamBytes(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let pos = 0; pos < n;) {
    const chunk = tapeChunk(seed, pos, n - pos);
    out.set(chunk, pos);
    pos += chunk.length;
  }
  return out;
}

/**
 * Whether `chunk` equals stream `seed` at position `pos`.
 *
 * @param seed Stream.
 * @param pos Offset of `chunk` in the stream.
 * @param chunk Bytes received.
 * @returns True when every byte matches.
 */
export function matchesStream(seed: number, pos: number, chunk: Uint8Array): boolean {
  const t = tape();
  for (let i = 0; i < chunk.length; i++) {
    if (chunk[i] !== t[(seed + pos + i) & TAPE_MASK]) return false;
  }
  return true;
}

/**
 * Write bytes `[0, n)` of stream `seed` in 64 KiB pieces.
 *
 * @param conn Destination.
 * @param seed Stream.
 * @param n Length.
 * @param onBytes Called after each piece with its length.
 */
export async function writeStream(
  conn: Deno.Conn,
  seed: number,
  n: number,
  onBytes?: (n: number) => void,
): Promise<void> {
  for (let pos = 0; pos < n;) {
    const chunk = tapeChunk(seed, pos, Math.min(WRITE_CHUNK, n - pos));
    await writeAll(conn, chunk);
    pos += chunk.length;
    onBytes?.(chunk.length);
  }
}

/**
 * What the upstream does with a connection: echo (`E`), store and forward after the client's
 * FIN (`H`), send a few bytes and reset (`R`), read and never answer (`S`), flood (`F`).
 */
export type Mode = "E" | "H" | "R" | "S" | "F";

/** A decoded header. */
export interface Header {
  /** What the upstream does. */
  mode: Mode;
  /** Stream the upstream sends from. */
  seed: number;
  /** Bytes the upstream sends. */
  size: number;
}

/**
 * Encode the header a client sends first.
 *
 * @param mode What the upstream does.
 * @param seed Stream for `R` and `F`.
 * @param size Bytes for `R` and `F`.
 * @returns The 9 bytes.
 */
export function header(mode: Mode, seed: number, size: number): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES);
  const view = new DataView(out.buffer);
  out[0] = mode.charCodeAt(0);
  view.setUint32(1, seed);
  view.setUint32(5, size);
  return out;
}

/**
 * Decode a header read by the upstream.
 *
 * @param bytes The 9 bytes.
 * @returns Mode, seed and size.
 */
export function parseHeader(bytes: Uint8Array): Header {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    mode: String.fromCharCode(bytes[0]!) as Mode,
    seed: view.getUint32(1),
    size: view.getUint32(5),
  };
}
