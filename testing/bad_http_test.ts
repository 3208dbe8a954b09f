import assert from "node:assert/strict";
import { Hono } from "hono";
import { GENERIC_HTTP_PROBES, httpProbeProblems } from "./bad_http.ts";
import { createMetricsApp } from "@monkey/shared";

function metricsApp(snapshot: () => unknown = () => ({ active_connections: 0 })) {
  return createMetricsApp({
    service: "test",
    prometheus: () => "# HELP x_total X\n# TYPE x_total counter\nx_total 1\n",
    snapshot,
    healthy: () => true,
  });
}

Deno.test("createMetricsApp() answers every hostile request with 404/405 JSON and no stack, without extra setup", async () => {
  assert.deepEqual(await httpProbeProblems(metricsApp(), GENERIC_HTTP_PROBES), []);
});

Deno.test("httpProbeProblems() reports a 500, a stack trace and a non-JSON error", async () => {
  const failing = metricsApp(() => {
    throw new Error("snapshot failed");
  });
  const problems = await httpProbeProblems(failing, [
    { name: "json", path: "/metrics?format=json", status: 200 },
  ]);
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /status 500, expected 200: \{"error":"internal error"\}/);

  const raw = new Hono();
  raw.get("/leak", (c) => c.text(new Error("boom").stack ?? "", 500));
  const leaks = await httpProbeProblems(raw, [{ name: "leak", path: "/leak", status: 200 }]);
  assert.ok(leaks.some((p) => /stack trace/.test(p)), leaks.join("\n"));
  assert.ok(leaks.some((p) => /without a JSON 'error' field/.test(p)), leaks.join("\n"));
  assert.ok(leaks.some((p) => /status 500/.test(p)), leaks.join("\n"));
});
