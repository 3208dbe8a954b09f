import { requires } from "@monkey/testing";
import assert from "node:assert/strict";
import { AccessList, cidrContains, CidrError, cidrItem, parseCidr, parseIp } from "./cidr.ts";
import { ConfigError, loadConfig } from "../config/mod.ts";

const NEEDS = requires("read", "write");

Deno.test("parseCidr() reads IPv4 and IPv6 blocks and bare addresses, clearing host bits", () => {
  const cases: [string, 4 | 6, number, string][] = [
    ["10.0.0.0/8", 4, 8, "10.0.0.0/8"],
    ["10.1.2.3/8", 4, 8, "10.0.0.0/8"],
    ["192.168.1.7", 4, 32, "192.168.1.7/32"],
    ["0.0.0.0/0", 4, 0, "0.0.0.0/0"],
    ["172.16.0.0/12", 4, 12, "172.16.0.0/12"],
    ["2001:db8::/32", 6, 32, "2001:db8::/32"],
    ["2001:db8:ffff::1/33", 6, 33, "2001:db8:8000::/33"],
    ["::1", 6, 128, "::1/128"],
    ["::/0", 6, 0, "::/0"],
    ["fe80::/10", 6, 10, "fe80::/10"],
    ["::ffff:10.0.0.0/104", 4, 8, "10.0.0.0/8"],
    ["::ffff:0:0/96", 4, 0, "0.0.0.0/0"],
    [" 10.0.0.0/8 ", 4, 8, "10.0.0.0/8"],
  ];
  for (const [text, family, prefix, canonical] of cases) {
    const block = parseCidr(text);
    assert.equal(block.family, family, text);
    assert.equal(block.prefix, prefix, text);
    assert.equal(block.text, canonical, text);
  }
});

Deno.test("parseCidr() rejects what is not a block, naming the problem", () => {
  const bad: [string, RegExp][] = [
    ["10.0.0.0/33", /prefix length 0-32/],
    ["::/129", /prefix length 0-128/],
    ["10.0.0.0/", /prefix length/],
    ["10.0.0.0/-1", /prefix length/],
    ["10.0.0.0/8/8", /prefix length/],
    ["10.0.0.256/8", /IPv4 or IPv6/],
    ["10.0.0/8", /IPv4 or IPv6/],
    ["example.com/8", /IPv4 or IPv6/],
    ["", /IPv4 or IPv6/],
    ["::g/64", /IPv4 or IPv6/],
    ["1:2:3:4:5:6:7:8:9/64", /IPv4 or IPv6/],
    ["fe80::1%eth0/64", /zone/],
  ];
  for (const [text, reason] of bad) {
    assert.throws(() => parseCidr(text), (e: unknown) => {
      assert.ok(e instanceof CidrError, text);
      assert.match(e.message, reason, text);
      assert.ok(e.message.endsWith(`got '${text}'`), e.message);
      return true;
    });
  }
});

Deno.test("cidrContains() matches prefixes bit by bit, and only within a family", () => {
  const block = parseCidr("172.16.0.0/12");
  assert.ok(cidrContains(block, parseIp("172.16.0.1")!));
  assert.ok(cidrContains(block, parseIp("172.31.255.255")!));
  assert.ok(!cidrContains(block, parseIp("172.32.0.0")!));
  assert.ok(!cidrContains(block, parseIp("172.15.255.255")!));
  assert.ok(!cidrContains(parseCidr("::/0"), parseIp("10.0.0.1")!), "v6 block, v4 client");
  assert.ok(cidrContains(parseCidr("0.0.0.0/0"), parseIp("203.0.113.9")!));
  const v6 = parseCidr("2001:db8:8000::/33");
  assert.ok(cidrContains(v6, parseIp("2001:db8:ffff::1")!));
  assert.ok(!cidrContains(v6, parseIp("2001:db8:7fff::1")!));
});

Deno.test("parseIp() treats IPv4-mapped IPv6 as IPv4 and ignores a zone", () => {
  assert.deepEqual([...parseIp("::ffff:10.0.0.1")!], [10, 0, 0, 1]);
  assert.deepEqual([...parseIp("::ffff:a00:1")!], [10, 0, 0, 1]);
  assert.equal(parseIp("fe80::1%eth0")!.length, 16);
  assert.equal(parseIp("localhost"), undefined);
  assert.equal(parseIp("10.0.0.1:80"), undefined);
});

Deno.test("AccessList admits by allow, refuses by deny, deny winning, mapped clients as IPv4", () => {
  const open = new AccessList();
  assert.ok(open.open);
  assert.ok(open.admits("203.0.113.1"));
  assert.ok(open.admits("not-an-ip"), "no rules: nothing to check");

  const access = new AccessList({ allow: ["10.0.0.0/8", "::1"], deny: ["10.0.0.66"] });
  assert.ok(!access.open);
  assert.ok(access.admits("10.1.2.3"));
  assert.ok(access.admits("::ffff:10.1.2.3"), "IPv4-mapped client matches an IPv4 block");
  assert.ok(!access.admits("10.0.0.66"), "deny wins over allow");
  assert.ok(!access.admits("::ffff:10.0.0.66"));
  assert.ok(!access.admits("192.168.0.1"), "not in any allow block");
  assert.ok(access.admits("::1"));
  assert.ok(!access.admits("::2"));
  assert.ok(!access.admits("garbage"), "an address that does not parse is refused");

  const denyOnly = new AccessList({ deny: ["127.0.0.0/8", "::ffff:192.0.2.0/120"] });
  assert.ok(!denyOnly.admits("127.0.0.1"));
  assert.ok(!denyOnly.admits("192.0.2.200"), "mapped deny block applies to IPv4 clients");
  assert.ok(denyOnly.admits("10.0.0.1"));
  assert.ok(denyOnly.admits("2001:db8::1"));
});

Deno.test(
  "cidrItem() validates allow/deny arrays in config files and flags with one-line errors",
  NEEDS,
  async () => {
    const schema = {
      allow: { type: "strings", item: cidrItem, description: "Allowed clients" },
    } as const;
    assert.equal(cidrItem("10.0.0.0/8"), undefined);
    assert.match(cidrItem("10.0.0.0/40")!, /^expected a prefix length 0-32 after '\/'$/);

    const ok = loadConfig(schema, { args: ["--allow", "10.0.0.0/8", "--allow", "::1"] });
    assert.deepEqual(ok.config.allow, ["10.0.0.0/8", "::1"]);
    assert.throws(
      () => loadConfig(schema, { args: ["--allow", "10.0.0.0/8", "--allow", "nope"] }),
      new ConfigError(
        "Cannot parse flag --allow: expected an IPv4 or IPv6 address or CIDR " +
          "block like 10.0.0.0/8, got 'nope'",
      ),
    );
    const path = await Deno.makeTempFile({ suffix: ".toml" });
    try {
      await Deno.writeTextFile(path, `allow = ["10.0.0.0/8", "10.0.0.0/99"]`);
      assert.throws(
        () => loadConfig(schema, { args: ["--config", path] }),
        new ConfigError(
          `Cannot parse 'allow[1]' in ${path}: expected a prefix length 0-32 after '/', got '10.0.0.0/99'`,
        ),
      );
    } finally {
      await Deno.remove(path);
    }
  },
);
