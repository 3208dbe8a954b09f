/**
 * A growable byte buffer requests are rendered into (reused, so steady state allocates
 * nothing), and the short escaped samples error reports carry.
 *
 * @module
 */

const ZERO = 0x30;
const INITIAL = 4096;
const MAX_SAMPLE = 48;

/** A reusable output buffer: append bytes, ASCII, integers; `reset()` to reuse. */
export class ByteBuffer {
  /** The backing bytes (replaced when it grows). */
  bytes: Uint8Array;
  /** Bytes written. */
  length = 0;

  /**
   * Start with `initial` bytes of room.
   *
   * @param initial Initial capacity.
   */
  constructor(initial = INITIAL) {
    this.bytes = new Uint8Array(initial);
  }

  /** Forget the content, keep the memory. */
  reset(): void {
    this.length = 0;
  }

  /**
   * Make room for `n` more bytes.
   *
   * @param n Bytes about to be written.
   */
  ensure(n: number): void {
    const need = this.length + n;
    if (need <= this.bytes.length) return;
    let size = Math.max(64, this.bytes.length * 2);
    while (size < need) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  /**
   * Append bytes.
   *
   * @param data Bytes.
   */
  push(data: Uint8Array): void {
    this.ensure(data.length);
    this.bytes.set(data, this.length);
    this.length += data.length;
  }

  /**
   * Append one byte.
   *
   * @param byte The byte.
   */
  pushByte(byte: number): void {
    this.ensure(1);
    this.bytes[this.length++] = byte;
  }

  /**
   * Append a non-negative integer as ASCII digits, without a string.
   *
   * @param n The integer.
   */
  pushInt(n: number): void {
    const digits = digitCount(n);
    this.ensure(digits);
    let at = this.length + digits;
    this.length = at;
    do {
      this.bytes[--at] = ZERO + (n % 10);
      n = Math.floor(n / 10);
    } while (n > 0);
  }

  /**
   * The bytes written so far (a view, valid until the next write).
   *
   * @returns A view.
   */
  view(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}

/**
 * Decimal digits of a non-negative integer.
 *
 * @param n The integer.
 * @returns 1 for 0..9, 2 for 10..99, ...
 */
export function digitCount(n: number): number {
  let digits = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    digits++;
  }
  return digits;
}

/**
 * A short printable sample of some bytes for error reports: `\r`, `\n`, `\t`, `\xNN` escaped,
 * cut with `...` after 48 bytes.
 *
 * @param bytes The bytes.
 * @returns The escaped text.
 * @example
 * ```ts
 * escapeSample(new TextEncoder().encode("-ERR x\r\n")); // "-ERR x\\r\\n"
 * ```
 */
export function escapeSample(bytes: Uint8Array): string {
  let out = "";
  const n = Math.min(bytes.length, MAX_SAMPLE);
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    if (b === 0x0d) out += "\\r";
    else if (b === 0x0a) out += "\\n";
    else if (b === 0x09) out += "\\t";
    else if (b === 0x5c) out += "\\\\";
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += `\\x${b.toString(16).padStart(2, "0")}`;
  }
  return bytes.length > MAX_SAMPLE ? out + "..." : out;
}

/**
 * Index of `needle` in `hay[from, end)`, or -1.
 *
 * @param hay Bytes searched.
 * @param needle Bytes sought (non-empty).
 * @param from First index.
 * @param end End index (exclusive).
 * @returns The index of the first match.
 */
export function indexOfBytes(
  hay: Uint8Array,
  needle: Uint8Array,
  from: number,
  end: number,
): number {
  const first = needle[0]!;
  const last = end - needle.length;
  for (let i = hay.indexOf(first, from); i !== -1 && i <= last; i = hay.indexOf(first, i + 1)) {
    let j = 1;
    while (j < needle.length && hay[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}
