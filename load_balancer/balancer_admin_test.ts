import assert from "node:assert/strict";
import { ConfigError, Logger, memorySink } from "@monkey/shared";
import { readExactly, readLine, splitAddr, testEachEngine, waitFor } from "@monkey/testing";
import {
  adminRequest,
  connectTagged,
  echoLine,
  type TaggedBackend,
  tagOf,
  TEST_TOKEN,
  withAdminLb as withLb,
  withTaggedLb,
} from "./_testing.ts";
import { startLoadBalancer } from "./balancer.ts";

function quietLogger() {
  const { sink, lines } = memorySink();
  return { logger: new Logger({ sink, level: "debug" }), lines };
}

testEachEngine(
  "drain and delete through the admin API keep live connections until they finish",
  async ({ engine }) => {
    await withTaggedLb(engine, ["a", "b"], {}, async (lb, backends) => {
      const live = await connectTagged(lb.addr);
      assert.equal(live.tag, "a");
      const drained = await adminRequest(lb, "POST", `/backends/${backends[0]!.addr}/drain`);
      assert.equal(drained.status, 200);
      assert.equal((await drained.json()).state, "draining");
      for (let i = 0; i < 3; i++) assert.equal(await tagOf(lb.addr), "b");
      assert.equal(await echoLine(live.conn, "still here"), "still here");

      const enabled = await adminRequest(lb, "POST", `/backends/${backends[0]!.addr}/enable`);
      assert.equal((await enabled.json()).state, "up");

      const deleted = await adminRequest(lb, "DELETE", `/backends/${backends[0]!.addr}`);
      assert.equal(deleted.status, 202);
      const body = await deleted.json();
      assert.equal(body.removed, false);
      assert.equal(body.state, "draining");
      for (let i = 0; i < 3; i++) assert.equal(await tagOf(lb.addr), "b");
      assert.equal(await echoLine(live.conn, "after delete"), "after delete");
      assert.ok(lb.backends.get(backends[0]!.addr));
      live.conn.close();
      await waitFor(() => lb.backends.get(backends[0]!.addr) === undefined, "removal when idle");
      const list = await (await lb.app.request("/backends")).json();
      assert.deepEqual(list.map((b: { addr: string }) => b.addr), [backends[1]!.addr]);
      // Bytes of the removed backend stay in the frontend totals.
      assert.ok(lb.snapshot().bytes_upstream >= "still here\nafter delete\n".length);
    });
  },
);

testEachEngine("POST /backends adds a backend that takes traffic at once", async ({ engine }) => {
  const onlyFirst = (backends: TaggedBackend[]) => ({ backends: [{ addr: backends[0]!.addr }] });
  await withTaggedLb(engine, ["a", "b"], onlyFirst, async (lb, backends) => {
    const res = await adminRequest(lb, "POST", "/backends", { addr: backends[1]!.addr, weight: 2 });
    assert.equal(res.status, 201);
    const tags = new Set([await tagOf(lb.addr), await tagOf(lb.addr)]);
    assert.deepEqual([...tags].sort(), ["a", "b"]);
  });
});

testEachEngine(
  "reload keeps live connections, adds and drains backends, and rejects a bad config",
  async ({ engine }) => {
    const firstTwo = (backends: TaggedBackend[]) => ({
      backends: backends.slice(0, 2).map((b) => ({ addr: b.addr })),
    });
    await withTaggedLb(engine, ["a", "b", "c"], firstTwo, async (lb, backends) => {
      const [a, b, c] = backends as [TaggedBackend, TaggedBackend, TaggedBackend];
      const live = await connectTagged(lb.addr);
      assert.equal(live.tag, "a");
      const { changes } = await lb.reload({
        listen_addr: "127.0.0.1:0",
        metrics_addr: "off",
        admin_token: TEST_TOKEN,
        engine,
        strategy: "weighted_round_robin",
        health_check: { interval_ms: 0 },
        backends: [{ addr: b.addr, weight: 2 }, { addr: c.addr }],
      });
      assert.ok(changes.includes(`added ${c.addr}`), changes.join("; "));
      assert.ok(changes.some((line) => line.startsWith(`removing ${a.addr}`)));
      assert.ok(changes.includes("strategy round_robin -> weighted_round_robin"));
      assert.equal(lb.config.strategy, "weighted_round_robin");
      assert.equal(lb.backends.get(a.addr)!.state, "draining");
      let order = "";
      for (let i = 0; i < 3; i++) order += await tagOf(lb.addr);
      assert.equal(order, "bcb");
      assert.equal(await echoLine(live.conn, "alive"), "alive");

      await assert.rejects(
        () => lb.reload({ strategy: "fastest" as "round_robin" }),
        ConfigError,
      );
      await assert.rejects(
        () => lb.reload({ backends: [{ addr: b.addr }, { addr: b.addr }] }),
        /duplicate backend/,
      );
      assert.equal(lb.config.strategy, "weighted_round_robin");
      assert.equal(lb.backends.list().length, 3);
      assert.equal(await echoLine(live.conn, "still alive"), "still alive");
      live.conn.close();
      await waitFor(() => lb.backends.get(a.addr) === undefined, "a removed when idle");
      assert.equal(lb.snapshot().reloads, 1);
    });
  },
);

