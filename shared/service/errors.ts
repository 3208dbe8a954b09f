/**
 * Service errors and exit codes: a runtime failure is one line and exit 1, a config error exit 2.
 *
 * @module
 */

/** A runtime failure (address in use, …): `main.ts` prints its one line and exits 1. */
export class ServiceError extends Error {
  /**
   * A runtime failure with its one-line message.
   *
   * @param message One line saying what was attempted and why it failed.
   */
  constructor(message: string) {
    super(message);
    this.name = "ServiceError";
  }
}

/** Exit code for configuration errors. */
export const EXIT_CONFIG = 2;
/** Exit code for runtime failures. */
export const EXIT_RUNTIME = 1;

/**
 * Turn an error from `Deno.listen`/`Deno.serve` into a one-line {@linkcode ServiceError}.
 *
 * @param what What was being bound, e.g. "listen_addr".
 * @param addr The address.
 * @param error The caught error.
 * @returns A ServiceError to throw.
 * @example
 * ```ts
 * try {
 *   Deno.listen({ hostname: "127.0.0.1", port: 3000 });
 * } catch (error) {
 *   throw bindError("listen_addr", "127.0.0.1:3000", error);
 * }
 * ```
 */
export function bindError(what: string, addr: string, error: unknown): ServiceError {
  let reason = error instanceof Error ? error.message.split("\n")[0]! : String(error);
  if (error instanceof Deno.errors.AddrInUse) reason = "address already in use";
  else if (error instanceof Deno.errors.AddrNotAvailable) {
    reason = "address not available on this machine";
  } else if (error instanceof Deno.errors.PermissionDenied) reason = "permission denied";
  return new ServiceError(`Cannot listen on ${addr} (${what}): ${reason}`);
}
