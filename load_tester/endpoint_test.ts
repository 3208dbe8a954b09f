import assert from "node:assert/strict";
import { GENERIC_HTTP_PROBES, httpProbeProblems } from "@monkey/testing/bad-http";
import { isLoopbackAddr } from "@monkey/shared";
import { DEFAULTS, LOAD_TEST_SCHEMA } from "./config.ts";
import { LiveMetrics } from "./live_metrics.ts";

Deno.test("load tester endpoint answers unknown routes 404, wrong methods 405, never a 500 or a stack", async () => {
  assert.deepEqual(await httpProbeProblems(new LiveMetrics().app, GENERIC_HTTP_PROBES), []);
});

Deno.test("load tester serves no endpoint unless asked, and targets loopback by default", () => {
  assert.equal(LOAD_TEST_SCHEMA.metrics_addr.default, "off");
  assert.ok(isLoopbackAddr(DEFAULTS.target_addr));
});
