import assert from "node:assert/strict";
import { ConfigError } from "@monkey/shared";
import { RawClient } from "./raw.ts";

const enc = (s: string) => new TextEncoder().encode(s);

function raw(expect: string | undefined, expectEnd = "line"): RawClient {
  return new RawClient({
    send: "x",
    sendBytes: undefined,
    firstSend: undefined,
    expect,
    expectEnd,
  });
}

function parse(c: RawClient, reply: string): number {
  const bytes = enc(reply);
  for (let cut = 0; cut < bytes.length; cut++) {
    const got = c.parse(bytes, 0, cut, 0);
    if (got >= 0) return got;
  }
  return c.parse(bytes, 0, bytes.length, 0);
}

Deno.test("RawClient --expect frames replies by bytes, line and until", () => {
  assert.equal(parse(raw("bytes:3"), "abcdef"), 3);
  assert.equal(parse(raw("line"), "ab\ncd\n"), 3);
  assert.equal(parse(raw("until:\\r\\n\\r\\n"), "a\r\nb\r\n\r\nrest"), 8);
});

Deno.test("RawClient --expect exact, prefix and regex check the reply", () => {
  const exact = raw("exact:+PONG\\r\\n");
  assert.equal(parse(exact, "+PONG\r\n"), 7);
  assert.equal(exact.error, undefined);
  assert.equal(parse(exact, "-ERR x\r\n"), 7);
  assert.equal(exact.error, "unexpected_reply");
  assert.equal(exact.sample, "-ERR x\\r");
  const prefix = raw("prefix:OK");
  parse(prefix, "OK 12\n");
  assert.equal(prefix.error, undefined);
  parse(prefix, "NO\n");
  assert.equal(prefix.error, "unexpected_reply");
  const re = raw("regex:^id=\\d+;$", "until:;");
  assert.equal(parse(re, "id=12;id=x;"), 6);
  assert.equal(re.error, undefined);
  assert.equal(re.parse(enc("id=x;"), 0, 5, 0), 5);
  assert.equal(re.error, "unexpected_reply");
});

Deno.test("RawClient rejects a missing --expect and a regex that does not compile", () => {
  assert.throws(() => raw(undefined), (e: unknown) => e instanceof ConfigError);
  assert.throws(() => raw("regex:(+"), /the regex does not compile/);
  assert.throws(() => raw("lines"), /expected bytes:N, line/);
});
