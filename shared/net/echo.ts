/**
 * The echo data path of the `deno` engine: every byte back, the client's FIN answered with ours
 * once everything is echoed.
 *
 * @module
 */

import { copyLoop, type RelayStats } from "./copy.ts";
import { isCloseError, type RelayConn, safeClose, setNoDelay, watchIdle } from "./relay.ts";

/** Options for an engine's `echo`. */
export interface EchoOptions {
  /** Close after this many ms without a byte; 0 disables. @default 0 */
  idleTimeoutMs?: number;
  /** Counters; echoed bytes are counted in `up`. @default a new object */
  stats?: RelayStats;
  /** Aborting closes the connection at once (forced shutdown). */
  signal?: AbortSignal;
}

/** Why an echo ended. */
export type EchoEnd = "done" | "reset" | "idle_timeout" | "aborted" | "error";

/** What an engine's `echo` resolves to. */
export interface EchoResult {
  /** Why it ended. */
  reason: EchoEnd;
  /** The first unexpected error, when `reason` is "error". */
  error?: unknown;
}

/**
 * Echo every byte back until the client half-closes, then half-close back and close. Never
 * rejects; the connection is closed when it resolves.
 *
 * @param conn The accepted connection.
 * @param options Idle timeout, counters, abort signal.
 * @returns Why it ended.
 * @example
 * ```ts
 * const result = await echoConn(conn, { idleTimeoutMs: 60_000 });
 * console.log(result.reason);
 * ```
 */
export async function echoConn(conn: RelayConn, options: EchoOptions = {}): Promise<EchoResult> {
  const stats = options.stats ?? { up: 0, down: 0 };
  setNoDelay(conn);
  let ended: EchoEnd | undefined;
  const close = (why: EchoEnd) => {
    ended ??= why;
    safeClose(conn);
  };
  const onAbort = () => close("aborted");
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const stopIdle = watchIdle(stats, options.idleTimeoutMs ?? 0, () => close("idle_timeout"));
  const result: EchoResult = { reason: "done" };
  try {
    await copyLoop(conn, conn, stats, "up");
    await conn.closeWrite();
  } catch (error) {
    if (ended === undefined && !isCloseError(error)) {
      result.reason = "reset";
      if (!isResetError(error)) {
        result.reason = "error";
        result.error = error;
      }
    }
  } finally {
    stopIdle();
    options.signal?.removeEventListener("abort", onAbort);
    safeClose(conn);
  }
  if (ended !== undefined) result.reason = ended;
  return result;
}

function isResetError(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset || error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionAborted || error instanceof Deno.errors.UnexpectedEof;
}
