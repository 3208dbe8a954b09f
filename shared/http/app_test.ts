import assert from "node:assert/strict";
import { createMetricsApp, methodNotAllowed, PROMETHEUS_CONTENT_TYPE, serveHttp } from "./app.ts";

function app(healthy = true) {
  const a = createMetricsApp({
    service: "test",
    prometheus: () => "# HELP x_total X\n# TYPE x_total counter\nx_total 1\n",
    snapshot: () => ({ active_connections: 4 }),
    healthy: () => healthy,
  });
  methodNotAllowed(a, { "/metrics": ["GET"], "/health": ["GET"] });
  return a;
}

Deno.test("createMetricsApp() serves Prometheus text, JSON, health and an index", async () => {
  const a = app();
  const text = await a.request("/metrics");
  assert.equal(text.status, 200);
  assert.equal(text.headers.get("content-type"), PROMETHEUS_CONTENT_TYPE);
  assert.match(await text.text(), /^x_total 1$/m);
  const json = await a.request("/metrics?format=json");
  assert.deepEqual(await json.json(), { active_connections: 4 });
  assert.equal((await a.request("/health")).status, 200);
  assert.match(await (await a.request("/")).text(), /GET \/metrics/);
});

Deno.test("createMetricsApp() answers 503 on /health while draining", async () => {
  const res = await app(false).request("/health");
  assert.equal(res.status, 503);
  assert.deepEqual(await res.json(), { status: "draining" });
});

Deno.test("createMetricsApp() answers 404 and 405 as JSON", async () => {
  const a = app();
  const missing = await a.request("/nope");
  assert.equal(missing.status, 404);
  assert.ok((await missing.json()).error);
  const wrong = await a.request("/metrics", { method: "POST" });
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get("allow"), "GET");
});

Deno.test("serveHttp() binds port 0 and serves the app over a socket", async () => {
  const endpoint = serveHttp(app(), "127.0.0.1:0");
  try {
    assert.match(endpoint.addr, /^127\.0\.0\.1:\d+$/);
    const res = await fetch(`http://${endpoint.addr}/health`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
  } finally {
    await endpoint.shutdown();
  }
});
