import assert from "node:assert/strict";
import {
  assertClosedWithoutData,
  assertEchoes,
  assertGreetings,
  dial,
  echoUntilEof,
  ENGINE_CASES,
  readExactly,
  requires,
  startPeer,
  startTlsEcho,
  testCertPaths,
  TLS_TESTDATA,
  tlsDial,
  tlsFiles,
  waitFor,
  writeAll,
} from "@monkey/testing";
import { ConfigError, Logger } from "@monkey/shared";
import { type LbConfigInput, startLoadBalancer } from "./mod.ts";
import { startTestLb } from "./_testing.ts";

const quiet = () => new Logger({ name: "lb", level: "error" });
const read = requires("read");
const text = new TextEncoder();

const NO_CHECKS = { interval_ms: 0 };

for (const engine of ENGINE_CASES) {
  Deno.test({
    name:
      `SNI passthrough routes a.test and b.test to their pools, the rest to default (${engine.label})`,
    ignore: engine.ignore || read.ignore,
    async fn() {
      await using a = startTlsEcho("a.test", "A");
      await using b = startTlsEcho("b.test", "B");
      await using d = startTlsEcho("localhost", "D");
      const config: LbConfigInput = {
        engine: engine.engine,
        health_check: NO_CHECKS,
        backends: [{ addr: d.addr }],
        pools: {
          alpha: { backends: [{ addr: a.addr }], health_check: NO_CHECKS },
          beta: { backends: [{ addr: b.addr }], health_check: NO_CHECKS },
        },
        routes: [{ sni: "a.test", pool: "alpha" }, { sni: "*.test", pool: "beta" }],
      };
      await using lb = startTestLb(config);
      assert.equal(lb.engineLabel, engine.engine);
      await assertGreetings(lb.addr, [["a.test", "A"], ["b.test", "B"], ["localhost", "D"]]);
      await waitFor(() => lb.snapshot().active_connections === 0, "connections to end");
      const snap = lb.snapshot();
      assert.deepEqual(snap.pools?.map((p) => [p.name, p.connections]), [
        ["default", 1],
        ["alpha", 1],
        ["beta", 1],
      ]);
      assert.deepEqual(snap.routes?.map((r) => [r.route, r.pool, r.connections]), [
        ["0", "alpha", 1],
        ["1", "beta", 1],
      ]);
      assert.ok(snap.pools![1]!.bytes_upstream > 4, "ClientHello and payload counted");
      const prom = await (await lb.app.request("/metrics")).text();
      assert.match(prom, /monkey_lb_pool_connections_total\{pool="alpha"\} 1/);
      assert.match(prom, /monkey_lb_route_connections_total\{route="1",pool="beta"\} 1/);
      const routes = await (await lb.app.request("/routes")).json();
      assert.equal(routes[0].sni, "a.test");
      const pools = await (await lb.app.request("/pools")).json();
      assert.equal(pools[2].backends[0].addr, b.addr);
    },
  });

  Deno.test({
    name:
      `SNI passthrough closes malformed ClientHellos and sends plain clients to default_pool or closes them (${engine.label})`,
    ignore: engine.ignore || read.ignore,
    async fn() {
      await using a = startTlsEcho("a.test", "A");
      await using plain = startPeer((conn) => echoUntilEof(conn));
      const base: LbConfigInput = {
        engine: engine.engine,
        health_check: NO_CHECKS,
        backends: [{ addr: plain.addr }],
        pools: { alpha: { backends: [{ addr: a.addr }], health_check: NO_CHECKS } },
        routes: [{ sni: "a.test", pool: "alpha" }],
      };
      await using lb = startTestLb(base);
      await using strict = startTestLb({ ...base, no_sni: "close" });
      // Plain TCP: no SNI, so the default pool (a plain echo) answers byte-exact.
      const conn = await dial(lb.addr);
      await assertEchoes(conn, 64 * 1024);
      conn.close();
      // A handshake record whose ClientHello is garbage is closed and counted.
      const badHello = new Uint8Array([0x16, 3, 1, 0, 6, 1, 0, 0, 2, 0xff, 0xff]);
      await assertClosedWithoutData(lb.addr, badHello);
      await waitFor(() => lb.snapshot().client_hello_errors === 1, "the bad hello counted");
      assert.equal(lb.snapshot().sni_misses, 1);
      // With no_sni = "close", the plain client is closed.
      await assertClosedWithoutData(strict.addr, text.encode("hello"));
      await waitFor(() => strict.snapshot().sni_misses === 1, "the SNI miss counted");
    },
  });
}

