import assert from "node:assert/strict";
import { metricsProbe, percentile, pollMetrics, summarizeProbe } from "./metrics_probe.ts";
import { requires } from "@monkey/testing";
import { parseBenchArgs } from "./args.ts";
import { hasProgram, ProcessGroup } from "./process_group.ts";
import { buildYardsticks, startEchoSrv } from "./yardsticks.ts";

Deno.test("percentile() is the nearest rank: the smallest value with p% at or below it", () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(hundred, 50), 50);
  assert.equal(percentile(hundred, 99), 99);
  assert.equal(percentile(hundred, 100), 100);
  assert.equal(percentile([1, 2, 3, 4], 50), 2);
  assert.equal(percentile([1, 2, 3, 4], 99), 4); // with few samples p99 is the max
  assert.equal(percentile([7], 0), 7);
  assert.ok(Number.isNaN(percentile([], 50)));
});

Deno.test("summarizeProbe() sorts the answer times and reports p50, p99, max and failures", () => {
  const times = Array.from({ length: 200 }, (_, i) => 200 - i); // 200 … 1, unsorted
  assert.deepEqual(summarizeProbe(times, 3), {
    count: 200,
    failures: 3,
    p50_ms: 100,
    p99_ms: 198,
    max_ms: 200,
  });
  const none = summarizeProbe([], 5);
  assert.equal(none.count, 0);
  assert.equal(none.failures, 5);
  assert.ok(Number.isNaN(none.p99_ms) && Number.isNaN(none.max_ms));
});

Deno.test("pollMetrics() times each answer until aborted and counts the failed ones", async () => {
  let requests = 0;
  const stop = new AbortController();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    requests++;
    if (requests === 3) stop.abort(); // the poller stops after this answer
    return new URL(req.url).pathname === "/metrics"
      ? new Response(requests === 2 ? "busy" : "metric_total 1\n", {
        status: requests === 2 ? 503 : 200,
      })
      : new Response("no", { status: 404 });
  });
  try {
    const { latencies, failures } = await pollMetrics(
      `http://127.0.0.1:${server.addr.port}/metrics`,
      stop.signal,
    );
    assert.equal(requests, 3);
    assert.equal(latencies.length, 2);
    assert.equal(failures, 1);
    assert.ok(latencies.every((ms) => ms >= 0 && ms < 5_000));
  } finally {
    await server.shutdown();
  }
});

Deno.test({
  name: "metricsProbe() with the C client: /metrics answers under its 500-connection load",
  ...requires("run", "read", "write", "env", "sys"),
  ignore: requires("run", "read", "write", "env", "sys").ignore || !hasProgram("cc"),
  async fn() {
    const built = await buildYardsticks();
    if ("skipped" in built) throw new Error(built.skipped);
    const group = new ProcessGroup();
    try {
      const backend = await startEchoSrv(group, built.echoSrv);
      const options = parseBenchArgs(["--quick", "--secs", "1"]);
      const [probe] = await metricsProbe(group, backend, ["deno"], options, built.pingpong);
      assert.equal(probe!.engine, "deno");
      assert.ok(probe!.load_rps > 0, `load ${probe!.load_rps} req/s`);
      assert.ok(probe!.count > 0, `${probe!.count} answers`);
      assert.equal(probe!.failures, 0);
      assert.ok(probe!.p50_ms <= probe!.p99_ms && probe!.p99_ms <= probe!.max_ms);
    } finally {
      await group.stopAll();
    }
  },
});
