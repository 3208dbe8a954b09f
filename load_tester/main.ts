/**
 * `deno task load-test`: run `load_test.toml` (or flags) against a target and print the report.
 *
 * Ctrl+C stops early and still prints the partial report; a second Ctrl+C exits at once.
 *
 * @module
 */

import { runMain } from "@monkey/shared";
import { loadTestCli } from "./cli.ts";

/** Exit code when a second signal forces the process out. */
const EXIT_FORCED = 130;

if (import.meta.main) {
  await runMain(async () => {
    const controller = new AbortController();
    const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
    const handler = () => {
      if (controller.signal.aborted) Deno.exit(EXIT_FORCED);
      controller.abort();
    };
    for (const s of signals) Deno.addSignalListener(s, handler);
    try {
      const code = await loadTestCli(Deno.args, { signal: controller.signal });
      Deno.exitCode = code;
    } finally {
      for (const s of signals) Deno.removeSignalListener(s, handler);
    }
  });
}
