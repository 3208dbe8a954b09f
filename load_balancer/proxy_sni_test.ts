import assert from "node:assert/strict";
import { DENO_ENGINE, encodeProxyV2, type HostPort, parseClientHello } from "@monkey/shared";
import {
  assertGreetings,
  dial,
  requires,
  startPeer,
  startTlsEcho,
  type TestPeer,
  waitFor,
  writeAll,
} from "@monkey/testing";
import { startTestLb } from "./_testing.ts";

const read = requires("read");
const NO_CHECKS = { interval_ms: 0 };

/**
 * An HAProxy-style hop (`send-proxy-v2`) that always packs the PROXY v2 header and the
 * client's first bytes (its whole ClientHello, or plain text) into ONE write, then relays.
 */
function proxyV2Hop(target: string, source: HostPort): TestPeer {
  return startPeer(async (client) => {
    const buf = new Uint8Array(16_384);
    let have = 0;
    for (;;) {
      const n = await client.read(buf.subarray(have));
      if (n === null) return client.close();
      have += n;
      if (parseClientHello(buf.subarray(0, have)).kind !== "incomplete") break;
    }
    const upstream = await dial(target);
    const header = encodeProxyV2(source, { hostname: "198.51.100.1", port: 443 });
    await writeAll(upstream, new Uint8Array([...header, ...buf.subarray(0, have)]));
    await DENO_ENGINE.relay(client, upstream);
  });
}

Deno.test({
  name:
    "accept_proxy with SNI routes: a PROXY v2 header and the ClientHello in one write are routed by SNI",
  ...read,
  async fn() {
    await using a = startTlsEcho("a.test", "A");
    await using d = startTlsEcho("localhost", "D");
    await using lb = startTestLb({
      accept_proxy: "v2",
      trusted_proxies: ["127.0.0.0/8"],
      health_check: NO_CHECKS,
      backends: [{ addr: d.addr }],
      pools: { alpha: { backends: [{ addr: a.addr }], health_check: NO_CHECKS } },
      routes: [
        // The header's client (192.0.2.7), not the hop's address, meets the source matcher.
        { sni: "a.test", source: "192.0.2.0/24", pool: "alpha" },
      ],
    });
    await using hop = proxyV2Hop(lb.addr, { hostname: "192.0.2.7", port: 40000 });
    await assertGreetings(hop.addr, [["a.test", "A"], ["localhost", "D"]]);
    await waitFor(() => lb.snapshot().active_connections === 0, "connections to end");
    const snap = lb.snapshot();
    assert.deepEqual(snap.pools?.map((p) => [p.name, p.connections]), [
      ["default", 1],
      ["alpha", 1],
    ]);
    assert.equal(snap.sni_misses, 0);
    assert.equal(snap.inspect_timeouts, 0);
  },
});
