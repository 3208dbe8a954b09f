import assert from "node:assert/strict";
import { requires, spawnLines } from "@monkey/testing";
import { Logger, memorySink } from "./logger.ts";
import { startSummaryLogger } from "./main.ts";

const FAKE = new URL("./testdata/fake_service.ts", import.meta.url).pathname;
const CLI = requires("run", "read");

Deno.test("startSummaryLogger() never overlaps a line that is still being built", async () => {
  const { sink, lines } = memorySink();
  let calls = 0;
  const first = Promise.withResolvers<string>();
  const second = Promise.withResolvers<void>();
  const stop = startSummaryLogger(0.005, () => {
    calls++;
    if (calls === 1) return first.promise;
    second.resolve();
    return "[METRICS] second";
  }, new Logger({ sink }));
  // While the first line hangs, many intervals pass: none may start another line.
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.equal(calls, 1, "no second call while the first is pending");
  first.resolve("[METRICS] first");
  await second.promise;
  stop();
  assert.equal(calls, 2);
  assert.match(lines[0]!, /INFO {2}\[METRICS\] first$/);
});

Deno.test("startSummaryLogger() logs a failing line as a warning, not an unhandled rejection", async () => {
  const { sink, lines } = memorySink();
  const failed = Promise.withResolvers<void>();
  let calls = 0;
  const stop = startSummaryLogger(0.005, () => {
    calls++;
    if (calls === 2) failed.resolve();
    return Promise.reject(new Error("worker gone\nstack"));
  }, new Logger({ sink }));
  await failed.promise;
  stop();
  assert.match(lines[0]!, /WARN {2}cannot build the summary line: worker gone$/);
  assert.equal(calls, 2, "keeps going after a failure");
});

Deno.test("startSummaryLogger() with 0 seconds never calls line()", () => {
  const stop = startSummaryLogger(0, () => assert.fail("called"), new Logger());
  stop();
});

Deno.test("serviceMain() drains on SIGTERM and prints the final summary", CLI, async () => {
  await using proc = spawnLines(Deno.execPath(), ["run", "--allow-read", FAKE, "--count", "3"]);
  await proc.waitForLine(/fake on 127\.0\.0\.1:1 \(pid \d+\)$/);
  const status = await proc.stop("SIGTERM");
  assert.equal(status.code, 0);
  const text = proc.lines.join("\n");
  assert.match(
    text,
    /shutting down \(SIGTERM\): no new connections; send SIGTERM again to exit at once/,
  );
  assert.doesNotMatch(text, /Ctrl\+C/, "SIGTERM does not come from a keyboard");
  assert.match(text, /\[METRICS\] count: 3/);
  assert.match(text, /stopped after 0\.5s: 3 connections$/m);
});
