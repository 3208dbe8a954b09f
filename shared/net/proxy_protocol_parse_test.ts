import assert from "node:assert/strict";
import { concatBytes, seededRandom } from "@monkey/testing";
import {
  encodeProxyLocal,
  encodeProxyV1,
  encodeProxyV2,
  PROXY_V2_SIGNATURE,
} from "./proxy_protocol.ts";
import {
  MAX_PROXY_V1_LENGTH,
  MAX_PROXY_V2_PAYLOAD,
  parseProxyHeader,
  type ProxyParseResult,
} from "./proxy_protocol_parse.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const header = (r: ProxyParseResult) => {
  assert.equal(r.kind, "header", JSON.stringify(r));
  return r as Extract<ProxyParseResult, { kind: "header" }>;
};
const error = (r: ProxyParseResult) => {
  assert.equal(r.kind, "error", JSON.stringify(r));
  return (r as { reason: string }).reason;
};

/** A v2 header with the given command/family bytes and payload. */
function v2(verCmd: number, famProto: number, payload: Uint8Array, length = payload.length) {
  const out = new Uint8Array(16 + payload.length);
  out.set(PROXY_V2_SIGNATURE);
  out[12] = verCmd;
  out[13] = famProto;
  out[14] = length >> 8;
  out[15] = length & 0xff;
  out.set(payload, 16);
  return out;
}

const SRC = { hostname: "192.0.2.1", port: 5000 };
const DST = { hostname: "192.0.2.2", port: 80 };
const SRC6 = { hostname: "2001:db8::1", port: 1 };
const DST6 = { hostname: "::1", port: 65535 };

Deno.test("parseProxyHeader reads back what the encoders write, v1 and v2, IPv4 and IPv6", () => {
  for (const encode of [encodeProxyV1, encodeProxyV2]) {
    for (const [src, dst, family] of [[SRC, DST, "tcp4"], [SRC6, DST6, "tcp6"]] as const) {
      const bytes = encode(src, dst);
      const r = header(parseProxyHeader(concatBytes(bytes, enc("hello"))));
      assert.equal(r.consumed, bytes.length);
      assert.equal(r.header.command, "proxy");
      assert.equal(r.header.family, family);
      assert.deepEqual(r.header.source, src);
      assert.deepEqual(r.header.destination, dst);
    }
  }
});

Deno.test("parseProxyHeader needs more at every split point, then gives the same header", () => {
  const samples = [
    encodeProxyV1(SRC, DST),
    encodeProxyV1(SRC6, DST6),
    encodeProxyV2(SRC, DST),
    encodeProxyV2(SRC6, DST6),
    encodeProxyLocal("v1"),
    encodeProxyLocal("v2"),
  ];
  for (const bytes of samples) {
    for (let cut = 0; cut < bytes.length; cut++) {
      assert.equal(parseProxyHeader(bytes.subarray(0, cut)).kind, "need-more", `cut ${cut}`);
    }
    const whole = header(parseProxyHeader(concatBytes(bytes, enc("x"))));
    assert.equal(whole.consumed, bytes.length);
  }
});

Deno.test("parseProxyHeader honours the accepted version", () => {
  assert.match(error(parseProxyHeader(encodeProxyV2(SRC, DST), "v1")), /expected a v1 header/);
  assert.match(error(parseProxyHeader(encodeProxyV1(SRC, DST), "v2")), /v2 signature/);
  assert.equal(parseProxyHeader(encodeProxyV1(SRC, DST), "v1").kind, "header");
  assert.equal(parseProxyHeader(encodeProxyV2(SRC, DST), "v2").kind, "header");
});

Deno.test("parseProxyHeader refuses a plain client's first bytes at once", () => {
  assert.match(error(parseProxyHeader(enc("GET / HTTP/1.1\r\n"))), /expected a v1 or v2 header/);
  assert.match(error(parseProxyHeader(enc("PROXX"))), /got bytes 50 52 4f 58 58/);
  assert.equal(parseProxyHeader(enc("PROX")).kind, "need-more");
  assert.equal(parseProxyHeader(new Uint8Array(0)).kind, "need-more");
});

