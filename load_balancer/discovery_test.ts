import assert from "node:assert/strict";
import { startEcho } from "@monkey/echo";
import { Logger, memorySink } from "@monkey/shared";
import {
  dial,
  dnsmasqPath,
  readExactly,
  requires,
  startDnsmasq,
  waitFor,
  writeAll,
} from "@monkey/testing";
import { type LoadBalancer, startLoadBalancer } from "./balancer.ts";
import { type LbConfigInput, normalizeLbConfig } from "./config.ts";

const withDnsmasq = (() => {
  const options = requires("run", "read", "write");
  if (!options.ignore && dnsmasqPath() === undefined) {
    console.warn(
      "dnsmasq not installed (apt-get install -y dnsmasq-base): LB discovery test skipped",
    );
    return { ignore: true };
  }
  return options;
})();

/** A balancer on port 0 for one test, logging into `lines`; it and `echoes` stop after. */
async function withLb(
  config: LbConfigInput,
  echoes: { shutdown(graceMs: number): Promise<unknown> }[],
  body: (lb: LoadBalancer, lines: string[]) => Promise<void>,
): Promise<void> {
  const { sink, lines } = memorySink();
  const logger = new Logger({ name: "lb", sink, level: "info" });
  const lb = startLoadBalancer({ listen_addr: "127.0.0.1:0", metrics_addr: "off", ...config }, {
    logger,
  });
  try {
    await body(lb, lines);
  } finally {
    await lb.shutdown(0);
    await Promise.all(echoes.map((e) => e.shutdown(0)));
  }
}

/** Echo servers on one port, one per loopback IP (the first picks the port); they stop after. */
function echoesOnOnePort(ips: readonly string[]) {
  const first = startEcho({ listen_addr: `${ips[0]}:0`, metrics_addr: "off" });
  const port = Number(first.addr.split(":")[1]);
  const rest = ips.slice(1).map((ip) =>
    startEcho({ listen_addr: `${ip}:${port}`, metrics_addr: "off" })
  );
  return { echoes: [first, ...rest], port };
}

/** Fast lookups, and checks that bring a new backend in after one pass. */
const QUICK_DISCOVERY = {
  min_refresh_secs: 0.05,
  max_refresh_secs: 0.1,
  refresh_secs: 0.2,
  health_check: { interval_ms: 50, rise: 1, timeout_ms: 500 },
};

/** Send `text` through the balancer and expect it back. */
async function assertEchoed(addr: string, text: string): Promise<void> {
  const conn = await dial(addr);
  await writeAll(conn, new TextEncoder().encode(text));
  assert.equal(new TextDecoder().decode(await readExactly(conn, text.length)), text);
  conn.close();
}

/** The first sample of monkey_lb_discovery_failures_total whose name contains `label`. */
function discoveryFailures(lb: LoadBalancer, label = ""): number {
  const family = lb.families().find((f) => f.name === "monkey_lb_discovery_failures_total");
  return Number(family?.samples.find(([name]) => name.includes(label))?.[1] ?? 0);
}

Deno.test("discovery config: a bad URL, resolver or refresh range is a one-line config error", () => {
  assert.throws(
    () => normalizeLbConfig({ discovery: "dns://echo.service.consul" }),
    /Cannot parse 'discovery' in config: .*a port is required/,
  );
  assert.throws(
    () => normalizeLbConfig({ discovery: "dns://a.test:1", resolver: "nowhere" }),
    /Cannot parse 'resolver' in config: expected host:port or an IP, got 'nowhere'/,
  );
  assert.throws(
    () => normalizeLbConfig({ min_refresh_secs: 10, max_refresh_secs: 5 }),
    /'min_refresh_secs' 10 .* above 'max_refresh_secs' 5/,
  );
});

