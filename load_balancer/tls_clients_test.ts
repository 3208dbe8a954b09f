import assert from "node:assert/strict";
import {
  echoUntilEof,
  requires,
  startPeer,
  startTlsEcho,
  testCertPaths,
  TLS_TESTDATA,
  tlsDial,
} from "@monkey/testing";
import { ConfigError, Logger } from "@monkey/shared";
import { startLoadBalancer } from "./mod.ts";

const quiet = () => new Logger({ name: "lb", level: "error" });
const NO_CHECKS = { interval_ms: 0 };

/**
 * Run a command, feeding `input` (stdin left open: s_client -quiet ignores end of input), and
 * read its output until `done` says so or it exits; undefined when it is not installed.
 */
async function run(
  cmd: string,
  args: string[],
  done: (out: string) => boolean,
  input = "",
): Promise<string | undefined> {
  let child;
  try {
    child = new Deno.Command(cmd, { args, stdin: "piped", stdout: "piped", stderr: "null" })
      .spawn();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  const reader = child.stdout.getReader();
  let out = "";
  while (!done(out)) {
    const { value, done: ended } = await reader.read();
    if (ended) break;
    out += new TextDecoder().decode(value);
  }
  await writer.close().catch(() => {});
  reader.releaseLock();
  try {
    child.kill();
  } catch {
    // Exited already.
  }
  await child.stdout.cancel();
  await child.status;
  return out;
}

Deno.test({
  name: "openssl s_client with -servername reaches the pool its SNI routes to",
  ...requires("read", "run"),
  async fn() {
    await using a = startTlsEcho("a.test", "A");
    await using d = startTlsEcho("localhost", "D");
    const lb = startLoadBalancer({
      listen_addr: "127.0.0.1:0",
      metrics_addr: "off",
      health_check: NO_CHECKS,
      backends: [{ addr: d.addr }],
      pools: { alpha: { backends: [{ addr: a.addr }], health_check: NO_CHECKS } },
      routes: [{ sni: "a.test", pool: "alpha" }],
    }, { logger: quiet() });
    try {
      const out = await run("openssl", [
        "s_client",
        "-quiet",
        "-connect",
        lb.addr,
        "-servername",
        "a.test",
        "-verify_return_error",
        "-CAfile",
        `${TLS_TESTDATA}ca.pem`,
      ], (text) => text.length > 0);
      if (out === undefined) return; // no openssl here
      assert.match(out, /^A/);
    } finally {
      await lb.shutdown(0);
    }
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
    const { cert, key } = testCertPaths("localhost");
    const lb = startLoadBalancer({
      listen_addr: "127.0.0.1:0",
      metrics_addr: "off",
      tls_cert: cert,
      tls_key: key,
      tls_alpn: ["http/1.1"],
      health_check: NO_CHECKS,
      backends: [{ addr: `127.0.0.1:${server.addr.port}` }],
    }, { logger: quiet() });
    try {
      const port = lb.addr.split(":")[1];
      const out = await run("curl", [
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
    } finally {
      await lb.shutdown(0);
    }
  },
});

Deno.test({
  name: "a load balancer reload re-reads the certificate; a bad one is refused and the old stays",
  permissions: { read: true, write: true, net: true },
  ...requires("read", "write"),
  async fn() {
    await using echo = startPeer((conn) => echoUntilEof(conn));
    const dir = Deno.makeTempDirSync();
    const cert = `${dir}/cert.pem`;
    const key = `${dir}/key.pem`;
    Deno.copyFileSync(testCertPaths("a.test").cert, cert);
    Deno.copyFileSync(testCertPaths("a.test").key, key);
    const lb = startLoadBalancer({
      listen_addr: "127.0.0.1:0",
      metrics_addr: "off",
      tls_cert: cert,
      tls_key: key,
      health_check: NO_CHECKS,
      backends: [{ addr: echo.addr }],
    }, { logger: quiet() });
    try {
      const live = await tlsDial(lb.addr, "a.test");
      Deno.copyFileSync(testCertPaths("b.test").cert, cert); // the key no longer matches
      await assert.rejects(() => lb.reload(lb.config), ConfigError);
      (await tlsDial(lb.addr, "a.test")).close();
      Deno.copyFileSync(testCertPaths("b.test").key, key);
      const { changes } = await lb.reload(lb.config);
      assert.ok(changes.some((c) => /TLS certificate reloaded/.test(c)), changes.join("; "));
      (await tlsDial(lb.addr, "b.test")).close();
      await assert.rejects(() => tlsDial(lb.addr, "a.test"), /not valid for name "a.test"/);
      await live.write(new Uint8Array([7]));
      const buf = new Uint8Array(1);
      assert.equal(await live.read(buf), 1);
      assert.equal(buf[0], 7);
      live.close();
    } finally {
      await lb.shutdown(0);
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
