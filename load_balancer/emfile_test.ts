import assert from "node:assert/strict";
import { exhaustDescriptors, metricsJson, requires, testEachEngine } from "@monkey/testing";

testEachEngine(
  "load balancer out of descriptors (ulimit -n 48) backs off, keeps its backend up, and serves once they are free",
  async ({ engine }) => {
    await using run = await exhaustDescriptors({
      main: "load_balancer/main.ts",
      denoFlags: [
        "--allow-env=MONKEY_ADMIN_TOKEN",
        ...(engine === "epoll" ? ["--allow-ffi"] : []),
      ],
      flags: ["--engine", engine],
      upstreamFlag: "--backend",
      ready: /balancing (\S+) .*metrics on http:\/\/(\S+)\/metrics/,
      maxFiles: 48,
      clients: 200,
    });
    const lb = run.proc;
    // Its own shortage is not the backend's fault: the next client is served at once.
    assert.equal(run.echoed, "again", lb.lines.join("\n"));
    const json = await metricsJson<{ backends: { state: string }[]; engine: string }>(
      run.metrics,
    );
    assert.deepEqual(json.backends.map((b) => b.state), ["up"]);
    assert.equal(json.engine, engine);
    assert.ok(!lb.lines.some((l) => /is DOWN/.test(l)), lb.lines.join("\n"));
    assert.equal((await lb.stop("SIGTERM")).code, 0);
  },
  requires("run", "read", "env"),
);
