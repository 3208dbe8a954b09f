import assert from "node:assert/strict";
import { ByteBuffer } from "./_buffer.ts";
import { HttpClient, statusClasses } from "./http.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function client(requests = ["GET /"], expectStatus = "2xx,3xx"): HttpClient {
  return new HttpClient({
    requests,
    headers: ["X-Test: 1"],
    body: undefined,
    expectStatus,
    host: "127.0.0.1:80",
  });
}

function parseSplit(c: HttpClient, reply: string, mix = 0): number {
  const bytes = enc(reply);
  for (let cut = 0; cut < bytes.length; cut++) {
    assert.equal(c.parse(bytes, 0, cut, mix), -1, `complete after ${cut} bytes`);
  }
  return c.parse(bytes, 0, bytes.length, mix);
}

Deno.test("HttpClient writes keep-alive requests with Host and extra headers", () => {
  const c = new HttpClient({
    requests: ["POST /p?{{seq}}"],
    headers: ["X-A: b"],
    body: enc("hi"),
    expectStatus: "2xx",
    host: "h:1",
  });
  const out = new ByteBuffer();
  c.write(out, { conn: 0, seq: 5 });
  assert.equal(
    text(out.view()),
    "POST /p?5 HTTP/1.1\r\nHost: h:1\r\nX-A: b\r\nUser-Agent: monkey-load-test\r\n" +
      "Content-Length: 2\r\n\r\nhi",
  );
});

Deno.test("HttpClient frames Content-Length and chunked responses split at every byte", () => {
  const c = client();
  const fixed = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
  assert.equal(parseSplit(c, fixed), fixed.length);
  assert.equal(c.status, 200);
  assert.equal(c.error, undefined);
  const chunked = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" +
    "5\r\nhello\r\n1;ext=1\r\n!\r\n0\r\nTrailer: x\r\n\r\n";
  assert.equal(parseSplit(c, chunked), chunked.length);
  const noBody = "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n";
  assert.equal(parseSplit(c, noBody), noBody.length);
});

Deno.test("HttpClient: statuses outside --expect-status are http_status errors", () => {
  const c = client(["GET /"], "200");
  parseSplit(c, "HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n");
  assert.equal(c.error, "http_status");
  assert.equal(c.sample, "HTTP/1.1 302 Found");
  parseSplit(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  assert.equal(c.error, undefined);
});

Deno.test("HttpClient notices Connection: close and HEAD responses without a body", () => {
  const c = client(["HEAD /"]);
  const head = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n";
  assert.equal(parseSplit(c, head), head.length);
  assert.equal(c.close, true);
  parseSplit(c, "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n");
  assert.equal(c.close, false);
});

Deno.test("HttpClient rejects a reply that is not HTTP", () => {
  assert.throws(() => client().parse(enc("+PONG\r\n\r\n"), 0, 9, 0), /not an HTTP status line/);
});

Deno.test("statusClasses() sums codes per class", () => {
  assert.deepEqual(statusClasses({ "200": 3, "204": 1, "404": 2 }), { "2xx": 4, "4xx": 2 });
});
