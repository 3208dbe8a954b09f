import assert from "node:assert/strict";
import { closedPortAddr, requires } from "@monkey/testing";
import { isSuspectRun, runPingpongScenario } from "./matrix.ts";
import { startOurEcho } from "./ours.ts";
import { hasProgram, ProcessGroup } from "./process_group.ts";
import { buildYardsticks } from "./yardsticks.ts";

const NEEDS = requires("run", "read", "write", "env", "sys");

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

Deno.test({
  name: "runPingpongScenario() drives a target with the C client, as a load tester result",
  ...NEEDS,
  ignore: NEEDS.ignore || !hasProgram("cc"),
  async fn() {
    const built = await buildYardsticks();
    if ("skipped" in built) throw new Error(built.skipped);
    const group = new ProcessGroup();
    try {
      const echo = await startOurEcho(group);
      const scenario = {
        name: "baseline",
        mode: "pingpong" as const,
        connections: 3,
        message_size: 512,
        duration_secs: 0.3,
        rate: 0,
        warmup_secs: 0.1,
      };
      const result = await runPingpongScenario(built.pingpong, echo.addr, scenario);
      assert.equal(result.name, "baseline");
      assert.equal(result.connections, 3);
      assert.ok(result.rps > 100, `${result.rps} req/s`);
      assert.equal(result.requests, Math.round(result.rps * 0.3));
      assert.ok(result.latency_us.p50 > 0 && result.latency_us.p50 <= result.latency_us.p99);
      assert.ok(result.latency_us.p99 <= result.latency_us.max);
      assert.equal(result.errors.total, 0);
      assert.equal(isSuspectRun(result, 0.3), false);
      // A closed port: pingpong counts the failed connections; the run is an error, not suspect.
      const refused = await runPingpongScenario(built.pingpong, closedPortAddr(), scenario);
      assert.equal(refused.errors.total, 3);
      assert.equal(refused.rps, 0);
      assert.equal(isSuspectRun(refused, 0.3), false);
    } finally {
      await group.stopAll();
    }
  },
});
