/**
 * Byte-array helpers the services, the load generator and the tests share.
 *
 * @module
 */

/**
 * Concatenate byte arrays into a new one.
 *
 * @param parts The arrays, in order.
 * @returns Their concatenation (a copy).
 * @example
 * ```ts
 * const frame = concatBytes(header, new TextEncoder().encode("hello"));
 * ```
 */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
