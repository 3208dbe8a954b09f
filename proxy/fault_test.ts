import assert from "node:assert/strict";
import { Logger, memorySink } from "@monkey/shared";
import * as fault from "@monkey/testing/fault";
import { closedPortAddr, requires } from "@monkey/testing";
import type { ProxyConfig } from "./config.ts";
import { startProxy } from "./proxy.ts";

for (
  const [relay, proxyProtocol] of [["loop", "off"], ["streams", "off"], ["loop", "v2"]] as const
) {
  Deno.test({
    name:
      `proxy (relay=${relay}) survives the fault suite: byte-exact, no hang, no leak, bounded memory`,
    ...requires("read", "run"),
    // The default (loop, no PROXY header) carries the full run; the variants a lighter one.
    fn: async () => {
      const { sink, lines } = memorySink();
      const logger = new Logger({ name: "proxy", sink, level: "warn" });
      const full = relay === "loop" && proxyProtocol === "off";
      await using upstream = fault.startFaultUpstream({ proxyProtocol: proxyProtocol !== "off" });
      const deadAddr = closedPortAddr();
      const start = (config: Partial<ProxyConfig>) =>
        startProxy({
          listen_addr: "127.0.0.1:0",
          target_addr: upstream.addrs[0]!,
          metrics_addr: "off",
          relay,
          proxy_protocol: proxyProtocol,
          // Closes the silent upstreams; long enough that a client starved by a loaded machine
          // (all peers share this process) is not taken for idle.
          idle_timeout_secs: 5,
          connect_timeout_ms: 2000,
          ...config,
        }, { logger });
      const main = start({});
      const deadProxy = start({ target_addr: deadAddr });
      const limited = start({ max_connections: 4 });
      const fdsAtStart = await fault.openFds();
      try {
        const report = await fault.runFaultSuite(
          {
            main: fault.serviceTarget(main),
            dead: fault.serviceTarget(deadProxy),
            limited: { ...fault.serviceTarget(limited), limit: 4 },
          },
          upstream,
          {
            connections: full ? 2000 : 600,
            concurrency: full ? 250 : 120,
          },
        );
        console.log(
          fault.formatFaultReport(report, `proxy relay=${relay} proxy_protocol=${proxyProtocol}`),
        );

        // Defaults: 16 stalled readers of 48 MiB floods, each may cost 2 MiB RSS (+48 MiB slack).
        fault.assertFaultReport(report, { minConnections: full ? 2000 : 600 });

        const snap = main.snapshot();
        assert.equal(snap.active_connections, 0);
        assert.ok(snap.idle_timeouts > 0, "silent upstreams were closed by the idle timeout");
        assert.ok(snap.relay_errors > 0, "resets were seen and counted");
        assert.equal(limited.snapshot().rejected_connections, report.rejectedOverLimit);
        assert.ok(deadProxy.snapshot().connect_errors >= report.byKind.dead_port);
        if (proxyProtocol !== "off") {
          assert.ok(upstream.proxyHeaders > 0, "the upstream parsed PROXY headers");
        }
        const errors = lines.filter((l) => /ERROR/.test(l));
        assert.deepEqual(errors, [], "no handler failure was logged");
      } finally {
        await Promise.all([main.shutdown(0), deadProxy.shutdown(0), limited.shutdown(0)]);
      }
      await upstream.close();
      assert.ok(await fault.openFds() <= fdsAtStart, "every socket of the run is closed");
    },
  });
}
