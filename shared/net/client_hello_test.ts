import assert from "node:assert/strict";
import { seededRandom } from "@monkey/testing";
import { parseClientHello, readClientHello } from "./client_hello.ts";
import type { NetConn } from "./engine.ts";

const text = new TextEncoder();

function u16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff];
}

function u24(n: number): number[] {
  return [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
}

/** A ClientHello handshake message (no record header) with the given SNI and ALPN. */
function helloMessage(sni?: string, alpn: string[] = []): number[] {
  const extensions: number[] = [];
  if (sni !== undefined) {
    const name = [...text.encode(sni)];
    const entry = [0, ...u16(name.length), ...name];
    const list = [...u16(entry.length), ...entry];
    extensions.push(...u16(0), ...u16(list.length), ...list);
  }
  if (alpn.length > 0) {
    const entries = alpn.flatMap((p) => [p.length, ...text.encode(p)]);
    const list = [...u16(entries.length), ...entries];
    extensions.push(...u16(16), ...u16(list.length), ...list);
  }
  extensions.push(...u16(0x002b), ...u16(3), 2, 3, 4); // supported_versions, ignored
  const body = [
    3,
    3,
    ...new Array(32).fill(7), // random
    0, // session id
    ...u16(4),
    0x13,
    0x01,
    0x13,
    0x02, // cipher suites
    1,
    0, // compression
    ...u16(extensions.length),
    ...extensions,
  ];
  return [1, ...u24(body.length), ...body];
}

/** Wrap handshake bytes in records of at most `size` bytes each. */
function records(message: number[], size = 16_384): Uint8Array {
  const out: number[] = [];
  for (let at = 0; at < message.length; at += size) {
    const part = message.slice(at, at + size);
    out.push(0x16, 3, 1, ...u16(part.length), ...part);
  }
  return new Uint8Array(out);
}

Deno.test("parseClientHello() reads SNI and ALPN from a ClientHello", () => {
  const bytes = records(helloMessage("A.Test", ["h2", "http/1.1"]));
  const result = parseClientHello(bytes);
  assert.deepEqual(result, {
    kind: "hello",
    sni: "a.test",
    alpn: ["h2", "http/1.1"],
    length: bytes.length,
  });
});

Deno.test("parseClientHello() reports no SNI and no ALPN when the client sent none", () => {
  const result = parseClientHello(records(helloMessage()));
  assert.equal(result.kind, "hello");
  assert.equal(result.kind === "hello" && result.sni, undefined);
  assert.deepEqual(result.kind === "hello" && result.alpn, []);
});

Deno.test("parseClientHello() says not_tls for plain text and incomplete for nothing", () => {
  assert.deepEqual(parseClientHello(text.encode("GET / HTTP/1.1\r\n")), { kind: "not_tls" });
  assert.deepEqual(parseClientHello(new Uint8Array()), { kind: "incomplete" });
});

Deno.test("parseClientHello() says incomplete for every strict prefix of a ClientHello", () => {
  const bytes = records(helloMessage("b.test", ["h2"]));
  for (let n = 1; n < bytes.length; n++) {
    assert.deepEqual(parseClientHello(bytes.subarray(0, n)), { kind: "incomplete" }, `n=${n}`);
  }
});

Deno.test("parseClientHello() reassembles a ClientHello split over many records", () => {
  const message = helloMessage("split.example.com", ["x", "y"]);
  for (const size of [1, 2, 3, 5, 17, 64]) {
    const result = parseClientHello(records(message, size));
    assert.equal(result.kind, "hello", `size=${size}`);
    if (result.kind === "hello") {
      assert.equal(result.sni, "split.example.com");
      assert.deepEqual(result.alpn, ["x", "y"]);
    }
  }
});

Deno.test("parseClientHello() rejects corrupt headers and bad names as malformed", () => {
  const good = records(helloMessage("a.test"));
  const wrongType = good.slice();
  wrongType[5] = 2; // ServerHello
  assert.equal(parseClientHello(wrongType).kind, "malformed");
  const wrongVersion = good.slice();
  wrongVersion[1] = 9;
  assert.equal(parseClientHello(wrongVersion).kind, "malformed");
  assert.equal(parseClientHello(records(helloMessage("bad name!"))).kind, "malformed");
  const zeroRecord = new Uint8Array([0x16, 3, 1, 0, 0]);
  assert.equal(parseClientHello(zeroRecord).kind, "malformed");
});

Deno.test("parseClientHello() never throws on corrupt bytes (seeded fuzz)", () => {
  const rand = seededRandom(13);
  const base = records(helloMessage("fuzz.test", ["h2", "http/1.1"]), 40);
  const kinds = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const bytes = base.slice(0, 1 + Math.floor(rand() * base.length));
    const flips = 1 + Math.floor(rand() * 4);
    for (let f = 0; f < flips; f++) {
      bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
    }
    const result = parseClientHello(bytes);
    kinds.add(result.kind);
    if (result.kind === "hello") assert.ok(result.length <= bytes.length);
  }
  assert.ok(kinds.has("malformed") && kinds.has("incomplete"), [...kinds].join(","));
});

Deno.test("parseClientHello() reads the ClientHello Deno's own TLS client sends", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const client = Deno.startTls(tcp, { hostname: "real.test", alpnProtocols: ["h2", "http/1.1"] })
    .catch(() => undefined);
  const server = await listener.accept();
  const { result } = await readClientHello(server, { timeoutMs: 5000 });
  server.close();
  (await client)?.close();
  assert.equal(result.kind, "hello");
  if (result.kind === "hello") {
    assert.equal(result.sni, "real.test");
    assert.deepEqual(result.alpn, ["h2", "http/1.1"]);
  }
});

/** A conn whose reads hand out `chunks` one by one, then hang or end. */
function fakeConn(chunks: Uint8Array[], end: "eof" | "hang"): NetConn {
  return {
    remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1 },
    localAddr: { transport: "tcp", hostname: "127.0.0.1", port: 2 },
    read(p) {
      const chunk = chunks.shift();
      if (chunk === undefined) return end === "eof" ? Promise.resolve(null) : new Promise(() => {});
      const n = Math.min(p.length, chunk.length);
      p.set(chunk.subarray(0, n));
      if (n < chunk.length) chunks.unshift(chunk.subarray(n));
      return Promise.resolve(n);
    },
    write: (p) => Promise.resolve(p.length),
    closeWrite: () => Promise.resolve(),
    close() {},
  };
}

Deno.test("readClientHello() buffers split reads and returns every byte read", async () => {
  const bytes = records(helloMessage("a.test"));
  const chunks = [bytes.subarray(0, 3), bytes.subarray(3, 50), bytes.subarray(50)];
  const { result, buffered } = await readClientHello(fakeConn(chunks, "hang"));
  assert.equal(result.kind, "hello");
  assert.deepEqual(buffered, bytes);
});

Deno.test("readClientHello() stops at the byte cap, the timeout and end of input", async () => {
  const big = records(helloMessage("a.test", ["p".repeat(200)]));
  const capped = await readClientHello(fakeConn([big], "hang"), { maxBytes: 64 });
  assert.equal(capped.result.kind, "malformed");
  const slow = await readClientHello(fakeConn([big.subarray(0, 10)], "hang"), { timeoutMs: 20 });
  assert.deepEqual(slow.result, { kind: "timeout" });
  assert.equal(slow.buffered.length, 10);
  const gone = await readClientHello(fakeConn([], "eof"));
  assert.deepEqual(gone.result, { kind: "eof" });
});
