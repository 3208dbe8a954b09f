import assert from "node:assert/strict";
import { exhaustDescriptors, metricsJson, requires, testEachEngine } from "@monkey/testing";

testEachEngine(
  "proxy out of descriptors (ulimit -n 48) backs off on EMFILE, counts it, and serves again once they are free",
  async ({ engine }) => {
    await using run = await exhaustDescriptors({
      main: "proxy/main.ts",
      upstreamFlag: "--target",
      denoFlags: engine === "epoll" ? ["--allow-ffi"] : [],
      flags: ["--engine", engine],
      ready: /proxying (\S+) -> .*metrics on http:\/\/(\S+)\/metrics/,
      maxFiles: 48,
      clients: 80,
    });
    // Descriptors are free again: the back-off retried and a new client was served end to end.
    assert.equal(run.echoed, "again");
    const json = await metricsJson<{ accept_errors: number }>(run.metrics);
    assert.ok(json.accept_errors > 0, `accept_errors ${json.accept_errors}`);
    const proxy = run.proc;
    assert.equal((await proxy.stop("SIGTERM")).code, 0);
    assert.ok(
      !proxy.lines.some((l) => /Uncaught|error: |at .*\.ts:\d+/.test(l)),
      proxy.lines.join("\n"),
    );
    const warnings = proxy.lines.filter((l) => /accept failed/.test(l));
    assert.ok(
      warnings.length <= 2,
      `accept failures are logged throttled:\n${warnings.join("\n")}`,
    );
    assert.ok(proxy.lines.some((l) => l.includes(`(engine: ${engine}`)), proxy.lines.join("\n"));
  },
  requires("run", "read", "env"),
);
