import assert from "node:assert/strict";
import { headEnd, MAX_BODY_BYTES, parseRequestHead } from "./http1_head.ts";

const enc = new TextEncoder();
const parse = (text: string) => parseRequestHead(enc.encode(text));

Deno.test("parseRequestHead() reads the request line, headers and keep-alive rules", () => {
  const head = parse("GET /metrics?format=json HTTP/1.1\r\nHost: x:9\r\nAccept: */*\r\n\r\n");
  assert.ok(!("status" in head));
  assert.equal(head.method, "GET");
  assert.equal(head.target, "/metrics?format=json");
  assert.equal(head.version, "HTTP/1.1");
  assert.equal(head.headers.get("host"), "x:9");
  assert.equal(head.contentLength, 0);
  assert.equal(head.keepAlive, true);
  assert.equal(head.expectContinue, false);
  const cases: [string, boolean][] = [
    ["GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false],
    ["GET / HTTP/1.1\r\nConnection: TE, Close\r\n\r\n", false],
    ["GET / HTTP/1.0\r\n\r\n", false],
    ["GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true],
  ];
  for (const [text, keepAlive] of cases) {
    const parsed = parse(text);
    assert.ok(!("status" in parsed), text);
    assert.equal(parsed.keepAlive, keepAlive, text);
  }
  const post = parse("POST /x HTTP/1.1\r\nContent-Length: 12\r\nExpect: 100-continue\r\n\r\n");
  assert.ok(!("status" in post));
  assert.equal(post.contentLength, 12);
  assert.equal(post.expectContinue, true);
});

Deno.test("parseRequestHead() refuses malformed and unsupported heads with their status", () => {
  const cases: [string, number, RegExp][] = [
    ["GARBAGE\r\n\r\n", 400, /malformed request line 'GARBAGE'/],
    ["GET /\r\n\r\n", 400, /malformed request line/],
    ["GET  / HTTP/1.1\r\n\r\n", 400, /malformed request line/],
    ["G(T / HTTP/1.1\r\n\r\n", 400, /malformed request line/],
    ["GET / HTTP/2.0\r\n\r\n", 505, /HTTP version HTTP\/2.0/],
    ["GET / SPDY\r\n\r\n", 400, /malformed request line/],
    ["GET metrics HTTP/1.1\r\n\r\n", 400, /is not a path/],
    ["GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, /malformed header line 'Host : x'/],
    ["GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400, /malformed header line/],
    ["GET / HTTP/1.1\r\nX-A: 1\r\n  folded\r\n\r\n", 400, /line folding/],
    ["POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 411, /Content-Length/],
    ["POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400, /bad Content-Length '1x'/],
    ["POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400, /conflicting/],
    [`POST / HTTP/1.1\r\nContent-Length: ${MAX_BODY_BYTES + 1}\r\n\r\n`, 413, /body over/],
    ["GET /\x01 HTTP/1.1\r\n\r\n", 400, /\/\?/],
  ];
  for (const [text, status, error] of cases) {
    const head = parse(text);
    assert.ok("status" in head, JSON.stringify(text));
    assert.equal(head.status, status, JSON.stringify(text));
    assert.match(head.error, error, JSON.stringify(text));
  }
});

Deno.test("headEnd() finds the blank line, also when it arrives split across reads", () => {
  const bytes = enc.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\nBODY");
  assert.equal(headEnd(bytes, bytes.length, 0), bytes.length - 4);
  assert.equal(headEnd(bytes, 26, 0), -1);
  // Searching again from 3 bytes before the old end finds a terminator split by a read.
  assert.equal(headEnd(bytes, 27, 23), 27);
  assert.equal(headEnd(bytes, 3, 0), -1);
});