Deno.test(
  "LB discovers three backends, adds a fourth, drains a removed one, keeps all while DNS is down",
  withDnsmasq,
  async () => {
    const { echoes, port } = echoesOnOnePort(["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"]);
    await using dns = await startDnsmasq({
      hosts: { "echo.test": ["127.0.0.2", "127.0.0.3", "127.0.0.4"] },
    });
    await withLb(
      {
        discovery: `dns://echo.test:${port}`,
        resolver: dns.addr,
        ...QUICK_DISCOVERY,
      },
      echoes,
      async (lb, lines) => {
        const addrs = () =>
          lb.backends.list().filter((b) => !b.removing).map((b) => b.addr).sort().join(" ");
        await waitFor(
          () => addrs() === `127.0.0.2:${port} 127.0.0.3:${port} 127.0.0.4:${port}`,
          "three backends",
        );
        const rows = await (await lb.app.request("/backends")).json() as { source: string }[];
        assert.deepEqual(rows.map((r) => r.source), ["dns", "dns", "dns"]);

        // One live connection on every backend (round robin).
        const conns = await Promise.all([0, 1, 2].map(() => dial(lb.addr)));
        for (const conn of conns) {
          await writeAll(conn, new TextEncoder().encode("a"));
          await readExactly(conn, 1);
        }
        const gone = lb.backends.get(`127.0.0.2:${port}`)!;
        assert.equal(gone.active, 1);

        await dns.reload({ hosts: { "echo.test": ["127.0.0.3", "127.0.0.4", "127.0.0.5"] } });
        await waitFor(
          () => lb.backends.get(`127.0.0.5:${port}`)?.state === "up",
          "the fourth backend to join after its health check",
        );
        // The removed one drains: still there with its live connection, taking no new ones.
        assert.equal(gone.removing, true);
        assert.equal(lb.backends.get(gone.addr), gone);
        for (const conn of conns) {
          await writeAll(conn, new TextEncoder().encode("b"));
          assert.equal(new TextDecoder().decode(await readExactly(conn, 1)), "b");
        }
        for (const conn of conns) conn.close();
        await waitFor(
          () => lb.backends.get(gone.addr) === undefined,
          "the drained backend to leave",
        );

        await dns.stop();
        await waitFor(
          () => discoveryFailures(lb) >= 2,
          "lookups to fail while dnsmasq is stopped",
          10_000,
        );
        assert.equal(addrs(), `127.0.0.3:${port} 127.0.0.4:${port} 127.0.0.5:${port}`);
        assert.equal(
          lines.filter((l) => /keeping the last known backends/.test(l)).length,
          1,
          "a failure is logged once per change, not per lookup",
        );
      },
    );
  },
);

Deno.test(
  "LB discovery from SRV: weights are backend weights, higher priorities are backups, static ones stay",
  withDnsmasq,
  async () => {
    const echoes = [0, 1, 2].map(() =>
      startEcho({ listen_addr: "127.0.0.1:0", metrics_addr: "off" })
    );
    const [a, b, c] = echoes.map((e) => Number(e.addr.split(":")[1]));
    await using dns = await startDnsmasq({
      srv: [
        { name: "_echo._tcp.test", target: "one.test", port: a!, priority: 10, weight: 60 },
        { name: "_echo._tcp.test", target: "one.test", port: b!, priority: 10, weight: 20 },
        { name: "_echo._tcp.test", target: "one.test", port: c!, priority: 20, weight: 5 },
      ],
      hosts: { "one.test": ["127.0.0.1"] },
    });
    await withLb(
      {
        discovery: "dns+srv://_echo._tcp.test",
        resolver: dns.addr,
        backends: [{ addr: echoes[0]!.addr }],
        health_check: { interval_ms: 0 },
      },
      echoes,
      async (lb) => {
        await waitFor(() => lb.backends.list().length === 3, "SRV backends");
        const rows = await (await lb.app.request("/backends")).json() as {
          addr: string;
          source: string;
          weight: number;
          backup: boolean;
        }[];
        const byPort = Object.fromEntries(rows.map((r) => [Number(r.addr.split(":")[1]), r]));
        // The first address is static in the file: it stays static with its own weight.
        assert.deepEqual([byPort[a!]!.source, byPort[a!]!.weight], ["static", 1]);
        assert.deepEqual(
          [byPort[b!]!.source, byPort[b!]!.weight, byPort[b!]!.backup],
          ["dns", 20, false],
        );
        assert.deepEqual(
          [byPort[c!]!.source, byPort[c!]!.weight, byPort[c!]!.backup],
          ["dns", 5, true],
        );
      },
    );
  },
);

