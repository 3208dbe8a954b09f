import assert from "node:assert/strict";
import { BackendPool } from "./pool.ts";
import { checkOnce, HealthChecker, recordResult } from "./health.ts";
import { closedPortAddr, waitFor } from "@monkey/testing";
import { startTagged } from "./_testing.ts";

Deno.test("recordResult: down after `fall` failures in a row, up after `rise` successes", () => {
  const b = { healthy: true, consecutiveFailures: 0, consecutiveSuccesses: 0 };
  const policy = { rise: 2, fall: 3 };
  assert.equal(recordResult(b, false, policy), undefined);
  assert.equal(recordResult(b, false, policy), undefined);
  assert.equal(recordResult(b, true, policy), undefined); // a success resets the run
  assert.equal(recordResult(b, false, policy), undefined);
  assert.equal(recordResult(b, false, policy), undefined);
  assert.equal(b.healthy, true);
  assert.equal(recordResult(b, false, policy), "down");
  assert.equal(b.healthy, false);
  assert.equal(recordResult(b, true, policy), undefined);
  assert.equal(recordResult(b, false, policy), undefined); // a failure resets the run
  assert.equal(recordResult(b, true, policy), undefined);
  assert.equal(recordResult(b, true, policy), "up");
  assert.equal(b.healthy, true);
});

Deno.test("checkOnce passes on connect, fails on refusal, and checks send/expect", async () => {
  const backend = startTagged("READY");
  try {
    const ok = await checkOnce(backend.addr, { timeoutMs: 1000 });
    assert.equal(ok.ok, true);
    assert.ok(ok.connectMs !== undefined);
    const expectOk = await checkOnce(backend.addr, {
      timeoutMs: 1000,
      send: "PING\n",
      expect: "PING",
    });
    assert.equal(expectOk.ok, true);
    const greeting = await checkOnce(backend.addr, { timeoutMs: 1000, expect: "READY" });
    assert.equal(greeting.ok, true);
    const wrong = await checkOnce(backend.addr, { timeoutMs: 200, expect: "+PONG" });
    assert.equal(wrong.ok, false);
    assert.equal(wrong.result, "timeout");
  } finally {
    await backend.close();
  }
  const refused = await checkOnce(closedPortAddr(), { timeoutMs: 1000 });
  assert.deepEqual([refused.ok, refused.result], [false, "refused"]);
});

Deno.test("HealthChecker takes a dead backend down after fall checks and brings it back after rise", async () => {
  const first = startTagged("x");
  const port = Number(first.addr.split(":")[1]);
  const pool = new BackendPool();
  const backend = pool.add({ addr: first.addr, weight: 1, backup: false, max_connections: 0 });
  const transitions: string[] = [];
  const checker = new HealthChecker(pool, {
    interval_ms: 20,
    timeout_ms: 200,
    rise: 2,
    fall: 3,
    send: undefined,
    expect: undefined,
  }, { onTransition: (_b, state) => transitions.push(state) });
  checker.sync();
  let second;
  try {
    await waitFor(() => backend.lastCheck?.result === "ok", "a passing check");
    assert.equal(backend.state, "up");
    await first.close();
    await waitFor(() => backend.state === "down", "down after 3 failures");
    assert.ok(backend.checkFailures >= 3);
    assert.equal(backend.lastCheck?.result, "refused");
    second = startTagged("x", port);
    await waitFor(() => backend.state === "up", "up after 2 successes");
    assert.deepEqual(transitions, ["down", "up"]);
  } finally {
    await checker.stop();
    await second?.close();
  }
});