Deno.test({
  name: "the load balancer terminates TLS (engine auto picks deno) and echoes byte-exact",
  ...read,
  async fn() {
    await using echo = startPeer((conn) => echoUntilEof(conn));
    await using lb = startTestLb({
      ...tlsFiles("localhost"),
      health_check: NO_CHECKS,
      backends: [{ addr: echo.addr }],
    });
    assert.equal(lb.engineLabel, "deno (TLS needs it)");
    const conn = await tlsDial(lb.addr, "localhost");
    await assertEchoes(conn, 128 * 1024);
    conn.close();
  },
});

Deno.test({
  name: "the load balancer originates TLS to its backends and refuses one a wrong CA signed",
  ...read,
  async fn() {
    await using backend = startTlsEcho("localhost", "L");
    const start = (ca: string) =>
      startTestLb({
        upstream_tls: true,
        upstream_ca: `${TLS_TESTDATA}${ca}`,
        upstream_sni: "localhost",
        retries: 0,
        health_check: NO_CHECKS,
        backends: [{ addr: backend.addr }],
      });
    await using good = start("ca.pem");
    await using wrong = start("other_ca.pem");
    const conn = await dial(good.addr);
    assert.equal(new TextDecoder().decode(await readExactly(conn, 1)), "L");
    conn.close();
    await assertClosedWithoutData(wrong.addr);
    await waitFor(() => wrong.snapshot().failed_connections === 1, "the refusal counted");
  },
});

Deno.test({
  name: "the load balancer names the key of a bad route, SNI pattern, pool or TLS setting",
  ...read,
  fn() {
    const cases: [LbConfigInput, RegExp][] = [
      [{ routes: [{ pool: "nope" }] }, /'routes\[0\]\.pool' in config: no such pool/],
      [
        { pools: { web: {} }, routes: [{ pool: "web", sni: "a.*.test" }] },
        /'routes\[0\]\.sni' in config: expected a host name/,
      ],
      [
        { pools: { web: {} }, routes: [{ pool: "web", source: "10.0.0.0/99" }] },
        /'routes\[0\]\.source' in config/,
      ],
      [{ default_pool: "gone" }, /'default_pool' in config: no such pool/],
      [{ pools: { "bad name": {} } }, /'pools\.bad name' in config/],
      [
        { engine: "epoll", upstream_tls: true },
        /'engine' in config: TLS/,
      ],
      [
        { tls_cert: testCertPaths("a.test").cert, tls_key: testCertPaths("b.test").key },
        /'tls_key' in config: the key does not match/,
      ],
      [{ tls_cert: "/nonexistent.pem", tls_key: "/x.key" }, /Cannot read 'tls_cert' in config/],
    ];
    for (const [input, message] of cases) {
      assert.throws(
        () => startLoadBalancer({ metrics_addr: "off", ...input }, { logger: quiet() }),
        (e) => e instanceof ConfigError && message.test(e.message),
        String(message),
      );
    }
  },
});

Deno.test({
  name: "with termination, routes match the agreed ALPN protocol and the client's source block",
  ...read,
  async fn() {
    const tagged = (tag: string) =>
      startPeer(async (conn) => {
        await writeAll(conn, text.encode(tag));
        await echoUntilEof(conn);
      });
    await using h2 = tagged("H");
    await using local = tagged("L");
    await using rest = tagged("R");
    await using lb = startTestLb({
      ...tlsFiles("localhost"),
      tls_alpn: ["h2", "http/1.1"],
      health_check: NO_CHECKS,
      backends: [{ addr: rest.addr }],
      pools: {
        h2: { backends: [{ addr: h2.addr }], health_check: NO_CHECKS },
        local: { backends: [{ addr: local.addr }], health_check: NO_CHECKS },
      },
      routes: [
        { alpn: "h2", pool: "h2" },
        { source: "10.0.0.0/8", pool: "h2" }, // not loopback: never matches here
        { source: "127.0.0.0/8", alpn: "http/1.1", pool: "local" },
      ],
    });
    const tagOf = async (alpn: string[]) => {
      const conn = await tlsDial(lb.addr, "localhost", { alpn });
      const tag = new TextDecoder().decode(await readExactly(conn, 1));
      conn.close();
      return tag;
    };
    assert.equal(await tagOf(["h2"]), "H");
    assert.equal(await tagOf(["http/1.1"]), "L");
    assert.equal(await tagOf([]), "R", "no ALPN: no route matches, default pool");
  },
});
