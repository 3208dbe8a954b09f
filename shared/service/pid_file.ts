/**
 * The optional `pid_file`: the process id written at start, removed at exit.
 *
 * @module
 */

import { ServiceError } from "./errors.ts";

/**
 * Write `Deno.pid` to `path` and remove the file when the process exits (a graceful stop, a
 * forced second signal or `Deno.exit`).
 *
 * @param path Where to write the PID.
 * @returns A function removing the file now (idempotent).
 * @throws {ServiceError} When the file cannot be written (missing directory, no permission).
 * @example
 * ```ts
 * const remove = writePidFile("/tmp/monkey-proxy.pid");
 * remove();
 * ```
 */
export function writePidFile(path: string): () => void {
  try {
    Deno.writeTextFileSync(path, `${Deno.pid}\n`);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "its directory does not exist"
      : error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied
      ? "permission denied (run with --allow-write=PATH)"
      : (error as Error).message.split("\n")[0];
    throw new ServiceError(`Cannot write pid_file ${path}: ${why}`);
  }
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    globalThis.removeEventListener("unload", remove);
    try {
      Deno.removeSync(path);
    } catch {
      // Already gone (removed by hand): nothing to clean up.
    }
  };
  globalThis.addEventListener("unload", remove);
  return remove;
}
