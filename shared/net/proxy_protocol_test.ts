import assert from "node:assert/strict";
import {
  encodeProxyHeader,
  encodeProxyLocal,
  encodeProxyV1,
  encodeProxyV2,
  PROXY_V2_SIGNATURE,
} from "./proxy_protocol.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
/** Turn "0d 0a ..." (whitespace ignored) into bytes. */
const fromHex = (spec: string) =>
  new Uint8Array(spec.trim().split(/\s+/).map((b) => parseInt(b, 16)));

const SIG = "0d 0a 0d 0a 00 0d 0a 51 55 49 54 0a";

Deno.test("PROXY v1 writes the TCP4 line exactly as the spec's example", () => {
  const header = encodeProxyV1(
    { hostname: "255.255.255.255", port: 65535 },
    { hostname: "255.255.255.255", port: 65535 },
  );
  assert.equal(text(header), "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n");
  // The spec's worst case is 107 bytes including CRLF; TCP4 at most 56.
  assert.equal(header.length, 56);
  assert.equal(
    text(encodeProxyV1({ hostname: "192.168.0.1", port: 56324 }, {
      hostname: "192.168.0.11",
      port: 443,
    })),
    "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
  );
});

Deno.test("PROXY v1 writes TCP6 with canonical addresses, and maps a mixed pair to IPv6", () => {
  assert.equal(
    text(encodeProxyV1({ hostname: "::1", port: 40000 }, { hostname: "::1", port: 4000 })),
    "PROXY TCP6 ::1 ::1 40000 4000\r\n",
  );
  assert.equal(
    text(encodeProxyV1({ hostname: "2001:DB8:0:0:0:0:0:1", port: 1 }, {
      hostname: "2001:db8:0:1:0:0:0:0",
      port: 2,
    })),
    "PROXY TCP6 2001:db8::1 2001:db8:0:1:: 1 2\r\n",
  );
  assert.equal(
    text(encodeProxyV1({ hostname: "10.0.0.1", port: 1234 }, { hostname: "::1", port: 80 })),
    "PROXY TCP6 ::ffff:10.0.0.1 ::1 1234 80\r\n",
  );
  // A dual-stack socket reports IPv4 clients as IPv4-mapped IPv6; written like inet_ntop.
  assert.equal(
    text(encodeProxyV1({ hostname: "::FFFF:7f00:1", port: 1 }, { hostname: "::1", port: 2 })),
    "PROXY TCP6 ::ffff:127.0.0.1 ::1 1 2\r\n",
  );
});

Deno.test("PROXY v1 says UNKNOWN for hosts that are not IP literals, and for LOCAL", () => {
  assert.equal(
    text(encodeProxyV1({ hostname: "example.com", port: 1 }, { hostname: "::1", port: 2 })),
    "PROXY UNKNOWN\r\n",
  );
  assert.equal(text(encodeProxyLocal("v1")), "PROXY UNKNOWN\r\n");
});

const V2_CASES: { name: string; src: [string, number]; dst: [string, number]; body: string }[] = [
  {
    name: "TCP4 header: signature, 0x21, 0x11, length 12, addresses, ports",
    src: ["192.168.0.1", 56324],
    dst: ["10.1.2.3", 443],
    body: "21 11 00 0c  c0 a8 00 01  0a 01 02 03  dc 04  01 bb",
  },
  {
    name: "TCP6 header: family 0x21, length 36, 16-byte addresses",
    src: ["2001:db8::1", 1],
    dst: ["::1", 65535],
    body: `21 21 00 24
      20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01
      00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01
      00 01  ff ff`,
  },
  {
    name: "maps an IPv4 source to ::ffff:a.b.c.d when the destination is IPv6",
    src: ["127.0.0.1", 80],
    dst: ["::1", 81],
    body: `21 21 00 24
      00 00 00 00 00 00 00 00 00 00 ff ff 7f 00 00 01
      00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01
      00 50 00 51`,
  },
];

for (const { name, src, dst, body } of V2_CASES) {
  Deno.test(`PROXY v2 ${name}`, () => {
    const header = encodeProxyV2(
      { hostname: src[0], port: src[1] },
      { hostname: dst[0], port: dst[1] },
    );
    assert.equal(hex(header), hex(fromHex(`${SIG} ${body}`)));
    assert.deepEqual(header.subarray(0, 12), PROXY_V2_SIGNATURE);
  });
}

Deno.test("PROXY v2 LOCAL and UNSPEC headers carry no addresses", () => {
  assert.equal(hex(encodeProxyLocal("v2")), hex(fromHex(`${SIG} 20 00 00 00`)));
  assert.equal(
    hex(encodeProxyV2({ hostname: "localhost", port: 1 }, { hostname: "localhost", port: 2 })),
    hex(fromHex(`${SIG} 21 00 00 00`)),
  );
});

Deno.test("encodeProxyHeader() picks the version", () => {
  const src = { hostname: "127.0.0.1", port: 5 };
  const dst = { hostname: "127.0.0.1", port: 6 };
  assert.deepEqual(encodeProxyHeader("v1", src, dst), encodeProxyV1(src, dst));
  assert.deepEqual(encodeProxyHeader("v2", src, dst), encodeProxyV2(src, dst));
});
