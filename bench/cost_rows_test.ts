import assert from "node:assert/strict";
import { requires, tlsDial } from "@monkey/testing";
import { parseBenchArgs } from "./args.ts";
import { costPairs, renderCosts, sniRouteConfig } from "./cost_rows.ts";
import { openDashboards } from "./dashboards.ts";
import { startOurEcho, startServe } from "./ours.ts";
import { hasProgram, ProcessGroup } from "./process_group.ts";
import { buildYardsticks } from "./yardsticks.ts";
import { startAuto } from "./tls_rows.ts";

const NEEDS = requires("run", "read", "write", "env", "sys");

Deno.test(
  "sniRouteConfig(): the LB reads the ClientHello and the sni route takes the client",
  NEEDS,
  async () => {
    await using group = new ProcessGroup();
    const tlsEcho = await startServe(group, "tls-echo", "tls-echo", []);
    const config = `${group.tempDir()}/lb.toml`;
    Deno.writeTextFileSync(config, sniRouteConfig(tlsEcho.addr));
    const lb = await startAuto(group, "lb-sni-route", "lb", {
      config,
      metrics_addr: "127.0.0.1:0",
    });
    // Passthrough: the TLS session is the backend's; the client verifies its certificate.
    const conn = await tlsDial(lb.addr, "localhost");
    const message = new TextEncoder().encode("through the sni route");
    await conn.write(message);
    const got = new Uint8Array(message.length);
    let n = 0;
    while (n < got.length) n += (await conn.read(got.subarray(n))) ?? got.length;
    assert.deepEqual(got, message);
    conn.close();
    const routes = await (await fetch(`http://${lb.metricsAddr}/routes`)).json();
    assert.equal(routes[0].sni, "localhost");
    assert.equal(routes[0].pool, "sni");
    assert.equal(routes[0].connections, 1);
  },
);

Deno.test(
  "openDashboards() holds event streams open that receive updates, and closes them",
  NEEDS,
  async () => {
    await using group = new ProcessGroup();
    const echo = await startOurEcho(group);
    const proxy = await startAuto(group, "proxy", "proxy", {
      target_addr: echo.addr,
      metrics_addr: "127.0.0.1:0",
    });
    const dashboards = await openDashboards(proxy.metricsAddr!, 3);
    assert.ok(dashboards.updates() >= 3, `${dashboards.updates()} updates`);
    await dashboards.close();
    await assert.rejects(openDashboards("127.0.0.1:1", 1), /Cannot open 1 dashboards on 127/);
  },
);

Deno.test("costPairs() measures the four pairs side by side, with no error", NEEDS, async () => {
  await using group = new ProcessGroup();
  const backend = await startOurEcho(group);
  const options = parseBenchArgs(["--quick", "--reps", "1", "--secs", "0.3"]);
  const pairs = await costPairs(group, backend, "deno", options);
  assert.deepEqual(pairs.map((p) => p.id), ["sni", "dashboards", "limits", "control"]);
  for (const pair of pairs) {
    assert.ok(pair.base_rps > 0 && pair.variant_rps > 0, pair.id);
    assert.equal(pair.errors, 0, pair.id);
    assert.ok(Math.abs(pair.ratio - pair.variant_rps / pair.base_rps) < 1e-9, pair.id);
    assert.equal(pair.engine, "deno");
  }
  assert.equal(pairs[1]!.base, "proxy+endpoint");
  assert.equal(pairs[1]!.variant, "proxy+10-dashboards");
  assert.match(
    renderCosts(pairs),
    /\| per-client limits configured, not hit, vs none, proxy +\|/,
  );
});

Deno.test(
  "costPairs() drives the plain pairs with the C client when it is built",
  { ...NEEDS, ignore: NEEDS.ignore || !hasProgram("cc") },
  async () => {
    const built = await buildYardsticks();
    if ("skipped" in built) throw new Error(built.skipped);
    const group = new ProcessGroup();
    const lines: string[] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => void lines.push(args.join(" "));
    try {
      const backend = await startOurEcho(group);
      const options = parseBenchArgs(["--quick", "--reps", "2", "--secs", "0.3"]);
      const pairs = await costPairs(group, backend, "deno", options, built.pingpong);
      for (const pair of pairs) {
        assert.ok(pair.base_rps > 0 && pair.variant_rps > 0, pair.id);
        assert.equal(pair.errors, 0, pair.id);
      }
      assert.match(lines[0]!, /2 repetitions, a fresh process each; client: pingpong \(C\)/);
      // Two repetitions of four pairs, each side once: sixteen runs.
      assert.equal(lines.filter((l) => /^ {2}rep [12]\/2 /.test(l)).length, 16);
    } finally {
      console.log = log;
      await group.stopAll();
    }
  },
);
