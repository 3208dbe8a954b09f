/**
 * A growable byte buffer requests are rendered into (reused, so steady state allocates
 * nothing), and the short escaped samples error reports carry.
 *
 * @module
 */

const ZERO = 0x30;
const INITIAL = 4096;
/** Up to this many bytes a copy loop beats `TypedArray.set` (measured: CRLFs, short keys). */
const LOOP_COPY_MAX = 32;
/** Bytes {@linkcode indexOfByte} scans in a loop before it calls the native search. */
const LOOP_SCAN_MAX = 256;
/** Integers below this take the 32-bit path in {@linkcode ByteBuffer.pushInt}. */
const INT32_LIMIT = 0x80000000;
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
    this.pushRange(data, 0, data.length);
  }

  /**
   * Append `n` bytes of `data` from `from` (no view allocated).
   *
   * @param data Bytes.
   * @param from First index.
   * @param n How many.
   */
  pushRange(data: Uint8Array, from: number, n: number): void {
    this.ensure(n);
    const bytes = this.bytes;
    const at = this.length;
    if (n <= LOOP_COPY_MAX) {
      for (let i = 0; i < n; i++) bytes[at + i] = data[from + i]!;
    } else bytes.set(from === 0 && n === data.length ? data : data.subarray(from, from + n), at);
    this.length = at + n;
  }

  /** Append `\r\n`. */
  pushCrlf(): void {
    this.ensure(2);
    this.bytes[this.length] = 0x0d;
    this.bytes[this.length + 1] = 0x0a;
    this.length += 2;
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
    const bytes = this.bytes;
    let at = this.length + digits;
    this.length = at;
    if (n < INT32_LIMIT) {
      let v = n | 0;
      do {
        const q = (v / 10) | 0;
        bytes[--at] = ZERO + v - q * 10;
        v = q;
      } while (v > 0);
      return;
    }
    do {
      bytes[--at] = ZERO + (n % 10);
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
  if (n < 10) return 1;
  if (n < 100) return 2;
  if (n < 1000) return 3;
  if (n < 10000) return 4;
  if (n < 100000) return 5;
  if (n < 1000000) return 6;
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
 * Index of `byte` in `buf[from, end)`, or -1. A plain loop for the first bytes (reply lines are
 * short, and the native `indexOf` costs ~40 ns a call here), the native search past them.
 *
 * @param buf Bytes searched.
 * @param byte The byte sought.
 * @param from First index.
 * @param end End index (exclusive).
 * @returns The index of the first match.
 */
export function indexOfByte(buf: Uint8Array, byte: number, from: number, end: number): number {
  const stop = end - from > LOOP_SCAN_MAX ? from + LOOP_SCAN_MAX : end;
  for (let i = from; i < stop; i++) if (buf[i] === byte) return i;
  if (stop === end) return -1;
  const at = buf.indexOf(byte, stop);
  return at < end ? at : -1;
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
  let i = indexOfByte(hay, first, from, end);
  while (i !== -1 && i <= last) {
    let j = 1;
    while (j < needle.length && hay[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
    i = indexOfByte(hay, first, i + 1, end);
  }
  return -1;
}
