import assert from "node:assert/strict";
import {
  assertCertReload,
  assertEchoes,
  dial,
  echoUntilEof,
  opensslClient,
  readOutcome,
  requires,
  startPeer,
  startTlsEcho,
  TLS_TESTDATA,
  tlsDial,
  tlsFiles,
  waitFor,
} from "@monkey/testing";
import { ConfigError } from "@monkey/shared";
import type { ProxyConfig } from "./config.ts";
import { startProxy } from "./proxy.ts";
import { startTestProxy, type TestProxy, testWithCertFiles } from "./_testing.ts";

const read = requires("read");

/** A proxy to `target` that terminates TLS (test certificate `localhost` unless `tls` says). */
function startTlsProxy(target: string, tls: Partial<ProxyConfig> = tlsFiles("localhost")) {
  return startTestProxy({ target_addr: target, ...tls });
}

/** A test of a TLS-terminating proxy (certificate `localhost`) in front of an echo peer. */
function testTlsProxy(name: string, fn: (proxy: TestProxy) => Promise<void>, needs = read) {
  Deno.test({
    name,
    ...needs,
    async fn() {
      await using echo = startPeer((conn) => echoUntilEof(conn));
      await using proxy = startTlsProxy(echo.addr);
      await fn(proxy);
    },
  });
}

testTlsProxy("the proxy terminates TLS and echoes 256 KiB byte-exact", async (proxy) => {
  assert.equal(proxy.engine, "deno (TLS needs it)");
  const conn = await tlsDial(proxy.addr, "localhost");
  await assertEchoes(conn, 256 * 1024);
  conn.close();
});

testTlsProxy("the proxy counts a failed client handshake and keeps serving", async (proxy) => {
  const plain = await dial(proxy.addr);
  await plain.write(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
  // The server answers with a TLS alert, then closes.
  assert.equal(await readOutcome(plain), "data");
  while (await readOutcome(plain) === "data");
  plain.close();
  await waitFor(() => proxy.snapshot().tls_handshake_failures === 1, "the failure counted");
  const conn = await tlsDial(proxy.addr, "localhost");
  await assertEchoes(conn, 1);
  conn.close();
});

testWithCertFiles(
  "the proxy keeps its certificate when a reload finds a bad one, and swaps a good one",
  async ({ target, files, tls }) => {
    await using proxy = startTlsProxy(target, tls);
    await assertCertReload(files, proxy.addr, () => proxy.reloadTls());
    assert.equal(proxy.snapshot().tls_reload_failures, 1);
  },
);

Deno.test({
  name: "the proxy originates TLS, verifying the CA, and refuses a backend a wrong CA signed",
  ...read,
  async fn() {
    await using backend = startTlsEcho("localhost");
    const upstream = { target_addr: backend.addr, upstream_tls: true };
    await using good = startTestProxy({
      ...upstream,
      upstream_ca: `${TLS_TESTDATA}ca.pem`,
      upstream_sni: "localhost",
    });
    const conn = await dial(good.addr);
    await assertEchoes(conn, 8);
    conn.close();
    await good.shutdown(1000);

    await using wrong = startTestProxy({ ...upstream, upstream_ca: `${TLS_TESTDATA}other_ca.pem` });
    const refused = await dial(wrong.addr);
    assert.equal(await refused.read(new Uint8Array(8)).catch(() => null), null);
    refused.close();
    assert.equal(wrong.snapshot().connect_errors, 1);
  },
});

Deno.test({
  name: "the proxy refuses engine = epoll with TLS, and a key that does not match",
  ...read,
  fn() {
    const refused: [Partial<ProxyConfig>, RegExp][] = [
      [{ engine: "epoll", ...tlsFiles("a.test") }, /'engine'.*TLS/],
      [{ ...tlsFiles("a.test"), tls_key: tlsFiles("b.test").tls_key }, /'tls_key'.*does not match/],
    ];
    for (const [config, pattern] of refused) {
      assert.throws(
        () => startProxy({ metrics_addr: "off", ...config }),
        (e) => e instanceof ConfigError && pattern.test(e.message),
      );
    }
  },
});

testTlsProxy("openssl s_client talks to the TLS-terminating proxy", async (proxy) => {
  const line = "hello from openssl";
  const out = await opensslClient(proxy.addr, "localhost", (s) => s.includes(line), `${line}\n`);
  if (out === undefined) return; // no openssl here: the Deno clients above cover termination
  assert.match(out, /hello from openssl/);
}, requires("read", "run"));
