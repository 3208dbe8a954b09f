/**
 * The read/write copy loop behind the loop relay and the echo server.
 *
 * @module
 */

/** Byte counters a copy loop increments per chunk: `up` client to upstream, `down` back. */
export interface RelayStats {
  /** Bytes copied in the `up` direction so far. */
  up: number;
  /** Bytes copied in the `down` direction so far. */
  down: number;
}

/** Which counter of {@linkcode RelayStats} a copy loop increments. */
export type Direction = keyof RelayStats;

/** Anything with `read(buffer)`, like `Deno.Conn`. */
export interface ByteReader {
  /** Read into `p`; resolves to the count, or `null` at end of input. */
  read(p: Uint8Array): Promise<number | null>;
}

/** Anything with `write(bytes)`, like `Deno.Conn`. */
export interface ByteWriter {
  /** Write some of `p`; resolves to the count written. */
  write(p: Uint8Array): Promise<number>;
}

/** First buffer of every direction: small, so idle connections stay cheap (measured: 4 KiB
 * buffers cost ~31 KiB RSS per idle proxied connection, 512 B ~21 KiB; Deno's own floor for two
 * sockets with pending reads is ~17 KiB). */
export const INITIAL_BUFFER = 512;
/** Largest buffer a busy direction grows to. */
export const MAX_BUFFER = 256 * 1024;
const GROWTH = 4;
/** Consecutive reads using under 1/SHRINK_RATIO of the buffer before it shrinks back. */
const SHRINK_AFTER = 64;
const SHRINK_RATIO = 8;

/**
 * A read buffer that starts at {@linkcode INITIAL_BUFFER}, grows when a read fills it (bulk
 * transfer) and shrinks back after a run of small reads: idle connections stay cheap.
 */
export class AdaptiveBuffer {
  /** The buffer to read into next. */
  buf: Uint8Array = new Uint8Array(INITIAL_BUFFER);
  #small = 0;

  /**
   * Adjust the size after a read of `n` bytes (call once the bytes have been used).
   *
   * @param n Bytes the last read returned.
   */
  afterRead(n: number): void {
    const size = this.buf.length;
    if (n === size) {
      if (size < MAX_BUFFER) this.buf = new Uint8Array(Math.min(size * GROWTH, MAX_BUFFER));
      this.#small = 0;
    } else if (size > INITIAL_BUFFER && n * SHRINK_RATIO < size && ++this.#small >= SHRINK_AFTER) {
      this.buf = new Uint8Array(INITIAL_BUFFER);
      this.#small = 0;
    }
  }
}

/**
 * Copy from `src` to `dst` until `src` ends, reading into an {@linkcode AdaptiveBuffer}.
 *
 * @param src Where to read.
 * @param dst Where to write (may be `src` itself: an echo).
 * @param stats Counters to increment.
 * @param dir Which counter.
 * @returns Resolves at end of input; rejects on a socket error.
 * @example
 * ```ts
 * const stats = { up: 0, down: 0 };
 * await copyLoop(client, upstream, stats, "up");
 * ```
 */
export async function copyLoop(
  src: ByteReader,
  dst: ByteWriter,
  stats: RelayStats,
  dir: Direction,
): Promise<void> {
  const buffer = new AdaptiveBuffer();
  for (;;) {
    const buf = buffer.buf;
    const n = await src.read(buf);
    if (n === null) return;
    stats[dir] += n;
    let off = await dst.write(n === buf.length ? buf : buf.subarray(0, n));
    while (off < n) off += await dst.write(buf.subarray(off, n));
    buffer.afterRead(n);
  }
}
