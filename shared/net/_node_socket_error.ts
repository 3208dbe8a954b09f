/**
 * Node socket errors as the `Deno.errors` classes the relay classifies (reset, broken pipe).
 *
 * @module
 */

const BY_CODE: Record<string, new (message: string) => Error> = {
  ECONNRESET: Deno.errors.ConnectionReset,
  EPIPE: Deno.errors.BrokenPipe,
  ERR_STREAM_DESTROYED: Deno.errors.BrokenPipe,
  ERR_STREAM_WRITE_AFTER_END: Deno.errors.BrokenPipe,
  ERR_STREAM_PREMATURE_CLOSE: Deno.errors.UnexpectedEof,
};

/**
 * Map an error a `node:net`/`node:tls` socket emitted to a `Deno.errors` class where one fits;
 * `Deno.errors` (from the connection underneath) and TLS errors pass unchanged.
 *
 * @param error What the socket emitted.
 * @returns The error to throw from `read`/`write`.
 */
export function nodeSocketError(error: Error): Error {
  const code = (error as { code?: unknown }).code;
  const Mapped = typeof code === "string" ? BY_CODE[code] : undefined;
  return Mapped === undefined ? error : new Mapped(error.message);
}