Deno.test("parseProxyHeader v1: UNKNOWN, and hostile lines", () => {
  const unknown = header(parseProxyHeader(enc("PROXY UNKNOWN ffff::1 ::1 1 2\r\nrest")));
  assert.equal(unknown.header.family, "unknown");
  assert.equal(unknown.header.source, undefined);
  assert.equal(unknown.consumed, 31);
  const bad: [string, RegExp][] = [
    ["PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", /LF without CR/],
    ["PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", /6 fields/],
    ["PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", /6 fields/],
    ["PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", /TCP4, TCP6 or UNKNOWN/],
    ["PROXY TCP4 ::1 5.6.7.8 1 2\r\n", /bad address '::1'/],
    ["PROXY TCP6 1.2.3.4 ::1 1 2\r\n", /bad address '1.2.3.4'/],
    ["PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n", /bad address/],
    ["PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", /bad address/],
    ["PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", /bad port/],
    ["PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", /bad port/],
    ["PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", /bad port/],
    ["PROXY TCP4 1.2.3.4 5.6.7.8 1 2\x00\r\n", /non-ASCII byte 0x00/],
    ["PROXY TCP4 1.2.3.4 5.6.7.8 1 2\xff\r\n", /non-ASCII/],
  ];
  for (const [line, reason] of bad) {
    assert.match(error(parseProxyHeader(enc(line))), reason, JSON.stringify(line));
  }
});

Deno.test("parseProxyHeader v1: no CRLF within 107 bytes is an error, not an endless wait", () => {
  const long = enc(`PROXY UNKNOWN ${"a".repeat(200)}`);
  assert.equal(parseProxyHeader(long.subarray(0, MAX_PROXY_V1_LENGTH - 1)).kind, "need-more");
  assert.match(error(parseProxyHeader(long)), /longer than 107 bytes/);
  // Exactly 107 bytes with the CRLF is fine.
  const edge = enc(`PROXY UNKNOWN ${"a".repeat(MAX_PROXY_V1_LENGTH - 16)}\r\n`);
  assert.equal(edge.length, MAX_PROXY_V1_LENGTH);
  assert.equal(header(parseProxyHeader(edge)).consumed, MAX_PROXY_V1_LENGTH);
});

Deno.test("parseProxyHeader v2: LOCAL and UNSPEC carry no address; UDP and UNIX neither", () => {
  const local = header(parseProxyHeader(encodeProxyLocal("v2")));
  assert.equal(local.header.command, "local");
  assert.equal(local.header.family, "unknown");
  // LOCAL with IPv4 addresses present: still LOCAL, the addresses are ignored.
  const localWithAddrs = header(parseProxyHeader(v2(0x20, 0x11, new Uint8Array(12))));
  assert.equal(localWithAddrs.header.command, "local");
  assert.equal(localWithAddrs.header.source, undefined);
  const unspec = header(parseProxyHeader(v2(0x21, 0x00, new Uint8Array(0))));
  assert.equal(unspec.header.command, "proxy");
  assert.equal(unspec.header.family, "unknown");
  const udp = header(parseProxyHeader(v2(0x21, 0x12, new Uint8Array(12))));
  assert.equal(udp.header.family, "unknown");
  const unix = header(parseProxyHeader(v2(0x21, 0x31, new Uint8Array(216))));
  assert.equal(unix.header.family, "unknown");
  assert.equal(unix.consumed, 16 + 216);
});

Deno.test("parseProxyHeader v2: TLVs are returned, and must fit exactly", () => {
  const addrs = encodeProxyV2(SRC, DST).subarray(16);
  const tlvs = concatBytes(enc("\x01\x00\x02h2"), enc("\x04\x00\x00"));
  const r = header(parseProxyHeader(v2(0x21, 0x11, concatBytes(addrs, tlvs))));
  assert.deepEqual(r.header.source, SRC);
  assert.deepEqual(r.header.tlvs.map((t) => [t.type, new TextDecoder().decode(t.value)]), [
    [1, "h2"],
    [4, ""],
  ]);
  assert.match(
    error(parseProxyHeader(v2(0x21, 0x11, concatBytes(addrs, enc("\x01\x00\x09h2"))))),
    /claims 9 bytes, 2 left/,
  );
  assert.match(
    error(parseProxyHeader(v2(0x21, 0x11, concatBytes(addrs, enc("\x01\x00"))))),
    /truncated/,
  );
});

