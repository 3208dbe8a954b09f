/**
 * Turning an `errno` into the error Deno itself would throw, so callers' existing
 * `instanceof Deno.errors.*` handling keeps working.
 *
 * @module
 */

import { strerror } from "./_libc.ts";

/** errno values the engine tests for (Linux, x86_64 and aarch64). */
export const EINTR = 4;
/** Resource temporarily unavailable: try again once the fd is ready. */
export const EAGAIN = 11;
/** Connect on a non-blocking socket is under way. */
export const EINPROGRESS = 115;
/** A connection was aborted before accept() returned it. */
export const ECONNABORTED = 103;

const NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  4: "EINTR",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  32: "EPIPE",
  97: "EAFNOSUPPORT",
  98: "EADDRINUSE",
  99: "EADDRNOTAVAIL",
  100: "ENETDOWN",
  101: "ENETUNREACH",
  103: "ECONNABORTED",
  104: "ECONNRESET",
  105: "ENOBUFS",
  107: "ENOTCONN",
  110: "ETIMEDOUT",
  111: "ECONNREFUSED",
  113: "EHOSTUNREACH",
  115: "EINPROGRESS",
};

type ErrorClass = new (message: string) => Error;

const CLASSES: Record<number, ErrorClass> = {
  1: Deno.errors.PermissionDenied,
  13: Deno.errors.PermissionDenied,
  9: Deno.errors.BadResource,
  32: Deno.errors.BrokenPipe,
  98: Deno.errors.AddrInUse,
  99: Deno.errors.AddrNotAvailable,
  103: Deno.errors.ConnectionAborted,
  104: Deno.errors.ConnectionReset,
  107: Deno.errors.NotConnected,
  110: Deno.errors.TimedOut,
  111: Deno.errors.ConnectionRefused,
};

/** Errors that mean the peer or the path went away, not a fault of ours: a relay "reset". */
const PEER_GONE = new Set([32, 100, 101, 103, 104, 107, 110, 113]);

/**
 * The error Deno would throw for `code`: a `Deno.errors` class where Deno uses one, else a
 * plain `Error`; the message is "<strerror text> (os error N)" and `code` the errno name.
 *
 * @param code An errno value.
 * @returns The error, not thrown.
 * @example
 * ```ts
 * const error = osError(111); // Deno.errors.ConnectionRefused
 * console.log(error.message); // "Connection refused (os error 111)"
 * ```
 */
export function osError(code: number): Error {
  const Class = CLASSES[code] ?? Error;
  const error = new Class(`${strerror(code)} (os error ${code})`);
  Object.defineProperty(error, "code", {
    value: NAMES[code] ?? `E${code}`,
    enumerable: false,
    writable: true,
    configurable: true,
  });
  return error;
}

/**
 * Whether an errno means the peer reset or the path died (the relay's "reset").
 *
 * @param code An errno value.
 * @returns True for ECONNRESET, EPIPE, ETIMEDOUT, ENOTCONN and the unreachable family.
 * @example
 * ```ts
 * isPeerGone(104); // true: ECONNRESET
 * ```
 */
export function isPeerGone(code: number): boolean {
  return PEER_GONE.has(code);
}

/**
 * The error for using a closed connection or listener.
 *
 * @param what What was used, e.g. "read on a closed EpollConn".
 * @returns A `Deno.errors.BadResource`.
 * @example
 * ```ts
 * throw badResource("read on a closed EpollConn");
 * ```
 */
export function badResource(what: string): Error {
  return new Deno.errors.BadResource(`Bad resource ID: ${what}`);
}