const encode = (text: string) => new TextEncoder().encode(text);
const V2_SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];

/** What the backend must read first: the header for a client port and the balancer's port. */
const PROXY_HEADER_CASES: {
  name: string;
  listen: string;
  version: "v1" | "v2";
  header: (clientPort: number, port: number) => Uint8Array;
}[] = [
  {
    name: "v1 names TCP4 and the client's address and port",
    listen: "127.0.0.1:0",
    version: "v1",
    header: (cp, port) => encode(`PROXY TCP4 127.0.0.1 127.0.0.1 ${cp} ${port}\r\n`),
  },
  {
    name: "v2 carries family 0x11, both addresses and ports in binary",
    listen: "127.0.0.1:0",
    version: "v2",
    header: (cp, port) =>
      new Uint8Array([
        ...V2_SIGNATURE,
        ...[0x21, 0x11, 0x00, 0x0c],
        ...[127, 0, 0, 1, 127, 0, 0, 1],
        ...[cp >> 8, cp & 0xff, port >> 8, port & 0xff],
      ]),
  },
  {
    name: "v1 over IPv6 names TCP6 and the ::1 addresses",
    listen: "[::1]:0",
    version: "v1",
    header: (cp, port) => encode(`PROXY TCP6 ::1 ::1 ${cp} ${port}\r\n`),
  },
];

for (const { name, listen, version, header } of PROXY_HEADER_CASES) {
  testEachEngine(`proxy_protocol ${name}, before any client byte`, async ({ engine }) => {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const backends = [{ addr: `127.0.0.1:${listener.addr.port}` }];
    await withLb(engine, { listen_addr: listen, proxy_protocol: version, backends }, async (lb) => {
      const [hostname, port] = splitAddr(lb.addr);
      const accepted = listener.accept();
      const client = await Deno.connect({ hostname, port });
      await client.write(encode("hello"));
      const upstream = await accepted;
      const expected = new Uint8Array([...header(client.localAddr.port, port), ...encode("hello")]);
      assert.deepEqual(await readExactly(upstream, expected.length), expected);
      client.close();
      assert.equal(await readLine(upstream), null);
      upstream.close();
    });
  });
}

testEachEngine(
  "a listen address in use fails with one clear line and leaves nothing running",
  async ({ engine }) => {
    using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const addr = `127.0.0.1:${taken.addr.port}`;
    using backend = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    assert.throws(
      () =>
        startLoadBalancer({
          listen_addr: addr,
          metrics_addr: "off",
          engine,
          health_check: { interval_ms: 10 },
          backends: [{ addr: `127.0.0.1:${backend.addr.port}` }],
        }, { logger: quietLogger().logger }),
      new RegExp(`Cannot listen on ${addr} \\(listen_addr\\): address already in use`),
    );
    // No health check may probe the backend afterwards (ten intervals of silence).
    const probe = backend.accept().then((conn) => {
      conn.close();
      return "probed";
    }, () => "closed");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const quiet = new Promise<string>((resolve) => timer = setTimeout(() => resolve("quiet"), 100));
    assert.equal(await Promise.race([probe, quiet]), "quiet");
    clearTimeout(timer);
    backend.close();
    await probe;
  },
);
