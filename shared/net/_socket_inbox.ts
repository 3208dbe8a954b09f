/**
 * The read side of a `node:net`/`node:tls` socket as promise reads: what a {@linkcode NetConn}
 * adapter over a node socket needs (the insecure upstream TLS, server TLS after a PROXY
 * header). Node socket errors become the `Deno.errors` classes the relay classifies.
 *
 * @module
 */

import type { Readable } from "node:stream";
import type { NetConn } from "./engine.ts";

const BY_CODE: Record<string, new (message: string) => Error> = {
  ECONNRESET: Deno.errors.ConnectionReset,
  EPIPE: Deno.errors.BrokenPipe,
  ERR_STREAM_DESTROYED: Deno.errors.BrokenPipe,
  ERR_STREAM_WRITE_AFTER_END: Deno.errors.BrokenPipe,
  ERR_STREAM_PREMATURE_CLOSE: Deno.errors.UnexpectedEof,
};

/**
 * Map an error a node socket emitted to a `Deno.errors` class where one fits; `Deno.errors`
 * (from a connection underneath) and TLS errors pass unchanged.
 *
 * @param error What the socket emitted.
 * @returns The error to throw from `read`/`write`.
 */
export function nodeSocketError(error: Error): Error {
  const code = (error as { code?: unknown }).code;
  const Mapped = typeof code === "string" ? BY_CODE[code] : undefined;
  return Mapped === undefined ? error : new Mapped(error.message);
}

/**
 * Collects a node socket's `data` into a queue that `read()` drains, pausing the socket while
 * `highWater` bytes wait.
 */
export class SocketInbox {
  #socket: Readable;
  #highWater: number;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;

  /**
   * Listen to `socket`.
   *
   * @param socket The node socket.
   * @param highWater Pause the socket while this many bytes wait to be read.
   */
  constructor(socket: Readable, highWater: number) {
    this.#socket = socket;
    this.#highWater = highWater;
    socket.on("data", (chunk: Uint8Array) => {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      if (this.#buffered >= highWater) socket.pause();
      this.#notify();
    });
    socket.on("end", () => this.end());
    socket.on("error", (error: Error) => {
      this.#error ??= nodeSocketError(error);
      this.#notify();
    });
    socket.on("close", () => this.end());
  }

  /** The first error the socket emitted, mapped. */
  get error(): Error | undefined {
    return this.#error;
  }

  /** No more data will come (also wakes a pending `read`). */
  end(): void {
    this.#ended = true;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /**
   * Read queued bytes into `p`, waiting for some.
   *
   * @param p The buffer.
   * @returns The count, or null at the end.
   * @throws {Error} The socket's error, once the queue is empty.
   */
  async read(p: Uint8Array): ReturnType<NetConn["read"]> {
    for (;;) {
      const chunk = this.#chunks[0];
      if (chunk !== undefined) {
        const n = Math.min(p.length, chunk.length);
        p.set(chunk.subarray(0, n));
        if (n === chunk.length) this.#chunks.shift();
        else this.#chunks[0] = chunk.subarray(n);
        this.#buffered -= n;
        if (this.#buffered < this.#highWater && this.#socket.isPaused()) this.#socket.resume();
        return n;
      }
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }
}
