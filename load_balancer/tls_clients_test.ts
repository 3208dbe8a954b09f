import assert from "node:assert/strict";
import {
  assertCertReload,
  certFiles,
  echoUntilEof,
  opensslClient,
  requires,
  runTool,
  startPeer,
  startTlsEcho,
  TLS_TESTDATA,
  tlsFiles,
} from "@monkey/testing";
import { ConfigError } from "@monkey/shared";
import { startTestLb } from "./_testing.ts";

const NO_CHECKS = { interval_ms: 0 };

Deno.test({
  name: "openssl s_client with -servername reaches the pool its SNI routes to",
  ...requires("read", "run"),
  async fn() {
    await using a = startTlsEcho("a.test", "A");
    await using d = startTlsEcho("localhost", "D");
    await using lb = startTestLb({
      health_check: NO_CHECKS,
      backends: [{ addr: d.addr }],
      pools: { alpha: { backends: [{ addr: a.addr }], health_check: NO_CHECKS } },
      routes: [{ sni: "a.test", pool: "alpha" }],
    });
    const out = await opensslClient(lb.addr, "a.test", (text) => text.length > 0);
    if (out === undefined) return; // no openssl here
    assert.match(out, /^A/);
  },
});

Deno.test({
  name: "curl --resolve gets an HTTP page through the TLS-terminating load balancer",
  ...requires("read", "run"),
  async fn() {
    await using server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => new Response("hello over tls\n"),
    );
    await using lb = startTestLb({
      ...tlsFiles("localhost"),
      tls_alpn: ["http/1.1"],
      health_check: NO_CHECKS,
      backends: [{ addr: `127.0.0.1:${server.addr.port}` }],
    });
    const port = lb.addr.split(":")[1];
    const out = await runTool("curl", [
      "-sS",
      "--max-time",
      "10",
      "--resolve",
      `localhost:${port}:127.0.0.1`,
      "--cacert",
      `${TLS_TESTDATA}ca.pem`,
      `https://localhost:${port}/`,
    ], () => false);
    if (out === undefined) return; // no curl here
    assert.equal(out, "hello over tls\n");
  },
});

Deno.test({
  name: "a load balancer reload re-reads the certificate; a bad one is refused and the old stays",
  permissions: { read: true, write: true, net: true },
  ...requires("read", "write"),
  async fn() {
    await using echo = startPeer((conn) => echoUntilEof(conn));
    using files = certFiles("a.test");
    await using lb = startTestLb({
      tls_cert: files.cert,
      tls_key: files.key,
      health_check: NO_CHECKS,
      backends: [{ addr: echo.addr }],
    });
    let changes: string[] = [];
    await assertCertReload(files, lb.addr, async () => {
      try {
        changes = (await lb.reload(lb.config)).changes;
        return true;
      } catch (error) {
        if (error instanceof ConfigError) return false;
        throw error;
      }
    });
    assert.ok(changes.some((c) => /TLS certificate reloaded/.test(c)), changes.join("; "));
  },
});
