/**
 * Error kinds a load run counts, and mapping thrown errors to them.
 *
 * @module
 */

import { ConnectError } from "@monkey/shared";

/** Every kind of error a run reports. */
export const ERROR_KINDS = [
  "connect_refused",
  "connect_timeout",
  "connect_local",
  "connect_other",
  "reset",
  "timeout",
  "mismatch",
  "short_read",
  "reply_error",
  "http_status",
  "unexpected_reply",
  "other",
] as const;

/** One kind of error. */
export type ErrorKind = typeof ERROR_KINDS[number];

/** Counts per error kind. */
export type ErrorCounts = Record<ErrorKind, number>;

/**
 * Zero counts for every kind.
 *
 * @returns A fresh object.
 */
export function emptyErrorCounts(): ErrorCounts {
  return Object.fromEntries(ERROR_KINDS.map((k) => [k, 0])) as ErrorCounts;
}

/**
 * Sum of all counts.
 *
 * @param counts Counts per kind.
 * @returns The total.
 */
export function totalErrors(counts: Readonly<Record<string, number>>): number {
  let total = 0;
  for (const value of Object.values(counts)) total += value;
  return total;
}

/**
 * Add `from` into `into` (unknown kinds are kept as they are).
 *
 * @param into Accumulator.
 * @param from Counts to add.
 */
export function addErrorCounts(
  into: Record<string, number>,
  from: Readonly<Record<string, number>>,
): void {
  for (const [kind, n] of Object.entries(from)) into[kind] = (into[kind] ?? 0) + n;
}

/**
 * Classify an error thrown by connect, read or write.
 *
 * @param error The error.
 * @returns Its kind.
 */
export function classifyError(error: unknown): ErrorKind {
  if (error instanceof ConnectError) {
    if (error.kind === "refused") return "connect_refused";
    if (error.kind === "timeout") return "connect_timeout";
    // Out of descriptors or ports on this machine: the load tester's limit, not the target's.
    if (error.kind === "local") return "connect_local";
    return "connect_other";
  }
  if (
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionAborted
  ) {
    return "reset";
  }
  if (error instanceof Deno.errors.TimedOut) return "timeout";
  if (error instanceof Deno.errors.UnexpectedEof) return "short_read";
  if (error instanceof LoadError) return error.kind;
  return "other";
}

/** A failure a load loop throws with its kind (a short read, a reply that cannot be parsed). */
export class LoadError extends Error {
  /** Its kind. */
  readonly kind: ErrorKind;
  /**
   * A failure of a known kind.
   *
   * @param kind Its kind.
   * @param message What happened.
   */
  constructor(kind: ErrorKind, message: string) {
    super(message);
    this.kind = kind;
  }
}
