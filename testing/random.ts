/**
 * Random bytes and the one seeded generator the tests and the fault suite share.
 *
 * @module
 */

/** Largest chunk `crypto.getRandomValues` fills at once. */
const RANDOM_CHUNK = 65_536;
/** 2^32, to map a 32-bit state to [0, 1). */
const UINT32_RANGE = 4294967296;

/**
 * Random bytes of any length.
 *
 * @param n Length.
 * @returns Fresh random bytes.
 * @example
 * ```ts
 * const payload = randomBytes(256 * 1024);
 * ```
 */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let off = 0; off < n; off += RANDOM_CHUNK) {
    crypto.getRandomValues(out.subarray(off, off + RANDOM_CHUNK));
  }
  return out;
}

/**
 * A seeded pseudo-random generator (mulberry32): the same seed gives the same sequence, so a
 * random choice made in a test (a fault plan, a strategy's coin flips) can be replayed.
 *
 * @param seed Any 32-bit integer.
 * @returns A function returning numbers in [0, 1), like `Math.random`.
 * @example
 * ```ts
 * const rand = seededRandom(42);
 * const coin = rand() < 0.5;
 * ```
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / UINT32_RANGE;
  };
}
