import assert from "node:assert/strict";
import { ConfigError, encodeProxyV1, Logger } from "@monkey/shared";
import {
  dial,
  echoUntilEof,
  ENGINE_CASES,
  readExactly,
  readOutcome,
  requires,
  startPeer,
  startTlsEcho,
  TLS_TESTDATA,
  waitFor,
  writeAll,
} from "@monkey/testing";
import { startLoadBalancer } from "./balancer.ts";
import { startTestLb } from "./_testing.ts";

const read = requires("read");
const NO_CHECKS = { interval_ms: 0 };
const text = new TextEncoder();

Deno.test({
  name: "upstream TLS per pool: one pool originates TLS (CA inherited), another stays plain",
  ...read,
  async fn() {
    await using secure = startTlsEcho("localhost", "L");
    await using plain = startPeer(async (conn) => {
      await writeAll(conn, text.encode("P"));
      await echoUntilEof(conn);
    });
    await using lb = startTestLb({
      // Routing by source: the PROXY header says who the client is.
      accept_proxy: "v1",
      trusted_proxies: ["127.0.0.0/8"],
      upstream_ca: `${TLS_TESTDATA}ca.pem`, // top level: TLS off, the CA inherited by pools
      retries: 0,
      health_check: NO_CHECKS,
      backends: [{ addr: plain.addr }],
      pools: {
        secure: {
          upstream_tls: true,
          upstream_sni: "localhost",
          backends: [{ addr: secure.addr }],
          health_check: NO_CHECKS,
        },
        wrong: {
          upstream_tls: true,
          upstream_ca: `${TLS_TESTDATA}other_ca.pem`,
          upstream_sni: "localhost",
          backends: [{ addr: secure.addr }],
          health_check: NO_CHECKS,
        },
      },
      routes: [
        { source: "192.0.2.0/24", pool: "secure" },
        { source: "198.51.100.0/24", pool: "wrong" },
      ],
    });
    const from = async (ip: string) => {
      const conn = await dial(lb.addr);
      const header = encodeProxyV1({ hostname: ip, port: 1234 }, {
        hostname: "127.0.0.1",
        port: 4000,
      });
      await writeAll(conn, new Uint8Array([...header, ...text.encode("ping")]));
      return conn;
    };
    assert.equal(lb.engineLabel, "deno (TLS needs it)", "a pool's TLS picks the deno engine");
    for (const [ip, tag] of [["192.0.2.7", "L"], ["203.0.113.9", "P"]] as const) {
      const conn = await from(ip);
      assert.equal(new TextDecoder().decode(await readExactly(conn, 5)), `${tag}ping`, ip);
      conn.close();
    }
    // The pool with the wrong CA refuses the backend's certificate: the client is closed.
    const refused = await from("198.51.100.3");
    assert.notEqual(await readOutcome(refused), "data");
    refused.close();
    await waitFor(() => lb.snapshot().failed_connections === 1, "the refusal counted");
  },
});

Deno.test({
  name: "a pool's upstream TLS keys are checked naming the pool, and need the deno engine",
  ...read,
  fn() {
    const quiet = new Logger({ name: "lb", level: "error" });
    assert.throws(
      () =>
        startLoadBalancer({
          metrics_addr: "off",
          pools: { web: { upstream_tls: true, upstream_ca: "/nonexistent.pem" } },
        }, { logger: quiet }),
      (e) =>
        e instanceof ConfigError &&
        /Cannot read 'upstream_ca' in config \[pools\.web\]: no such file/.test(e.message),
    );
    assert.throws(
      () =>
        startLoadBalancer({
          metrics_addr: "off",
          engine: "epoll",
          pools: { web: { upstream_tls: true } },
        }, { logger: quiet }),
      (e) => e instanceof ConfigError && /'engine' in config: TLS/.test(e.message),
    );
  },
});

Deno.test({
  name:
    "on epoll, a pool with upstream keys but TLS off relays plainly; a reload turning its TLS on is refused",
  ignore: ENGINE_CASES.find((c) => c.engine === "epoll")!.ignore,
  async fn() {
    await using echo = startPeer((conn) => echoUntilEof(conn));
    await using lb = startTestLb({
      engine: "auto", // epoll here: a reload cannot switch engines
      default_pool: "web",
      pools: {
        web: {
          upstream_sni: "web.internal", // TLS stays off: upstream_tls is false everywhere
          backends: [{ addr: echo.addr }],
          health_check: NO_CHECKS,
        },
      },
    });
    assert.equal(lb.engineLabel, "epoll");
    const conn = await dial(lb.addr);
    await writeAll(conn, text.encode("plain"));
    assert.equal(new TextDecoder().decode(await readExactly(conn, 5)), "plain");
    conn.close();
    await assert.rejects(
      () => lb.reload({ ...lb.config, pools: { web: { upstream_tls: true } } }),
      (e) => e instanceof ConfigError && /TLS needs the deno engine .*'epoll'/.test(e.message),
    );
    assert.equal(lb.config.pools["web"]?.upstream_tls, undefined, "nothing changed");
  },
});
