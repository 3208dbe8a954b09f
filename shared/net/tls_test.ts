import assert from "node:assert/strict";
import { readExactly, requires, writeAll } from "@monkey/testing";
import { ConfigError } from "../config/errors.ts";
import { DENO_ENGINE } from "./engine.ts";
import { loadTlsCertificate, loadUpstreamTls, resolveTlsEngine } from "./tls.ts";
import { completeHandshake, createTlsEngine } from "./tls_engine.ts";

const dir = new URL("./testdata/", import.meta.url).pathname;
const read = requires("read");

function pem(name: string) {
  return loadTlsCertificate({ tls_cert: `${dir}${name}.pem`, tls_key: `${dir}${name}.key` }, "t")!;
}

/** Connect to 127.0.0.1:port and start TLS with SNI `name`, trusting the test CA. */
async function tlsClient(port: number, name: string, ca = "ca.pem"): Promise<Deno.TlsConn> {
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
  const conn = await Deno.startTls(tcp, {
    hostname: name,
    caCerts: [Deno.readTextFileSync(`${dir}${ca}`)],
  });
  await conn.handshake();
  return conn;
}

/**
 * A TLS engine on 127.0.0.1 port 0 with the certificate `name`: each accepted connection
 * completes its handshake, then echoes. `close()` stops accepting and waits for the echoes.
 */
function tlsEchoServer(name: string) {
  const engine = createTlsEngine({ certificate: pem(name) });
  const listener = engine.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    const tasks: Promise<unknown>[] = [];
    for (;;) {
      let conn;
      try {
        conn = await listener.accept();
      } catch {
        break;
      }
      tasks.push(completeHandshake(conn).then(() => engine.echo(conn)));
    }
    await Promise.all(tasks);
  })();
  const close = async () => {
    listener.close();
    await serving;
  };
  return { engine, port: (listener.addr as Deno.NetAddr).port, close };
}

Deno.test({
  name: "loadTlsCertificate() reads a matching pair and names the file and key otherwise",
  ...read,
  fn() {
    assert.match(pem("a.test").cert, /BEGIN CERTIFICATE/);
    assert.equal(loadTlsCertificate({}, "lb.toml"), undefined);
    assert.throws(
      () => loadTlsCertificate({ tls_cert: `${dir}a.test.pem`, tls_key: `${dir}b.test.key` }, "x"),
      (e) => e instanceof ConfigError && /'tls_key' in x: the key does not match/.test(e.message),
    );
    assert.throws(
      () => loadTlsCertificate({ tls_cert: `${dir}nope.pem`, tls_key: `${dir}a.test.key` }, "x"),
      (e) =>
        e instanceof ConfigError && /Cannot read 'tls_cert' in x: no such file/.test(e.message),
    );
    assert.throws(
      () => loadTlsCertificate({ tls_cert: `${dir}a.test.key`, tls_key: `${dir}a.test.key` }, "x"),
      (e) => e instanceof ConfigError && /'tls_cert' in x: expected a PEM/.test(e.message),
    );
    assert.throws(() => loadTlsCertificate({ tls_cert: `${dir}a.test.pem` }, "x"), /tls_key/);
    assert.throws(
      () => loadUpstreamTls({ upstream_tls: true, upstream_sni: "bad name" }, "x"),
      /'upstream_sni' in x/,
    );
  },
});

Deno.test("resolveTlsEngine() picks deno for TLS and refuses an explicit epoll", () => {
  assert.deepEqual(resolveTlsEngine("auto", true, "x"), {
    engine: DENO_ENGINE,
    reason: "TLS needs it",
  });
  assert.equal(resolveTlsEngine("deno", false, "x").reason, undefined);
  assert.throws(
    () => resolveTlsEngine("epoll", true, "p.toml"),
    (e) => e instanceof ConfigError && /'engine' in p.toml: TLS .* got 'epoll'/.test(e.message),
  );
});

Deno.test({
  name: "a TLS engine listener terminates TLS and swaps its certificate without dropping a conn",
  ...read,
  async fn() {
    const { engine, port, close } = tlsEchoServer("a.test");
    const first = await tlsClient(port, "a.test");
    await writeAll(first, new Uint8Array([1, 2, 3]));
    assert.deepEqual(await readExactly(first, 3), new Uint8Array([1, 2, 3]));
    await engine.reloadCertificate(pem("b.test"));
    // New clients get the new certificate: b.test verifies, a.test no longer does.
    const second = await tlsClient(port, "b.test");
    await assert.rejects(() => tlsClient(port, "a.test"), /not valid for name "a.test"/);
    // The first connection is still alive after the reload.
    await writeAll(first, new Uint8Array([4, 5]));
    assert.deepEqual(await readExactly(first, 2), new Uint8Array([4, 5]));
    first.close();
    second.close();
    await close();
  },
});

Deno.test({
  name: "a TLS engine connect verifies the backend against upstream_ca and refuses a wrong CA",
  ...read,
  async fn() {
    const { port, close } = tlsEchoServer("localhost");
    const good = createTlsEngine({
      upstream: loadUpstreamTls({ upstream_tls: true, upstream_ca: `${dir}ca.pem` }, "t"),
    });
    const conn = await good.connect({ hostname: "127.0.0.1", port });
    await writeAll(conn, new TextEncoder().encode("ping"));
    assert.equal(new TextDecoder().decode(await readExactly(conn, 4)), "ping");
    conn.close();
    const wrong = createTlsEngine({
      upstream: loadUpstreamTls({ upstream_tls: true, upstream_ca: `${dir}other_ca.pem` }, "t"),
    });
    await assert.rejects(() => wrong.connect({ hostname: "127.0.0.1", port }), /certificate/);
    const insecure = createTlsEngine({
      upstream: { caCerts: [], sni: "whatever.test", insecure: true },
    });
    const lab = await insecure.connect({ hostname: "127.0.0.1", port });
    await writeAll(lab, new TextEncoder().encode("lab"));
    assert.equal(new TextDecoder().decode(await readExactly(lab, 3)), "lab");
    lab.close();
    await close();
  },
});
