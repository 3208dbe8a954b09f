import assert from "node:assert/strict";
import { isSuspectRun } from "./matrix.ts";

const run = (requests: number, duration_secs: number, errors = 0) => ({
  requests,
  duration_secs,
  errors: { total: errors, by_kind: {} },
});

Deno.test("isSuspectRun() flags a run with nothing done and no error, or the wrong measured time", () => {
  assert.equal(isSuspectRun(run(90_000, 3.001), 3), false);
  assert.equal(isSuspectRun(run(90_000, 2.5), 3), false); // within 20%
  assert.equal(isSuspectRun(run(0, 0), 3), true); // the client's timers never fired in time
  assert.equal(isSuspectRun(run(46_878, 0.919), 0.5), true); // measured far longer than planned
  assert.equal(isSuspectRun(run(1_000, 0.383), 0.5), true);
  assert.equal(isSuspectRun(run(0, 3, 10), 3), false); // a target that refuses is an error, not suspect
});
