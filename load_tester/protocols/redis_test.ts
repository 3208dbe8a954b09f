import assert from "node:assert/strict";
import { LoadError } from "../errors.ts";
import { ByteBuffer } from "./_buffer.ts";
import { RedisClient, splitCommand } from "./redis.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Parse `reply`, first cut at every byte (must be incomplete), then whole. */
function parseSplit(client: RedisClient, reply: string): number {
  const bytes = enc(reply);
  for (let cut = 0; cut < bytes.length; cut++) {
    assert.equal(client.parse(bytes, 0, cut, 0), -1, `complete after ${cut} bytes of ${reply}`);
  }
  return client.parse(bytes, 0, bytes.length, 0);
}

Deno.test("RedisClient sends commands as RESP arrays and rotates them", () => {
  const client = new RedisClient(["SET key:{{seq}} v", "GET key:{{seq}}"], undefined);
  const out = new ByteBuffer();
  assert.equal(client.write(out, { conn: 0, seq: 7 }), 0);
  assert.equal(client.write(out, { conn: 0, seq: 8 }), 1);
  assert.equal(client.write(out, { conn: 0, seq: 9 }), 0);
  assert.equal(
    text(out.view()),
    "*3\r\n$3\r\nSET\r\n$5\r\nkey:7\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$5\r\nkey:8\r\n" +
      "*3\r\n$3\r\nSET\r\n$5\r\nkey:9\r\n$1\r\nv\r\n",
  );
});

Deno.test("RedisClient parses every reply type, split at every byte", () => {
  const client = new RedisClient([], undefined);
  const replies = [
    "+PONG\r\n",
    ":42\r\n",
    "$5\r\nhello\r\n",
    "$-1\r\n",
    "*2\r\n$1\r\na\r\n*1\r\n:1\r\n",
    "*-1\r\n",
    "%1\r\n+k\r\n+v\r\n",
    "_\r\n",
    ",1.5\r\n",
    "#t\r\n",
    "=7\r\ntxt:abc\r\n",
  ];
  for (const reply of replies) {
    assert.equal(parseSplit(client, reply), enc(reply).length, reply);
    assert.equal(client.error, undefined, reply);
  }
});

Deno.test("RedisClient reports an error reply with the server's message", () => {
  const client = new RedisClient([], undefined);
  parseSplit(client, "-NOAUTH Authentication required.\r\n");
  assert.equal(client.error, "reply_error");
  assert.equal(client.sample, "NOAUTH Authentication required.");
  parseSplit(client, "!10\r\nERR x oops\r\n");
  assert.equal(client.sample, "ERR x oops");
  parseSplit(client, "*1\r\n-ERR inside\r\n");
  assert.equal(client.error, undefined, "an error inside an array is data");
});

Deno.test("RedisClient rejects bytes that are not RESP", () => {
  const client = new RedisClient([], undefined);
  assert.throws(
    () => client.parse(enc("HTTP/1.1 200 OK\r\n"), 0, 17, 0),
    (e: unknown) => e instanceof LoadError && e.kind === "unexpected_reply",
  );
});

Deno.test("RedisClient renders the first send once per connection", () => {
  const client = new RedisClient(["PING"], "AUTH secret");
  assert.equal(
    text(client.firstSend({ conn: 0, seq: 0 })!),
    "*2\r\n$4\r\nAUTH\r\n$6\r\nsecret\r\n",
  );
});

Deno.test("splitCommand() splits on spaces and honours quotes", () => {
  assert.deepEqual(splitCommand(`SET "a b" 'c d' e`, "t"), ["SET", "a b", "c d", "e"]);
  assert.throws(() => splitCommand("   ", "flag --command"), /flag --command: empty command/);
  assert.throws(() => splitCommand(`SET "a`, "flag --command"), /unclosed quote/);
});