Deno.test(
  "LB discovery: when every target changes at once the new ones serve at once (never zero backends)",
  withDnsmasq,
  async () => {
    const { echoes, port } = echoesOnOnePort(["127.0.0.2", "127.0.0.3"]);
    await using dns = await startDnsmasq({ hosts: { "all.test": ["127.0.0.2"] } });
    await withLb(
      {
        discovery: `dns://all.test:${port}`,
        resolver: dns.addr,
        min_refresh_secs: 0.05,
        max_refresh_secs: 0.1,
        // Checks so slow they never run during the test: joining cannot wait for them.
        health_check: { interval_ms: 600_000 },
      },
      echoes,
      async (lb) => {
        await waitFor(() => lb.backends.get(`127.0.0.2:${port}`)?.state === "up", "first target");
        await dns.reload({ hosts: { "all.test": ["127.0.0.3"] } });
        await waitFor(() => lb.backends.get(`127.0.0.3:${port}`) !== undefined, "the new target");
        assert.equal(lb.backends.get(`127.0.0.3:${port}`)!.state, "up");
        await assertEchoed(lb.addr, "z");
      },
    );
  },
);

Deno.test(
  "a named pool discovers backends from DNS (resolver inherited), checks a new one in, drains a removed one, counts failures",
  withDnsmasq,
  async () => {
    const { echoes, port } = echoesOnOnePort(["127.0.0.2", "127.0.0.3", "127.0.0.4"]);
    await using dns = await startDnsmasq({ hosts: { "web.test": ["127.0.0.2", "127.0.0.3"] } });
    await withLb(
      {
        resolver: dns.addr, // top level: the pool inherits it
        default_pool: "web",
        pools: {
          web: {
            discovery: `dns://web.test:${port}`,
            ...QUICK_DISCOVERY,
          },
        },
      },
      echoes,
      async (lb) => {
        const web = () => lb.snapshot().pools!.find((p) => p.name === "web")!.backends;
        const addrs = () => web().map((b) => `${b.addr}:${b.source}`).sort().join(" ");
        const up = () => web().filter((b) => b.state === "up").map((b) => b.addr).sort().join(" ");
        await waitFor(
          () => addrs() === `127.0.0.2:${port}:dns 127.0.0.3:${port}:dns`,
          "the pool's two discovered backends",
        );
        assert.equal(lb.backends.list().length, 0, "the default pool stays empty");
        await assertEchoed(lb.addr, "w");

        // The new one starts down (the pool has backends in service) and its checks bring it in.
        await dns.reload({ hosts: { "web.test": ["127.0.0.3", "127.0.0.4"] } });
        await waitFor(
          () => up() === `127.0.0.3:${port} 127.0.0.4:${port}`,
          "the new backend to pass its checks",
        );
        await waitFor(
          () => addrs() === `127.0.0.3:${port}:dns 127.0.0.4:${port}:dns`,
          "the removed one to leave",
        );

        await dns.stop();
        await waitFor(
          () => discoveryFailures(lb, 'pool="web"') >= 2,
          "the pool's lookups to fail",
          10_000,
        );
        assert.equal(addrs(), `127.0.0.3:${port}:dns 127.0.0.4:${port}:dns`, "on_failure = keep");
      },
    );
  },
);

Deno.test("a pool's discovery keys are checked like the top level's, naming the pool", () => {
  assert.throws(
    () => normalizeLbConfig({ pools: { web: { discovery: "dns://echo.test" } } }),
    /Cannot parse 'discovery' in config \[pools\.web\]: .*a port is required/,
  );
});
