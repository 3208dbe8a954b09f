import assert from "node:assert/strict";
import { startEcho } from "@monkey/echo";
import { exhaustDescriptors, metricsJson, requires } from "@monkey/testing";

Deno.test({
  name:
    "load balancer out of descriptors (ulimit -n 48) backs off, keeps its backend up, and serves once they are free",
  ...requires("run", "read", "env"),
  fn: async () => {
    const echo = startEcho({ listen_addr: "127.0.0.1:0", metrics_addr: "off" });
    await using run = await exhaustDescriptors({
      args: [
        "run",
        "--allow-net",
        "--allow-read",
        "--allow-env=MONKEY_ADMIN_TOKEN",
        "load_balancer/main.ts",
        "--listen",
        "127.0.0.1:0",
        "--backend",
        echo.addr,
        "--metrics",
        "127.0.0.1:0",
        "--metrics-log-interval-secs",
        "0",
      ],
      ready: /balancing (\S+) .*metrics on http:\/\/(\S+)\/metrics/,
      maxFiles: 48,
      clients: 200,
    });
    const lb = run.proc;
    // Its own shortage is not the backend's fault: the next client is served at once.
    assert.equal(run.echoed, "again", lb.lines.join("\n"));
    const json = await metricsJson<{ backends: { state: string }[] }>(run.metrics);
    assert.deepEqual(json.backends.map((b) => b.state), ["up"]);
    assert.ok(!lb.lines.some((l) => /is DOWN/.test(l)), lb.lines.join("\n"));
    assert.equal((await lb.stop("SIGTERM")).code, 0);
    await echo.shutdown(1000);
  },
});
