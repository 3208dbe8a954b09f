import assert from "node:assert/strict";
import { createMetricsApp } from "@monkey/shared";
import { Hono } from "hono";
import { assertSamples, metricsJson, scrapeMetrics } from "./metrics.ts";

const app = createMetricsApp({
  service: "test",
  prometheus: () =>
    '# HELP x_total X\n# TYPE x_total counter\nx_total 3\ny{backend="a:1"} 2\nz +Inf\n',
  snapshot: () => ({ active_connections: 4 }),
  healthy: () => true,
});

Deno.test("scrapeMetrics() parses a service's Prometheus text into samples", async () => {
  const samples = await scrapeMetrics(app);
  assert.equal(samples.get("x_total"), 3);
  assert.equal(samples.get('y{backend="a:1"}'), 2);
  assert.equal(samples.get("z"), Infinity);
  assert.equal(samples.size, 3, "comments are not samples");
});

Deno.test("metricsJson() returns the JSON snapshot", async () => {
  assert.deepEqual(await metricsJson(app), { active_connections: 4 });
});

Deno.test("scrapeMetrics() fails naming the status when /metrics is not served", async () => {
  await assert.rejects(scrapeMetrics(new Hono()), /GET \/metrics answered 404, expected 200/);
});

Deno.test("assertSamples() passes on the values given and names every one that differs", () => {
  const samples = new Map([["a_total", 1], ['b{x="y"}', 2]]);
  assertSamples(samples, { a_total: 1, 'b{x="y"}': 2 });
  assert.throws(
    () => assertSamples(samples, { a_total: 1, 'b{x="y"}': 3, missing: 0 }),
    (e: Error) => /b\{x="y"\}/.test(e.message) && /missing/.test(e.message),
  );
});
