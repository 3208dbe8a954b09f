import assert from "node:assert/strict";
import { decodeSockAddr, encodeSockAddr, formatIPv6, parseIPv4, parseIPv6 } from "./_sockaddr.ts";

Deno.test("socket addresses round-trip IPv4 and IPv6 literals in Deno's text forms", () => {
  for (
    const [text, printed] of [
      ["127.0.0.1", "127.0.0.1"],
      ["0.0.0.0", "0.0.0.0"],
      ["::1", "::1"],
      ["[::1]", "::1"],
      ["::", "::"],
      ["fe80:0:0:0:0:0:0:1", "fe80::1"],
      ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
      ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:6"],
      ["1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"],
      ["::ffff:10.0.0.1", "::ffff:10.0.0.1"],
      ["ABCD::EF", "abcd::ef"],
    ] as const
  ) {
    const addr = encodeSockAddr(text, 8080);
    assert.ok(addr !== undefined, text);
    assert.deepEqual(decodeSockAddr(addr.bytes), {
      transport: "tcp",
      hostname: printed,
      port: 8080,
    });
  }
});

Deno.test("socket address parsing rejects what is not an IP literal", () => {
  for (
    const bad of [
      "localhost",
      "256.0.0.1",
      "1.2.3",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "fe80::1%eth0",
      "::ffff:01.2.3.4",
      "",
    ]
  ) {
    assert.equal(encodeSockAddr(bad, 1), undefined, bad);
  }
  assert.deepEqual(parseIPv4("10.1.2.3"), new Uint8Array([10, 1, 2, 3]));
  assert.equal(formatIPv6(parseIPv6("0:0:0:0:0:0:0:2")!), "::2");
  assert.throws(() => decodeSockAddr(new Uint8Array(16)), /family 0/);
});
