import assert from "node:assert/strict";
import { encodeProxyV2, Logger } from "@monkey/shared";
import {
  echoUntilEof,
  randomBytes,
  readAll,
  readExactly,
  readLine,
  requires,
  startPeer,
  testCertPaths,
  tlsDial,
  writeAll,
} from "@monkey/testing";
import { startLoadBalancer } from "./mod.ts";

const quiet = () => new Logger({ name: "lb", level: "error" });
const { cert, key } = testCertPaths("localhost");

Deno.test({
  name:
    "LB reads a PROXY v2 header in clear, then terminates TLS: the header's client goes to the backend, 1 MiB echoes, half-close",
  ...requires("read"),
  async fn() {
    // The backend reads our PROXY v1 line, echoes, and ends its side after ours.
    const headers: string[] = [];
    await using backend = startPeer(async (conn) => {
      headers.push((await readLine(conn))?.trimEnd() ?? "");
      await echoUntilEof(conn);
      await conn.closeWrite();
    });
    const lb = startLoadBalancer({
      listen_addr: "127.0.0.1:0",
      metrics_addr: "off",
      tls_cert: cert,
      tls_key: key,
      accept_proxy: "v2",
      trusted_proxies: ["127.0.0.1/32"],
      proxy_protocol: "v1",
      health_check: { interval_ms: 0 },
      backends: [{ addr: backend.addr }],
    }, { logger: quiet() });
    try {
      const preamble = encodeProxyV2({ hostname: "192.0.2.9", port: 4242 }, {
        hostname: "198.51.100.1",
        port: 443,
      });
      const conn = await tlsDial(lb.addr, "localhost", { preamble });
      const payload = randomBytes(1024 * 1024);
      const [, back] = await Promise.all([
        writeAll(conn, payload),
        readExactly(conn, payload.length),
      ]);
      assert.deepEqual(back, payload);
      assert.deepEqual(headers, ["PROXY TCP4 192.0.2.9 198.51.100.1 4242 443"]);
      await writeAll(conn, new Uint8Array([7, 8, 9]));
      await conn.closeWrite();
      assert.deepEqual(await readAll(conn), new Uint8Array([7, 8, 9]));
      conn.close();
    } finally {
      await lb.shutdown(1000);
    }
  },
});
