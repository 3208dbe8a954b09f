import assert from "node:assert/strict";
import {
  AddressError,
  formatAddress,
  formatIPv6,
  isIPv4,
  parseAddress,
  parseIPv6,
} from "./address.ts";

Deno.test("parseAddress() reads host:port, [v6]:port and port 0", () => {
  assert.deepEqual(parseAddress("127.0.0.1:3000"), { hostname: "127.0.0.1", port: 3000 });
  assert.deepEqual(parseAddress("[::1]:8081"), { hostname: "::1", port: 8081 });
  assert.deepEqual(parseAddress("localhost:0"), { hostname: "localhost", port: 0 });
  assert.deepEqual(parseAddress(":9090"), { hostname: "0.0.0.0", port: 9090 });
  assert.deepEqual(parseAddress("[::ffff:10.0.0.1]:80"), { hostname: "::ffff:10.0.0.1", port: 80 });
});

Deno.test("parseAddress() rejects malformed addresses with the input in the message", () => {
  const bad = [
    "3000",
    "127.0.0.1",
    "127.0.0.1:",
    "127.0.0.1:65536",
    "127.0.0.1:-1",
    "127.0.0.1:http",
    "::1:3000",
    "[::1]3000",
    "[::1",
    "[:::1]:80",
    "[1:2:3:4:5:6:7:8:9]:80",
    "[fe80::zz]:80",
    "256.0.0.1:80",
    "01.2.3.4:80",
    "exa mple.com:80",
    "",
  ];
  for (const input of bad) {
    assert.throws(() => parseAddress(input), (error: unknown) => {
      assert.ok(error instanceof AddressError, `${input} should throw AddressError`);
      assert.ok(error.message.includes(`'${input}'`), error.message);
      return true;
    });
  }
});

Deno.test("formatAddress() brackets IPv6 and round-trips parseAddress()", () => {
  for (const text of ["127.0.0.1:3000", "[::1]:8081", "example.com:443"]) {
    assert.equal(formatAddress(parseAddress(text)), text);
  }
});

Deno.test("isIPv4() and parseIPv6() accept only valid literals", () => {
  assert.ok(isIPv4("10.0.0.255"));
  assert.ok(!isIPv4("10.0.0.256"));
  assert.deepEqual(parseIPv6("::1"), [0, 0, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual(parseIPv6("2001:db8::"), [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(parseIPv6("::ffff:1.2.3.4"), [0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304]);
  assert.equal(parseIPv6("1::2::3"), undefined);
  assert.equal(parseIPv6("12345::"), undefined);
});

Deno.test("formatIPv6() writes RFC 5952 text, IPv4-mapped with a dotted tail", () => {
  assert.equal(formatIPv6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]), "2001:db8::1");
  assert.equal(formatIPv6([0, 0, 0, 0, 0, 0, 0, 1]), "::1");
  assert.equal(formatIPv6([1, 0, 0, 2, 0, 0, 0, 3]), "1:0:0:2::3");
  assert.equal(formatIPv6([1, 2, 3, 4, 5, 6, 7, 8]), "1:2:3:4:5:6:7:8");
  assert.equal(formatIPv6([0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0001]), "::ffff:10.0.0.1");
});
