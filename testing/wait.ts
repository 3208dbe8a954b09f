/**
 * Waiting for state that has no event to await.
 *
 * @module
 */

/** How often {@linkcode waitFor} checks. */
const POLL_MS = 5;
/** {@linkcode waitFor}'s deadline when none is given. */
const DEFAULT_TIMEOUT_MS = 5000;

/**
 * Poll `condition` until it holds or `timeoutMs` passes. For state with no event to await
 * (a counter in another component); prefer awaiting an event where one exists.
 *
 * @param condition Checked every few ms (may be async).
 * @param what What is awaited, named in the timeout error.
 * @param timeoutMs Deadline. @default 5000
 * @throws {Error} On timeout, naming `what` and the deadline.
 * @example
 * ```ts
 * await waitFor(() => server.active === 0, "connections to drain", 2000);
 * ```
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
