import assert from "node:assert/strict";
import net from "node:net";
import { startEcho } from "@monkey/echo";
import { encodeProxyV2, Logger, memorySink } from "@monkey/shared";
import {
  dial,
  haproxyPath,
  readExactly,
  readLine,
  readOutcome,
  requires,
  startFrontHaproxy,
  startPeer,
  writeAll,
} from "@monkey/testing";
import type { ProxyConfig } from "./config.ts";
import { startProxy } from "./proxy.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function proxyTo(target: string, config: Partial<ProxyConfig>) {
  const { sink, lines } = memorySink();
  const proxy = startProxy({
    listen_addr: "127.0.0.1:0",
    target_addr: target,
    metrics_addr: "off",
    ...config,
  }, { logger: new Logger({ name: "proxy", sink, level: "info" }) });
  return { proxy, lines };
}

/** An upstream that reads our PROXY v1 line, then echoes; the lines it saw are kept. */
function headerEcho() {
  const headers: string[] = [];
  const peer = startPeer(async (conn) => {
    headers.push((await readLine(conn))?.trimEnd() ?? "");
    const buf = new Uint8Array(4096);
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      await writeAll(conn, buf.subarray(0, n));
    }
    conn.close();
  });
  return { peer, headers };
}

/** Connect from a given loopback source address (Deno.connect cannot bind one). */
function dialFrom(addr: string, localAddress: string): Promise<net.Socket> {
  const [host, port] = [addr.slice(0, addr.lastIndexOf(":")), Number(addr.split(":").pop())];
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, localAddress });
    socket.once("connect", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Resolves with the first data of a node socket, or "closed". */
function firstData(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    socket.once("data", (d) => resolve(d.toString()));
    socket.once("close", () => resolve("closed"));
    socket.once("error", () => resolve("closed"));
  });
}

Deno.test("proxy takes the client from a trusted PROXY v2 header everywhere, and forwards early bytes", async () => {
  const { peer, headers } = headerEcho();
  const { proxy } = proxyTo(peer.addr, {
    accept_proxy: "v2",
    trusted_proxies: ["127.0.0.1/32"],
    proxy_protocol: "v1",
    deny: ["192.0.2.66"],
  });
  const conn = await dial(proxy.addr);
  // Header and the first client bytes in one segment: the bytes past the header go upstream.
  const header = encodeProxyV2({ hostname: "192.0.2.9", port: 4242 }, {
    hostname: "198.51.100.1",
    port: 80,
  });
  await writeAll(conn, new Uint8Array([...header, ...enc("hello")]));
  assert.equal(dec(await readExactly(conn, 5)), "hello");
  assert.equal(headers[0], "PROXY TCP4 192.0.2.9 198.51.100.1 4242 80");
  assert.deepEqual(proxy.clientRows().map((r) => r.ip), ["192.0.2.9"]);
  conn.close();

  // A denied real client behind the trusted proxy is refused after its header.
  const denied = await dial(proxy.addr);
  await writeAll(
    denied,
    encodeProxyV2({ hostname: "192.0.2.66", port: 1 }, { hostname: "198.51.100.1", port: 80 }),
  );
  assert.notEqual(await readOutcome(denied), "data");
  denied.close();

  // A plain client from the trusted address carries no header: closed and counted.
  const plain = await dial(proxy.addr);
  await writeAll(plain, enc("GET / HTTP/1.0\r\n\r\n"));
  assert.notEqual(await readOutcome(plain), "data");
  plain.close();
  const snap = proxy.snapshot();
  assert.equal(snap.proxy_header_errors, 1);
  assert.equal(snap.denied_connections, 1);
  await proxy.shutdown(0);
  await peer.close();
});

