import assert from "node:assert/strict";
import { parseSlo } from "./config.ts";
import { findCapacity, formatCapacity, judgeStep } from "./capacity.ts";
import { runScenario } from "./runner.ts";
import { echoServer, fakeResult, scenario } from "./_testing.ts";

Deno.test("findCapacity() doubles, then bisects to the highest rate holding the SLO", async () => {
  const limit = 5300;
  const tried: number[] = [];
  const capacity = await findCapacity(
    scenario(),
    (s) => {
      tried.push(s.rate);
      const latency = s.rate <= limit ? 500 : 5000;
      return Promise.resolve(fakeResult(s.name, Array.from({ length: s.rate }, () => latency)));
    },
    { slo: parseSlo("p99<2ms"), startRate: 1000 },
  );
  assert.deepEqual(tried.slice(0, 4), [1000, 2000, 4000, 8000]);
  assert.ok(
    capacity.capacity_rps <= limit && capacity.capacity_rps >= limit * 0.95,
    `${capacity.capacity_rps}`,
  );
  assert.equal(capacity.steps.length, tried.length);
  assert.match(formatCapacity(capacity), /Capacity: \d+ req\/s/);
});

Deno.test("judgeStep() fails a step with errors or an unmet rate", () => {
  const slo = parseSlo("p99<2ms");
  const samples = Array.from({ length: 1000 }, () => 100);
  assert.ok(judgeStep(fakeResult("a", samples), 1000, slo).ok);
  assert.match(
    judgeStep(fakeResult("a", samples, { mismatches: 1 }), 1000, slo).reason,
    /1 errors/,
  );
  assert.match(judgeStep(fakeResult("a", samples), 2000, slo).reason, /only 1000/);
});

Deno.test("findCapacity() runs real open-loop steps against the echo server", async () => {
  const echo = echoServer();
  try {
    const capacity = await findCapacity(
      scenario({ connections: 4, duration_secs: 0.2 }),
      (s) => runScenario(s, { target: echo.addr }),
      { slo: parseSlo("p99<50ms"), startRate: 200, maxSteps: 2 },
    );
    assert.equal(capacity.steps.length, 2);
    assert.deepEqual(capacity.steps.map((s) => s.rate), [200, 400]);
    assert.ok(capacity.steps[0]!.ok, capacity.steps[0]!.reason);
    assert.ok(capacity.capacity_rps >= 200);
  } finally {
    await echo.close();
  }
});
