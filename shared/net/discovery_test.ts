import assert from "node:assert/strict";
import { dnsmasqPath, requires, startDnsmasq } from "@monkey/testing";
import { parseAddress } from "./address.ts";
import { DnsClient, DnsError, parseResolvConf } from "./dns.ts";
import { DNS_TYPE } from "./dns_wire.ts";
import {
  type DiscoveredTarget,
  DiscoveryLoop,
  parseDiscovery,
  type Resolution,
  resolveTargets,
} from "./discovery.ts";

const withDnsmasq = (() => {
  const options = requires("run", "read", "write");
  if (!options.ignore && dnsmasqPath() === undefined) {
    console.warn("dnsmasq not installed (apt-get install -y dnsmasq-base): DNS tests skipped");
    return { ignore: true };
  }
  return options;
})();

Deno.test("parseDiscovery accepts dns+srv:// and dns://name:port, and names what is wrong", () => {
  assert.deepEqual(parseDiscovery("dns+srv://_echo._tcp.Service.consul."), {
    kind: "srv",
    name: "_echo._tcp.service.consul",
    text: "dns+srv://_echo._tcp.Service.consul.",
  });
  assert.equal((parseDiscovery("dns://echo.service.consul:8081") as { port: number }).port, 8081);
  assert.throws(() => parseDiscovery("dns://echo.service.consul"), /a port is required/);
  assert.throws(() => parseDiscovery("http://x:1"), /expected dns\+srv:\/\/.*got 'http:\/\/x:1'/);
  assert.throws(() => parseDiscovery("dns+srv://bad..name"), /domain name/);
});

Deno.test("parseResolvConf reads nameserver lines only", () => {
  assert.deepEqual(
    parseResolvConf(
      "# c\nsearch x\nnameserver 10.0.0.2\nnameserver fe80::1%eth0\nnameserver bad\n",
    ),
    [{ hostname: "10.0.0.2", port: 53 }, { hostname: "fe80::1", port: 53 }],
  );
});

Deno.test(
  "resolveTargets maps SRV priority to backups and weight to weight (dnsmasq)",
  withDnsmasq,
  async () => {
    await using dns = await startDnsmasq({
      srv: [
        { name: "_echo._tcp.test", target: "a.test", port: 8081, priority: 1, weight: 10 },
        { name: "_echo._tcp.test", target: "b.test", port: 8082, priority: 1, weight: 30 },
        { name: "_echo._tcp.test", target: "c.test", port: 8083, priority: 2, weight: 5 },
      ],
      hosts: { "a.test": ["127.0.0.2"], "b.test": ["127.0.0.3", "::1"], "c.test": ["127.0.0.4"] },
    });
    const client = new DnsClient({ nameservers: [parseAddress(dns.addr)], timeoutMs: 1000 });
    const { targets, ttlSecs } = await resolveTargets(
      parseDiscovery("dns+srv://_echo._tcp.test"),
      client,
    );
    const byAddr = Object.fromEntries(targets.map((t) => [t.addr, t]));
    assert.deepEqual(Object.keys(byAddr).sort(), [
      "127.0.0.2:8081",
      "127.0.0.3:8082",
      "127.0.0.4:8083",
      "[::1]:8082",
    ]);
    assert.deepEqual(byAddr["127.0.0.2:8081"], {
      addr: "127.0.0.2:8081",
      weight: 10,
      backup: false,
    });
    assert.equal(byAddr["127.0.0.3:8082"]!.weight, 30);
    assert.equal(byAddr["127.0.0.4:8083"]!.backup, true);
    assert.equal(ttlSecs, 1);

    const a = await resolveTargets(parseDiscovery("dns://b.test:9000"), client);
    assert.deepEqual(a.targets.map((t) => t.addr).sort(), ["127.0.0.3:9000", "[::1]:9000"]);

    await assert.rejects(
      () => client.query("missing.test", DNS_TYPE.A),
      (e) => e instanceof DnsError && e.kind === "nxdomain" && /NXDOMAIN/.test(e.message),
    );
    await dns.stop();
    const quick = new DnsClient({
      nameservers: [parseAddress(dns.addr)],
      timeoutMs: 100,
      attempts: 1,
    });
    await assert.rejects(
      () => quick.query("a.test", DNS_TYPE.A),
      (e) => e instanceof DnsError && (e.kind === "timeout" || e.kind === "network"),
    );
  },
);

Deno.test("DiscoveryLoop keeps (or clears) the last set on failures and reports once per change", async () => {
  const answers: (Resolution | Error)[] = [
    { targets: [{ addr: "127.0.0.1:1", weight: 1, backup: false }], ttlSecs: 0 },
    new DnsError("nxdomain", "NXDOMAIN for x"),
    new DnsError("nxdomain", "NXDOMAIN for x"),
    { targets: [], ttlSecs: 0 },
    { targets: [{ addr: "127.0.0.1:2", weight: 1, backup: false }], ttlSecs: 99 },
  ];
  for (const onFailure of ["keep", "clear"] as const) {
    const applied: DiscoveredTarget[][] = [];
    const reports: string[] = [];
    let i = 0;
    const loop = new DiscoveryLoop(() => {
      const next = answers[i++]!;
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    }, {
      refreshSecs: 5,
      minRefreshSecs: 1,
      maxRefreshSecs: 30,
      onFailure,
      apply: (targets) => applied.push(targets),
      report: (event) => reports.push(`${event.kind}: ${event.message}`),
    });
    for (let n = 0; n < answers.length; n++) await loop.refresh();
    assert.equal(loop.failures, 3);
    assert.equal(loop.nextDelayMs, 30_000, "a TTL of 99 s is capped at max_refresh_secs");
    assert.deepEqual(reports.map((r) => r.split(":")[0]), ["failure", "failure", "recovered"]);
    assert.match(reports[0]!, onFailure === "keep" ? /keeping/ : /clearing/);
    const addrs = applied.map((set) => set.map((t) => t.addr).join(","));
    assert.deepEqual(
      addrs,
      onFailure === "keep"
        ? ["127.0.0.1:1", "127.0.0.1:2"]
        : ["127.0.0.1:1", "", "", "", "127.0.0.1:2"],
    );
    await loop.stop();
  }
});

Deno.test("DiscoveryLoop counts an unexpected error as a failed lookup instead of crashing", async () => {
  const reports: string[] = [];
  const loop = new DiscoveryLoop(() => Promise.reject(new RangeError("odd target name")), {
    refreshSecs: 5,
    minRefreshSecs: 1,
    maxRefreshSecs: 30,
    onFailure: "keep",
    apply: () => assert.fail("nothing to apply"),
    report: (event) => reports.push(event.message),
  });
  await loop.refresh();
  assert.equal(loop.failures, 1);
  assert.match(reports[0]!, /lookup failed: odd target name; keeping/);
  await loop.stop();
});
