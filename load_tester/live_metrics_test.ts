import assert from "node:assert/strict";
import { parsePrometheus } from "@monkey/shared";
import { LiveMetrics } from "./live_metrics.ts";
import { fakeResult } from "./_testing.ts";
import {
  assertSamples,
  promtoolCheck,
  promtoolSkipReason,
  promtoolTestName,
} from "@monkey/testing";

/** The status of scenario "running", partway through its 5 s. */
function running(elapsed_secs: number, requests: number, resets: number) {
  const latency = { min: 1, mean: 2, p50: 3, p90: 4, p95: 5, p99: 6, p999: 7, max: 8 };
  return () => ({
    scenario: "running",
    elapsed_secs,
    duration_secs: 5,
    warming_up: false,
    requests,
    errors: { reset: resets },
    latency,
  });
}

Deno.test("LiveMetrics serves the running scenario's counters as Prometheus text and JSON", async () => {
  const live = new LiveMetrics();
  live.end(fakeResult("done", [100, 200, 300]));
  live.start(running(1.5, 42, 2));
  const text = await (await live.app.request("/metrics")).text();
  const samples = parsePrometheus(text);
  assertSamples(samples, {
    'monkey_load_requests_total{scenario="running"}': 42,
    'monkey_load_requests_total{scenario="done"}': 3,
    'monkey_load_errors_total{scenario="running",kind="reset"}': 2,
  });
  assert.equal(
    samples.get('monkey_load_latency_seconds{scenario="running",quantile="0.99"}'),
    0.000006,
  );
  assert.equal(samples.get('monkey_load_latency_seconds_count{scenario="running"}'), 42);
  assert.ok(text.includes("# TYPE monkey_load_latency_seconds summary"));
  assert.ok(text.includes("# TYPE monkey_load_requests_total counter"));
  const json = await (await live.app.request("/metrics?format=json")).json();
  assert.equal(json.scenarios[1].requests, 42);
  assert.equal((await live.app.request("/health")).status, 200);
});

Deno.test({
  name: promtoolTestName("LiveMetrics output passes promtool check metrics"),
  ignore: promtoolSkipReason() !== undefined,
  fn: async () => {
    const live = new LiveMetrics();
    live.end(fakeResult('done "quoted"', [100, 200, 300]));
    live.start(running(1, 3, 1));
    const text = await (await live.app.request("/metrics")).text();
    assert.equal(await promtoolCheck(text), "");
  },
});
