import assert from "node:assert/strict";
import { GENERIC_HTTP_PROBES, httpProbeProblems } from "@monkey/testing/bad-http";
import { isLoopbackAddr } from "@monkey/shared";
import { PROXY_SCHEMA } from "./config.ts";
import { startProxy } from "./proxy.ts";

Deno.test("proxy endpoint answers unknown routes 404, wrong methods 405, never a 500 or a stack", async () => {
  const proxy = startProxy({ listen_addr: "127.0.0.1:0", metrics_addr: "off" });
  try {
    assert.deepEqual(
      await httpProbeProblems(proxy.app, [
        ...GENERIC_HTTP_PROBES,
        {
          name: "POST /clients",
          path: "/clients",
          init: { method: "POST", body: "{}" },
          status: 405,
        },
        { name: "DELETE /clients", path: "/clients", init: { method: "DELETE" }, status: 405 },
        { name: "unknown client route", path: "/clients/127.0.0.1", status: 404 },
        { name: "clients with a query", path: "/clients?limit=%zz", status: 200 },
      ]),
      [],
    );
  } finally {
    await proxy.shutdown(0);
  }
});

Deno.test("proxy binds its listener and metrics endpoint to loopback by default", () => {
  assert.ok(isLoopbackAddr(PROXY_SCHEMA.listen_addr.default));
  assert.ok(isLoopbackAddr(PROXY_SCHEMA.metrics_addr.default));
});
