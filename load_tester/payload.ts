/**
 * Random payloads and their cheap verification.
 *
 * @module
 */

import { Buffer } from "node:buffer";

/** `crypto.getRandomValues` fills at most this many bytes per call. */
const RANDOM_CHUNK = 65_536;

/**
 * A random payload of `size` bytes, backed by a buffer whose length is a multiple of 4 so
 * {@linkcode PayloadChecker} can compare it a word at a time.
 *
 * @param size Bytes.
 * @returns The payload.
 */
export function randomPayload(size: number): Uint8Array {
  const backing = new Uint8Array(Math.ceil(size / 4) * 4);
  for (let offset = 0; offset < backing.length; offset += RANDOM_CHUNK) {
    crypto.getRandomValues(
      backing.subarray(offset, Math.min(offset + RANDOM_CHUNK, backing.length)),
    );
  }
  return backing.subarray(0, size);
}

/**
 * Below this many bytes a JS word loop beats the native comparison's call overhead; above
 * it `Buffer.equals` (memcmp) wins: measured here 55 ns vs 311 ns at 1 KiB, 1.7 µs vs
 * 14.6 µs at 64 KiB.
 */
const NATIVE_COMPARE_FROM = 256;

/**
 * Compares a receive buffer with the payload that was sent, without allocating: a native
 * memcmp (`Buffer.equals`) for most sizes, a 32-bit XOR loop for small ones.
 *
 * @example
 * ```ts
 * const checker = new PayloadChecker(randomPayload(1024));
 * checker.received.set(checker.payload);
 * checker.matches(); // true
 * ```
 */
export class PayloadChecker {
  /** The bytes sent. */
  readonly payload: Uint8Array;
  /** The echo, once read (same length as the payload). */
  readonly received: Uint8Array;
  /**
   * Where the echo is read into: `received` and one byte more. The read that completes the
   * echo is then a short read, which tells the epoll engine the socket is drained (no read
   * that would block before the next reply), and a byte past the echo shows.
   */
  readonly room: Uint8Array;
  #sentWords: Uint32Array;
  #receivedWords: Uint32Array;
  #tail: number;
  #sentBuffer: Buffer | undefined;
  #receivedBuffer: Buffer | undefined;

  /**
   * Prepare views over the payload and a receive buffer of the same length.
   *
   * @param payload Bytes to send; if its buffer length is not a multiple of 4 it is copied.
   */
  constructor(payload: Uint8Array) {
    const words = Math.floor(payload.length / 4);
    const sent = payload.byteOffset === 0 && payload.buffer.byteLength % 4 === 0
      ? payload
      : copyAligned(payload);
    this.payload = sent;
    const receivedBacking = new Uint8Array(Math.ceil((payload.length + 1) / 4) * 4);
    this.received = receivedBacking.subarray(0, payload.length);
    this.room = receivedBacking.subarray(0, payload.length + 1);
    this.#sentWords = new Uint32Array(sent.buffer, 0, words);
    this.#receivedWords = new Uint32Array(receivedBacking.buffer, 0, words);
    this.#tail = words * 4;
    if (payload.length >= NATIVE_COMPARE_FROM) {
      this.#sentBuffer = Buffer.from(sent.buffer, sent.byteOffset, sent.length);
      this.#receivedBuffer = Buffer.from(receivedBacking.buffer, 0, payload.length);
    }
  }

  /**
   * Whether `received` equals `payload`.
   *
   * @returns True when every byte matches.
   */
  matches(): boolean {
    if (this.#sentBuffer !== undefined) return this.#sentBuffer.equals(this.#receivedBuffer!);
    const a = this.#sentWords;
    const b = this.#receivedWords;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
    if (diff !== 0) return false;
    const p = this.payload;
    const r = this.received;
    for (let i = this.#tail; i < p.length; i++) if (p[i] !== r[i]) return false;
    return true;
  }
}

function copyAligned(payload: Uint8Array): Uint8Array {
  const copy = new Uint8Array(Math.ceil(payload.length / 4) * 4);
  copy.set(payload);
  return copy.subarray(0, payload.length);
}