Deno.test("parseProxyHeader v2: hostile fixed parts are refused", () => {
  assert.match(error(parseProxyHeader(v2(0x11, 0x11, new Uint8Array(12)))), /version must be 2/);
  // A wrong version is refused as soon as byte 12 arrives, before the length.
  assert.match(
    error(parseProxyHeader(v2(0x31, 0x11, new Uint8Array(12)).subarray(0, 13))),
    /version must be 2/,
  );
  assert.match(error(parseProxyHeader(v2(0x22, 0x11, new Uint8Array(12)))), /LOCAL or PROXY/);
  assert.match(error(parseProxyHeader(v2(0x21, 0x41, new Uint8Array(12)))), /family\/protocol/);
  assert.match(error(parseProxyHeader(v2(0x21, 0x13, new Uint8Array(12)))), /family\/protocol/);
  assert.match(
    error(parseProxyHeader(v2(0x21, 0x11, new Uint8Array(8)))),
    /too short for the IPv4/,
  );
  assert.match(
    error(parseProxyHeader(v2(0x21, 0x21, new Uint8Array(12)))),
    /too short for the IPv6/,
  );
});

Deno.test("parseProxyHeader v2: an oversize length is refused before its bytes arrive", () => {
  const big = v2(0x21, 0x11, new Uint8Array(0), MAX_PROXY_V2_PAYLOAD + 1);
  assert.match(error(parseProxyHeader(big)), /longer than 4096 bytes/);
  const max = v2(0x21, 0x11, new Uint8Array(0), 0xffff);
  assert.match(error(parseProxyHeader(max)), /got 65535/);
  // The largest accepted is waited for, then parsed.
  const edge = concatBytes(
    encodeProxyV2(SRC, DST).subarray(16),
    new Uint8Array([0xee, (MAX_PROXY_V2_PAYLOAD - 15) >> 8, (MAX_PROXY_V2_PAYLOAD - 15) & 0xff]),
    new Uint8Array(MAX_PROXY_V2_PAYLOAD - 15),
  );
  const whole = v2(0x21, 0x11, edge);
  assert.equal(parseProxyHeader(whole.subarray(0, 100)).kind, "need-more");
  assert.equal(header(parseProxyHeader(whole)).consumed, 16 + MAX_PROXY_V2_PAYLOAD);
});

Deno.test("parseProxyHeader never throws on random and mutated input, and is prefix-stable", () => {
  const random = seededRandom(14);
  const seeds = [
    encodeProxyV1(SRC, DST),
    encodeProxyV1(SRC6, DST6),
    encodeProxyV2(SRC, DST),
    encodeProxyV2(SRC6, DST6),
    encodeProxyLocal("v2"),
  ];
  for (let i = 0; i < 5000; i++) {
    const seed = seeds[i % seeds.length]!;
    const bytes = concatBytes(seed, enc("data"));
    // Flip a few bytes (or none), and truncate somewhere.
    const flips = Math.floor(random() * 3);
    for (let f = 0; f < flips; f++) {
      bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
    }
    const full = parseProxyHeader(bytes);
    if (full.kind === "header") {
      assert.ok(full.consumed > 0 && full.consumed <= bytes.length);
    }
    // Any shorter prefix either needs more, or reaches the same verdict.
    const cut = Math.floor(random() * bytes.length);
    const part = parseProxyHeader(bytes.subarray(0, cut));
    if (part.kind === "header") {
      assert.equal(full.kind, "header");
      assert.equal(part.consumed, (full as { consumed: number }).consumed);
    }
    if (part.kind === "error") assert.equal(full.kind, "error");
  }
});
