import assert from "node:assert/strict";
import net from "node:net";
import tls from "node:tls";
import { encodeProxyV2 } from "@monkey/shared";
import {
  assertEchoes,
  dial,
  echoUntilEof,
  haproxyPath,
  randomBytes,
  readAll,
  readOutcome,
  requires,
  splitAddr,
  startFrontHaproxy,
  startPeer,
  testCertPaths,
  TLS_TESTDATA,
  tlsDial,
  waitFor,
  writeAll,
} from "@monkey/testing";
import type { ProxyConfig } from "./config.ts";
import { startTestCluster, startTestProxy, type TestProxy, testWithCertFiles } from "./_testing.ts";

const read = requires("read");
const { cert, key } = testCertPaths("localhost");
const SOURCE = { hostname: "192.0.2.9", port: 4242 };
const DESTINATION = { hostname: "198.51.100.1", port: 443 };

/** Trust a PROXY v2 header from 127.0.0.1 (the test's clients and HAProxy). */
const TRUST_LOOPBACK: Partial<ProxyConfig> = {
  accept_proxy: "v2",
  trusted_proxies: ["127.0.0.1/32"],
};

/** The target: echoes everything, then ends its side once it has seen ours end. */
function echoPeer() {
  return startPeer(async (conn) => {
    await echoUntilEof(conn);
    await conn.closeWrite();
  });
}

/**
 * A test of a TLS-terminating proxy (certificate `localhost`) that takes a PROXY header from
 * 127.0.0.1 first (`acceptProxy`), in front of {@linkcode echoPeer}.
 */
function testTrustingProxy(
  name: string,
  acceptProxy: "v2" | "any",
  fn: (proxy: TestProxy) => Promise<void>,
  ignore = read.ignore,
) {
  Deno.test({
    name,
    ignore,
    async fn() {
      await using echo = echoPeer();
      await using proxy = startTestProxy({
        target_addr: echo.addr,
        tls_cert: cert,
        tls_key: key,
        ...TRUST_LOOPBACK,
        accept_proxy: acceptProxy,
      });
      await fn(proxy);
    },
  });
}

/** A TLS connection to `addr` that sends the PROXY v2 header of SOURCE -> DESTINATION first. */
function tlsDialWithHeader(addr: string, name = "localhost") {
  return tlsDial(addr, name, { preamble: encodeProxyV2(SOURCE, DESTINATION) });
}

testTrustingProxy(
  "the proxy reads a PROXY v2 header in clear, then terminates TLS: 1 MiB echoes byte-exact",
  "v2",
  async (proxy) => {
    const conn = await tlsDialWithHeader(proxy.addr);
    await assertEchoes(conn, 1024 * 1024);
    assert.deepEqual(proxy.clientRows().map((row) => row.ip), ["192.0.2.9"]);
    conn.close();
  },
);

testTrustingProxy(
  "the proxy with accept_proxy and TLS propagates the client's half-close",
  "any",
  async (proxy) => {
    const conn = await tlsDialWithHeader(proxy.addr);
    const payload = randomBytes(100_000);
    await writeAll(conn, payload);
    await conn.closeWrite();
    // The echo server answers everything, sees our end of input, and closes: we read EOF.
    assert.deepEqual(await readAll(conn), payload);
    conn.close();
  },
);

/** A node:tls client bound to `localAddress`, verified against the test CA, handshake done. */
function tlsFrom(addr: string, localAddress: string): Promise<tls.TLSSocket> {
  const [host, port] = splitAddr(addr);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      socket: net.connect({ host, port, localAddress }),
      servername: "localhost",
      ca: Deno.readTextFileSync(`${TLS_TESTDATA}ca.pem`),
    });
    socket.once("secureConnect", () => resolve(socket));
    socket.once("error", reject);
  });
}

testTrustingProxy(
  "HAProxy send-proxy-v2 in front of the TLS proxy: a TLS client from 127.0.0.5 is 127.0.0.5",
  "v2",
  async (proxy) => {
    await using haproxy = await startFrontHaproxy(proxy.addr, "send-proxy-v2");
    const client = await tlsFrom(haproxy.addr, "127.0.0.5");
    const back = new Promise<string>((resolve) => client.once("data", (d) => resolve(`${d}`)));
    client.write("ping over haproxy");
    assert.equal(await back, "ping over haproxy");
    assert.ok(
      proxy.clientRows().some((row) => row.ip === "127.0.0.5"),
      JSON.stringify(proxy.clientRows()),
    );
    client.destroy();
  },
  haproxyPath() === undefined || requires("run", "write", "read").ignore,
);

testWithCertFiles(
  "the proxy with accept_proxy and TLS: plain fallback clients do TLS at once, bad handshakes are counted, a reload swaps the certificate",
  async ({ target, files, tls }) => {
    await using proxy = startTestProxy({
      target_addr: target,
      ...tls,
      tls_alpn: ["h2"],
      accept_proxy: "v1",
      trusted_proxies: ["10.0.0.0/8"],
      proxy_fallback: "plain",
    });
    // Not a trusted proxy: no header expected, TLS from the first byte.
    const direct = await tlsDial(proxy.addr, "a.test", { alpn: ["h2"] });
    assert.equal((await direct.handshake()).alpnProtocol, "h2");
    await assertEchoes(direct, 3);
    direct.close();

    const garbage = await dial(proxy.addr);
    await writeAll(garbage, new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
    while (await readOutcome(garbage) === "data");
    garbage.close();
    await waitFor(() => proxy.snapshot().tls_handshake_failures === 1, "the failure counted");

    files.useCert("b.test");
    files.useKey("b.test");
    assert.equal(await proxy.reloadTls(), true);
    await assert.rejects(() => tlsDial(proxy.addr, "a.test"), /not valid for name "a.test"/);
    (await tlsDial(proxy.addr, "b.test")).close();
  },
);

testWithCertFiles(
  "a proxy with 2 workers, accept_proxy and TLS: every worker reads the header, then TLS",
  async ({ target, files, tls }) => {
    await using cluster = await startTestCluster({
      target_addr: target,
      ...tls,
      ...TRUST_LOOPBACK,
    });
    files.useCert("b.test");
    files.useKey("b.test");
    assert.equal(await cluster.reloadTls(), true);
    // The kernel spreads connections over both workers: each must take the header first.
    for (let i = 0; i < 8; i++) {
      const conn = await tlsDialWithHeader(cluster.addr, "b.test");
      await assertEchoes(conn, 1, `connection ${i}`);
      conn.close();
    }
    assert.equal((await cluster.snapshot())["tls_reloads"], 2, "both workers reloaded");
  },
);
