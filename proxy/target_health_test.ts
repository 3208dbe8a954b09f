import assert from "node:assert/strict";
import { Logger, memorySink } from "@monkey/shared";
import { acceptLoop, closedPortAddr, echoUntilEof, requires, waitFor } from "@monkey/testing";
import { startProxyCluster } from "./cluster.ts";
import { startProxy } from "./proxy.ts";

const CHECKS = {
  interval_ms: 20,
  timeout_ms: 500,
  rise: 2,
  fall: 2,
  send: undefined,
  expect: undefined,
};

async function health(app: { request(path: string): Response | Promise<Response> }) {
  const res = await app.request("/health");
  return { status: res.status, body: await res.json() };
}

Deno.test("proxy with [health_check]: /health is 503 target_down while the target is down, and the log says when it goes and comes back", async () => {
  const first = acceptLoop((conn) => echoUntilEof(conn));
  const port = Number(first.addr.split(":")[1]);
  const { sink, lines } = memorySink();
  const proxy = startProxy({
    listen_addr: "127.0.0.1:0",
    metrics_addr: "off",
    target_addr: first.addr,
    health_check: CHECKS,
  }, { logger: new Logger({ sink }) });
  let second;
  try {
    assert.deepEqual(await health(proxy.app), { status: 200, body: { status: "ok" } });
    await first.close();
    await waitFor(
      async () => (await health(proxy.app)).status === 503,
      "503 after the target died",
    );
    assert.deepEqual(await health(proxy.app), { status: 503, body: { status: "target_down" } });
    assert.equal(proxy.snapshot().target_healthy, false);
    assert.ok(
      lines.some((l) => /WARN .*target 127\.0\.0\.1:\d+ is down: 2 health checks failed/.test(l)),
      lines.join("\n"),
    );
    second = acceptLoop((conn) => echoUntilEof(conn), { port });
    await waitFor(async () => (await health(proxy.app)).status === 200, "200 once it is back");
    assert.ok(lines.some((l) => /INFO .*target 127\.0\.0\.1:\d+ is up again/.test(l)));
    assert.equal(proxy.snapshot().target_healthy, true);
  } finally {
    await proxy.shutdown(0);
    await second?.close();
  }
});

Deno.test("proxy without [health_check] does not check the target (the default)", async () => {
  const { sink, lines } = memorySink();
  const proxy = startProxy({
    listen_addr: "127.0.0.1:0",
    metrics_addr: "off",
    target_addr: closedPortAddr(),
  }, { logger: new Logger({ sink }) });
  try {
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal((await health(proxy.app)).status, 200);
    assert.ok(!lines.some((l) => /is down/.test(l)));
  } finally {
    await proxy.shutdown(0);
  }
});

Deno.test(
  "proxy with workers = 2 and [health_check]: the cluster's /health is 503 target_down while the target is down",
  requires("read"),
  async () => {
    const first = acceptLoop((conn) => echoUntilEof(conn));
    const port = Number(first.addr.split(":")[1]);
    const cluster = await startProxyCluster({
      listen_addr: "127.0.0.1:0",
      metrics_addr: "off",
      target_addr: first.addr,
      workers: 2,
      log_level: "error",
      health_check: CHECKS,
    }, { logger: new Logger({ sink: memorySink().sink }) });
    let second;
    try {
      await waitFor(async () => (await health(cluster.app)).status === 200, "200 at first");
      await first.close();
      await waitFor(async () => (await health(cluster.app)).status === 503, "503 after it died");
      assert.deepEqual(await health(cluster.app), { status: 503, body: { status: "target_down" } });
      assert.equal((await cluster.snapshot())["target_healthy"], false);
      const text = await (await cluster.app.request("/metrics")).text();
      assert.match(text, /^monkey_proxy_target_up 0$/m);
      second = acceptLoop((conn) => echoUntilEof(conn), { port });
      await waitFor(async () => (await health(cluster.app)).status === 200, "200 once it is back");
    } finally {
      await cluster.shutdown(0);
      await second?.close();
    }
  },
);
