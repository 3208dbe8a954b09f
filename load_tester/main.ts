/**
 * `deno task load-test`: run `load_test.toml` (or flags) against a target and print the report.
 *
 * Ctrl+C stops early, prints the partial report and exits 0; a second Ctrl+C (more than 300 ms
 * later: under `deno task` one keypress arrives twice) exits at once.
 *
 * @module
 */

import { runMain } from "@monkey/shared";
import { loadTestCli } from "./cli.ts";

/** Exit code when a second signal forces the process out. */
const EXIT_FORCED = 130;
/**
 * A repeat within this many ms is the same Ctrl+C: under `deno task` the terminal signals the
 * whole process group and `deno task` forwards the signal again (as the services treat it).
 */
const DUPLICATE_SIGNAL_MS = 300;

if (import.meta.main) {
  await runMain(async () => {
    const controller = new AbortController();
    const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
    let first = 0;
    const handler = () => {
      if (controller.signal.aborted) {
        if (performance.now() - first < DUPLICATE_SIGNAL_MS) return;
        Deno.exit(EXIT_FORCED);
      }
      first = performance.now();
      controller.abort();
    };
    for (const s of signals) Deno.addSignalListener(s, handler);
    try {
      const code = await loadTestCli(Deno.args, { signal: controller.signal });
      Deno.exitCode = code;
    } finally {
      // The repeat of the Ctrl+C may still be on its way: without a listener it would kill us.
      const repeatDue = first + DUPLICATE_SIGNAL_MS - performance.now();
      if (controller.signal.aborted && repeatDue > 0) {
        await new Promise((resolve) => setTimeout(resolve, repeatDue));
      }
      for (const s of signals) Deno.removeSignalListener(s, handler);
    }
  });
}
