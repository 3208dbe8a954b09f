import assert from "node:assert/strict";
import {
  assertClusterStops,
  assertEchoes,
  assertSamples,
  openEchoed,
  requires,
  scrapeMetrics,
  testEachEngine,
  tlsDial,
} from "@monkey/testing";
import { startTestCluster, startTestEcho, testWithCertFiles } from "./_testing.ts";

testEachEngine(
  "startProxyCluster() runs 2 workers on one port and adds up their metrics",
  async ({ engine }) => {
    await using echo = startTestEcho(engine);
    await using cluster = await startTestCluster({ target_addr: echo.addr, engine });
    assert.equal(cluster.workers, 2);
    const conns = await openEchoed(cluster.addr, 16, 100);
    const json = await cluster.snapshot();
    assert.equal(json["active_connections"], 16);
    assert.equal(json["total_connections"], 16);
    assert.equal(json["bytes_upstream"], 1600);
    assert.equal(json["workers"], 2);
    assert.equal(json["engine"], engine, "every worker runs the chosen engine");
    const samples = await scrapeMetrics(cluster.app);
    assertSamples(samples, {
      "monkey_proxy_connections_total": 16,
      "monkey_proxy_downstream_bytes_total": 1600,
    });
    const clients = await (await cluster.app.request("/clients")).json();
    assert.equal(clients[0].total_connections, 16);
    assert.match(await cluster.summaryLine(), /^\[METRICS\] active: 16 \| total: 16 \| up: 1\.6KB/);
    await assertClusterStops(cluster, conns, 16);
  },
  requires("read"),
);

testWithCertFiles(
  "a TLS proxy with 2 workers: reloadTls reaches every worker; a bad pair keeps the old one and says why",
  async ({ target, files, tls }) => {
    await using cluster = await startTestCluster({ target_addr: target, ...tls });
    const { lines } = cluster;
    const live = await tlsDial(cluster.addr, "a.test");
    files.useCert("b.test"); // the key no longer matches
    assert.equal(await cluster.reloadTls(), false);
    assert.ok(
      lines.some((l) => /reload failed, keeping the old one: .*does not match/.test(l)),
      lines.join("\n"),
    );
    let json = await cluster.snapshot();
    assert.equal(json["tls_reload_failures"], 1);
    assert.equal(json["tls_reloads"], 0);
    (await tlsDial(cluster.addr, "a.test")).close();

    files.useKey("b.test");
    assert.equal(await cluster.reloadTls(), true);
    json = await cluster.snapshot();
    assert.equal(json["tls_reloads"], 2, "both workers reloaded");
    // The kernel spreads connections over both workers: every one gets the new certificate.
    for (let i = 0; i < 8; i++) {
      await assert.rejects(() => tlsDial(cluster.addr, "a.test"), /not valid for name "a.test"/);
      (await tlsDial(cluster.addr, "b.test")).close();
    }
    await assertEchoes(live, 2);
    live.close();
  },
);
