import assert from "node:assert/strict";
import { Progress } from "./progress.ts";
import { fakeResult } from "./_testing.ts";

const status = {
  scenario: "baseline",
  elapsed_secs: 2.5,
  duration_secs: 5,
  warming_up: false,
  requests: 1000,
  errors: { reset: 1, mismatch: 2 },
  latency: { min: 1, mean: 2, p50: 3, p90: 4, p95: 5, p99: 1500, p999: 7, max: 8 },
};

Deno.test("Progress.line() shows elapsed/total, rate, p99 and errors", () => {
  assert.equal(
    Progress.line(status, 12345.6),
    "baseline: 2.5/5.0s | 12,346 req/s | p99 1.50ms | errors 3",
  );
  assert.match(Progress.line({ ...status, warming_up: true }, 0), /warming up/);
});

Deno.test("Progress rewrites one line in place on a terminal and clears it at the end", async () => {
  const out: string[] = [];
  const progress = new Progress({ tty: true, write: (t) => out.push(t) });
  const { promise, resolve } = Promise.withResolvers<void>();
  progress.start(() => {
    queueMicrotask(resolve);
    return status;
  });
  await promise;
  progress.stop();
  assert.ok(out[0]!.startsWith("\r\x1b[2Kbaseline: 2.5/5.0s"));
  assert.equal(out.at(-1), "\r\x1b[2K");
});

Deno.test("Progress leaves one final line per finished scenario", () => {
  const out: string[] = [];
  const progress = new Progress({ tty: false, write: (t) => out.push(t) });
  progress.start(() => status);
  progress.stop(fakeResult("baseline", [100, 200, 3000]));
  assert.deepEqual(out, ["baseline: done in 1.0s | 3 req/s | p99 3.00ms | errors 0\n"]);
});
