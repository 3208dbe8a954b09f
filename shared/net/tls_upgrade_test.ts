import assert from "node:assert/strict";
import { createSecureContext } from "node:tls";
import {
  dial,
  readAll,
  readExactly,
  requires,
  TLS_TESTDATA,
  tlsDial,
  writeAll,
} from "@monkey/testing";
import { completeHandshake } from "./tls_engine.ts";
import { ServerTlsConn } from "./tls_upgrade.ts";

const read = requires("read");

function context() {
  return createSecureContext({
    cert: Deno.readTextFileSync(`${TLS_TESTDATA}localhost.pem`),
    key: Deno.readTextFileSync(`${TLS_TESTDATA}localhost.key`),
  });
}

/** Accept one connection; read `skip` bytes and at least the first TLS record header. */
async function acceptAfter(listener: Deno.TcpListener, skip: number) {
  const raw = await listener.accept();
  const buf = new Uint8Array(4096);
  let have = 0;
  while (have < skip + 5) have += (await raw.read(buf.subarray(have)))!;
  return { raw, early: buf.slice(skip, have) };
}

Deno.test({
  name:
    "ServerTlsConn handshakes over bytes read in clear first, echoes, and ends with close_notify",
  ...read,
  async fn() {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const addr = `127.0.0.1:${listener.addr.port}`;
    const preamble = new TextEncoder().encode("HEADER");
    const dialing = tlsDial(addr, "localhost", { preamble, alpn: ["h2"] });
    const { raw, early } = await acceptAfter(listener, preamble.length);
    const server = new ServerTlsConn(raw, { secureContext: context(), alpn: ["h2"], early });
    assert.deepEqual(await completeHandshake(server, 5000), { ok: true, alpn: "h2" });
    const client = await dialing;
    await writeAll(client, new Uint8Array([1, 2, 3]));
    await client.closeWrite();
    assert.deepEqual(await readAll(server), new Uint8Array([1, 2, 3]));
    // Half-closed by the client: the empty probe still succeeds, and we can answer.
    assert.equal(await server.write(new Uint8Array(0)), 0);
    await writeAll(server, new Uint8Array([4, 5]));
    server.close();
    // A clean end of input, not "peer closed connection without sending TLS close_notify".
    assert.deepEqual(await readAll(client), new Uint8Array([4, 5]));
    client.close();
    await assert.rejects(() => server.read(new Uint8Array(1)), Deno.errors.BadResource);
  },
});

Deno.test({
  name: "ServerTlsConn's handshake fails at once when the client sends garbage or leaves",
  ...read,
  async fn() {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const addr = `127.0.0.1:${listener.addr.port}`;
    for (const behave of ["garbage", "leave"] as const) {
      const [client, raw] = await Promise.all([dial(addr), listener.accept()]);
      const server = new ServerTlsConn(raw, { secureContext: context() });
      if (behave === "garbage") {
        await writeAll(client, new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
      } else {
        client.close();
      }
      const done = await completeHandshake(server, 5000);
      assert.equal(done.ok, false, behave);
      assert.doesNotMatch((done as { reason: string }).reason, /within/, behave);
      server.close();
      if (behave === "garbage") {
        // The client gets a TLS alert or the end, never an echo.
        await readExactly(client, 1).catch(() => {});
        client.close();
      }
    }
  },
});
