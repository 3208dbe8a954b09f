import assert from "node:assert/strict";
import { startEcho } from "@monkey/echo";
import { Logger, memorySink } from "@monkey/shared";
import { requires } from "@monkey/testing";
import { startProxyCluster } from "./cluster.ts";
import { startProxy } from "./proxy.ts";

/** The first server-sent update of an app's `/events`, parsed; the stream is then closed. */
async function firstUpdate(app: { request(path: string): Response | Promise<Response> }) {
  const res = await app.request("/events");
  assert.match(res.headers.get("content-type")!, /^text\/event-stream/);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/^data: .*\n/m.test(text)) text += (await reader.read()).value ?? "";
  await reader.cancel();
  return JSON.parse(text.match(/^data: (.*)$/m)![1]!);
}

Deno.test("proxy dashboard update has the JSON snapshot's numbers, the clients and the config", async () => {
  const proxy = startProxy({
    listen_addr: "127.0.0.1:0",
    target_addr: "127.0.0.1:1",
    metrics_addr: "off",
    log_level: "error",
  });
  try {
    const update = await firstUpdate(proxy.app);
    const stat = (id: string) => update.stats.find((s: { id: string }) => s.id === id)?.value;
    assert.equal(stat("total_connections"), proxy.snapshot().total_connections);
    assert.equal(stat("engine"), `${proxy.snapshot().engine} / loop`);
    assert.deepEqual(update.charts.map((c: { id: string }) => c.id), [
      "conn_rate",
      "active",
      "bytes",
      "errors",
    ]);
    assert.equal(update.config.target_addr, "127.0.0.1:1");
    assert.ok(update.tables.some((t: { id: string }) => t.id === "clients"));
  } finally {
    await proxy.shutdown(0);
  }
});

Deno.test(
  "a proxy with 2 workers serves the dashboard from the merged snapshot",
  requires("read"),
  async () => {
    const echo = startEcho({ listen_addr: "127.0.0.1:0", metrics_addr: "off" });
    const { sink } = memorySink();
    const cluster = await startProxyCluster(
      { listen_addr: "127.0.0.1:0", target_addr: echo.addr, metrics_addr: "off", workers: 2 },
      { logger: new Logger({ sink }) },
    );
    try {
      const page = await cluster.app.request("/dashboard");
      assert.equal(page.status, 200);
      await page.body?.cancel();
      const update = await firstUpdate(cluster.app);
      const total = update.stats.find((s: { id: string }) => s.id === "total_connections");
      assert.equal(total.value, (await cluster.snapshot())["total_connections"]);
    } finally {
      await cluster.shutdown(0);
      await echo.shutdown(0);
    }
  },
);
