import assert from "node:assert/strict";
import {
  assertSamples,
  promtoolCheck,
  promtoolSkipReason,
  promtoolTestName,
} from "@monkey/testing";
import { mergeFamilies, parsePrometheus, Registry, renderFamilies } from "./registry.ts";

Deno.test("Registry.render() writes HELP, TYPE and samples that parse back", () => {
  const registry = new Registry();
  registry.counter("monkey_test_connections_total", "Connections").inc(3);
  registry.gauge("monkey_test_active", "Active").set(2);
  registry.counter("monkey_test_errors_total", "Errors by backend", { backend: "127.0.0.1:1" })
    .inc();
  registry.counter("monkey_test_errors_total", "Errors by backend", { backend: '[::1]:2 "x"' }).inc(
    5,
  );
  registry.collect("monkey_test_sent_bytes_total", "Bytes", "counter", () => [[{}, 1024]]);
  const histogram = registry.histogram("monkey_test_duration_seconds", "Durations", [0.1, 1]);
  histogram.observe(0.05);
  histogram.observe(0.5);
  histogram.observe(5);
  const text = registry.render();
  assert.ok(
    text.includes(
      "# HELP monkey_test_connections_total Connections\n# TYPE monkey_test_connections_total counter",
    ),
  );
  assert.ok(text.includes("# TYPE monkey_test_duration_seconds histogram"));
  const samples = parsePrometheus(text);
  assertSamples(samples, {
    "monkey_test_connections_total": 3,
    "monkey_test_active": 2,
    'monkey_test_errors_total{backend="127.0.0.1:1"}': 1,
    'monkey_test_errors_total{backend="[::1]:2 \\"x\\""}': 5,
    "monkey_test_sent_bytes_total": 1024,
    'monkey_test_duration_seconds_bucket{le="0.1"}': 1,
    'monkey_test_duration_seconds_bucket{le="1"}': 2,
    'monkey_test_duration_seconds_bucket{le="+Inf"}': 3,
    "monkey_test_duration_seconds_count": 3,
    "monkey_test_duration_seconds_sum": 5.55,
  });
});

Deno.test("Registry returns the same child for the same labels and can remove it", () => {
  const registry = new Registry();
  const a = registry.counter("x_total", "X", { backend: "a" });
  assert.equal(registry.counter("x_total", "X", { backend: "a" }), a);
  registry.remove("x_total", { backend: "a" });
  assert.ok(!registry.render().includes('backend="a"'));
  assert.throws(() => registry.gauge("x_total", "X"), /already registered as a counter/);
  assert.throws(() => registry.counter("bad-name", "X"), /Invalid metric name/);
});

Deno.test({
  name: promtoolTestName("Registry.render() passes promtool check metrics"),
  ignore: promtoolSkipReason() !== undefined,
  async fn() {
    const registry = new Registry();
    registry.counter("monkey_test_connections_total", "Connections").inc();
    registry.gauge("monkey_test_connections_active", "Active connections").set(1);
    registry.collect(
      "monkey_test_upstream_bytes_total",
      "Bytes upstream",
      "counter",
      () => [[{}, 10]],
    );
    registry.histogram("monkey_test_connection_duration_seconds", "Durations").observe(0.2);
    assert.equal(await promtoolCheck(registry.render()), "");
  },
});

Deno.test("mergeFamilies() adds counters, histograms and active gauges; state gauges keep their value", () => {
  const a = new Registry();
  const b = new Registry();
  a.counter("x_total", "X").inc(2);
  b.counter("x_total", "X").inc(3);
  a.counter("y_total", "Y", { backend: "a" }).inc(1);
  b.counter("y_total", "Y", { backend: "b" }).inc(4);
  a.gauge("z_connections_active", "Z").set(2);
  b.gauge("z_connections_active", "Z").set(3);
  a.gauge("z_backend_up", "Up", { backend: "a" }).set(1);
  b.gauge("z_backend_up", "Up", { backend: "a" }).set(1);
  a.histogram("d_seconds", "D", [1]).observe(0.5);
  b.histogram("d_seconds", "D", [1]).observe(2);
  const samples = parsePrometheus(renderFamilies(mergeFamilies([a.families(), b.families()])));
  assertSamples(samples, {
    "x_total": 5,
    'y_total{backend="a"}': 1,
    'y_total{backend="b"}': 4,
    'd_seconds_bucket{le="1"}': 1,
    'd_seconds_bucket{le="+Inf"}': 2,
    "d_seconds_sum": 2.5,
  });
  assert.equal(samples.get("z_connections_active"), 5, "active gauges add up");
  assert.equal(samples.get('z_backend_up{backend="a"}'), 1, "state gauges do not");
});