Deno.test("proxy: a trusted peer that sends no header in time is closed; untrusted peers reject or plain", async () => {
  const echo = startEcho({ listen_addr: "127.0.0.1:0", metrics_addr: "off" });
  const slow = proxyTo(echo.addr, {
    accept_proxy: "any",
    trusted_proxies: ["127.0.0.0/8"],
    handshake_timeout_ms: 50,
  });
  const silent = await dial(slow.proxy.addr);
  assert.notEqual(await readOutcome(silent), "data");
  silent.close();
  assert.equal(slow.proxy.snapshot().proxy_header_errors, 1);
  assert.ok(slow.lines.some((l) => /no complete header within 50 ms/.test(l)));
  await slow.proxy.shutdown(0);

  for (const fallback of ["reject", "plain"] as const) {
    const { proxy } = proxyTo(echo.addr, {
      accept_proxy: "v1",
      trusted_proxies: ["10.0.0.0/8"],
      proxy_fallback: fallback,
    });
    const conn = await dial(proxy.addr);
    await writeAll(conn, enc("ping"));
    if (fallback === "plain") {
      assert.equal(dec(await readExactly(conn, 4)), "ping");
      assert.equal(proxy.snapshot().proxy_rejected_connections, 0);
    } else {
      assert.notEqual(await readOutcome(conn), "data");
      assert.equal(proxy.snapshot().proxy_rejected_connections, 1);
    }
    conn.close();
    await proxy.shutdown(0);
  }
  await echo.shutdown(0);
});

Deno.test("proxy: 500 connection attempts in one second from one address get rate + burst, another address is unaffected", async () => {
  const echo = startEcho({ listen_addr: "127.0.0.1:0", metrics_addr: "off" });
  const burst = 10;
  const { proxy } = proxyTo(echo.addr, {
    max_conn_rate_per_client: 50,
    max_conn_burst_per_client: burst,
  });
  const attempt = async () => {
    const conn = await dial(proxy.addr);
    await writeAll(conn, enc("x")).catch(() => {});
    const outcome = await readOutcome(conn).catch(() => "reset" as const);
    conn.close();
    return outcome === "data";
  };
  const started = performance.now();
  let served = 0;
  for (let batch = 0; batch < 10; batch++) {
    const results = await Promise.all(Array.from({ length: 50 }, attempt));
    served += results.filter(Boolean).length;
    const next = started + (batch + 1) * 100;
    await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
  }
  const elapsedSecs = (performance.now() - started) / 1000;
  assert.ok(served >= burst, `served ${served}`);
  assert.ok(served <= burst + Math.ceil(50 * elapsedSecs), `served ${served} in ${elapsedSecs} s`);
  assert.equal(proxy.snapshot().rate_limited_connections, 500 - served);
  // A second address is not limited by the first one's bucket.
  for (let i = 0; i < 5; i++) {
    const other = await dialFrom(proxy.addr, "127.0.0.2");
    other.write("y");
    assert.equal(await firstData(other), "y");
    other.destroy();
  }
  assert.equal(proxy.snapshot().rate_limited_connections, 500 - served);
  await proxy.shutdown(0);
  await echo.shutdown(0);
});

Deno.test(
  "HAProxy send-proxy-v2 in front: a client from 127.0.0.5 is 127.0.0.5 in /clients and upstream",
  { ignore: haproxyPath() === undefined || requires("run", "write", "read").ignore },
  async () => {
    const { peer, headers } = headerEcho();
    // Our proxy sends v1 upstream, which the peer reads back as a line.
    const again = proxyTo(peer.addr, {
      accept_proxy: "v2",
      trusted_proxies: ["127.0.0.1"],
      proxy_protocol: "v1",
      metrics_addr: "127.0.0.1:0",
    });
    const haproxy = await startFrontHaproxy(again.proxy.addr, "send-proxy-v2");
    const hport = Number(haproxy.addr.split(":")[1]);
    const client = await dialFrom(haproxy.addr, "127.0.0.5");
    client.write("ping");
    assert.equal(await firstData(client), "ping");
    const sport = client.localPort;
    // The readiness probes above went through too: find this client's line.
    const line = `PROXY TCP4 127.0.0.5 127.0.0.1 ${sport} ${hport}`;
    assert.ok(headers.includes(line), `${line} not in ${JSON.stringify(headers)}`);
    const res = await fetch(`http://${again.proxy.metricsAddr}/clients`);
    const rows = await res.json() as { ip: string }[];
    assert.ok(rows.some((r) => r.ip === "127.0.0.5"), JSON.stringify(rows));
    client.destroy();
    // A plain client straight from the trusted address (no header): closed.
    const plain = await dial(again.proxy.addr);
    await writeAll(plain, enc("ping"));
    assert.notEqual(await readOutcome(plain), "data");
    plain.close();
    assert.equal(again.proxy.snapshot().proxy_header_errors, 1);
    await haproxy.close();
    await again.proxy.shutdown(0);
    await peer.close();
  },
);
