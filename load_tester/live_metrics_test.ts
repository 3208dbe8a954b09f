import assert from "node:assert/strict";
import { parsePrometheus } from "@monkey/shared";
import { LiveMetrics } from "./live_metrics.ts";
import { fakeResult } from "./_testing.ts";
import { hasProgram } from "./_real_servers.ts";

const PROMTOOL = hasProgram("promtool");

Deno.test("LiveMetrics serves the running scenario's counters as Prometheus text and JSON", async () => {
  const live = new LiveMetrics();
  live.end(fakeResult("done", [100, 200, 300]));
  live.start(() => ({
    scenario: "running",
    elapsed_secs: 1.5,
    duration_secs: 5,
    warming_up: false,
    requests: 42,
    errors: { reset: 2 },
    latency: { min: 1, mean: 2, p50: 3, p90: 4, p95: 5, p99: 6, p999: 7, max: 8 },
  }));
  const text = await (await live.app.request("/metrics")).text();
  const samples = parsePrometheus(text);
  assert.equal(samples.get('monkey_load_requests_total{scenario="running"}'), 42);
  assert.equal(samples.get('monkey_load_requests_total{scenario="done"}'), 3);
  assert.equal(samples.get('monkey_load_errors_total{scenario="running",kind="reset"}'), 2);
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
  name: PROMTOOL
    ? "LiveMetrics output passes promtool check metrics"
    : "LiveMetrics output passes promtool check metrics (skipped: promtool not found, or no --allow-env/--allow-read to look; apt-get install -y prometheus)",
  ignore: !PROMTOOL || Deno.permissions.querySync({ name: "run" }).state !== "granted",
  fn: async () => {
    const live = new LiveMetrics();
    live.end(fakeResult('done "quoted"', [100, 200, 300]));
    live.start(() => ({
      scenario: "running",
      elapsed_secs: 1,
      duration_secs: 5,
      warming_up: false,
      requests: 3,
      errors: { reset: 1 },
      latency: { min: 1, mean: 2, p50: 3, p90: 4, p95: 5, p99: 6, p999: 7, max: 8 },
    }));
    const text = await (await live.app.request("/metrics")).text();
    const child = new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(text));
    await writer.close();
    const out = await child.output();
    const problems = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, problems);
    assert.equal(problems.trim(), "");
  },
});
