import assert from "node:assert/strict";
import {
  assertClosedWithoutData,
  assertDrains,
  assertSamples,
  dial,
  dialEchoed,
  metricsJson,
  randomBytes,
  readAll,
  readExactly,
  scrapeMetrics,
  sha256,
  testEachEngine,
  waitFor,
  writeAll,
} from "@monkey/testing";
import { startEcho } from "./echo.ts";

testEachEngine(
  "startEcho() echoes every byte and closes its write side after the client's",
  async ({ engine }) => {
    const echo = startEcho({ listen_addr: "127.0.0.1:0", metrics_addr: "off", engine });
    const conn = await dial(echo.addr);
    const payload = randomBytes(3 * 1024 * 1024 + 17);
    const [back] = await Promise.all([
      readAll(conn),
      writeAll(conn, payload).then(() => conn.closeWrite()),
    ]);
    assert.equal(await sha256(back), await sha256(payload));
    conn.close();
    const summary = await echo.shutdown(1000);
    assert.equal(summary.total_connections, 1);
    assert.equal(summary.forced, 0);
  },
);

testEachEngine(
  "startEcho() counts connections and bytes in JSON and Prometheus metrics",
  async ({ engine }) => {
    const echo = startEcho({ listen_addr: "127.0.0.1:0", metrics_addr: "off", engine });
    const a = await dialEchoed(echo.addr, 1000);
    const b = await dialEchoed(echo.addr, 24);
    const live = await metricsJson(echo.app);
    assert.equal(live.active_connections, 2);
    assert.equal(live.total_connections, 2);
    assert.equal(live.bytes_echoed, 1024);
    assert.equal(live.engine, engine);
    a.close();
    b.close();
    await echo.shutdown(1000);
    const samples = await scrapeMetrics(echo.app);
    assertSamples(samples, {
      "monkey_echo_connections_total": 2,
      "monkey_echo_echoed_bytes_total": 1024,
      "monkey_echo_connections_active": 0,
    });
  },
);

testEachEngine(
  "startEcho() survives a client that resets mid-stream and keeps serving",
  async ({ engine }) => {
    const echo = startEcho({ listen_addr: "127.0.0.1:0", metrics_addr: "off", engine });
    const rude = await dial(echo.addr);
    await writeAll(rude, randomBytes(256 * 1024));
    rude.close(); // unread echoes pending: RST
    const polite = await dial(echo.addr);
    await writeAll(polite, new TextEncoder().encode("still here"));
    assert.equal(new TextDecoder().decode(await readExactly(polite, 10)), "still here");
    await waitFor(() => echo.snapshot().connection_errors === 1, "the reset to be counted");
    polite.close();
    await echo.shutdown(1000);
  },
);

testEachEngine(
  "startEcho() drains: /health turns 503, a live connection finishes, then is closed at the deadline",
  async ({ engine }) => {
    const echo = startEcho({ listen_addr: "127.0.0.1:0", metrics_addr: "off", engine });
    await assertDrains(echo, 150);
  },
);

testEachEngine(
  "startEcho() closes idle connections after idle_timeout_secs",
  async ({ engine }) => {
    const echo = startEcho({
      listen_addr: "127.0.0.1:0",
      metrics_addr: "off",
      idle_timeout_secs: 0.08,
      engine,
    });
    await assertClosedWithoutData(echo.addr);
    await echo.shutdown(1000);
  },
);

testEachEngine("startEcho() serves its metrics endpoint on a real port", async ({ engine }) => {
  const echo = startEcho({ listen_addr: "127.0.0.1:0", metrics_addr: "127.0.0.1:0", engine });
  try {
    const res = await fetch(`http://${echo.metricsAddr}/metrics`);
    assert.match(await res.text(), /# TYPE monkey_echo_connections_total counter/);
  } finally {
    await echo.shutdown(0);
  }
});
