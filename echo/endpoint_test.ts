import assert from "node:assert/strict";
import { GENERIC_HTTP_PROBES, httpProbeProblems } from "@monkey/testing/bad-http";
import { isLoopbackAddr } from "@monkey/shared";
import { ECHO_SCHEMA } from "./config.ts";
import { startEcho } from "./echo.ts";

Deno.test("echo endpoint answers unknown routes 404, wrong methods 405, never a 500 or a stack", async () => {
  const echo = startEcho({ listen_addr: "127.0.0.1:0", metrics_addr: "off" });
  try {
    assert.deepEqual(await httpProbeProblems(echo.app, GENERIC_HTTP_PROBES), []);
  } finally {
    await echo.shutdown(0);
  }
});

Deno.test("echo binds its listener and metrics endpoint to loopback by default", () => {
  assert.ok(isLoopbackAddr(ECHO_SCHEMA.listen_addr.default));
  assert.ok(isLoopbackAddr(ECHO_SCHEMA.metrics_addr.default));
});
