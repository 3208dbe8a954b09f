import assert from "node:assert/strict";
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { testEachEngine } from "@monkey/testing";
import { resolveEngine } from "../net/engine.ts";
import type { HttpApp } from "./app.ts";
import { MAX_HEAD_BYTES, serveHttp1 } from "./http1.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A test app: a text route, an echo of POST bodies, and an event stream. */
function testApp(streams: { aborted: PromiseWithResolvers<void> }) {
  const app = new Hono();
  app.get("/hello", (c) => c.text("hello"));
  app.post("/echo", async (c) => c.text(`got ${await c.req.text()}`));
  app.get("/events", (c) =>
    streamSSE(c, async (stream) => {
      stream.onAbort(() => streams.aborted.resolve());
      await stream.writeSSE({ data: "first" });
      // Open until the client leaves or the server shuts down.
      while (!stream.aborted && !stream.closed) await stream.sleep(10);
    }));
  return app as unknown as HttpApp;
}

/** Read from `conn` until `done(text)` holds or the peer closes; the text read. */
async function readUntil(conn: Deno.Conn, done: (text: string) => boolean): Promise<string> {
  const buf = new Uint8Array(65536);
  let text = "";
  while (!done(text)) {
    const n = await conn.read(buf);
    if (n === null) break;
    text += dec.decode(buf.subarray(0, n));
  }
  return text;
}

/** Responses complete in `text` (each head plus its Content-Length body). */
function responses(text: string): { head: string; body: string }[] {
  const out = [];
  let rest = text;
  while (rest.includes("\r\n\r\n")) {
    const end = rest.indexOf("\r\n\r\n") + 4;
    const head = rest.slice(0, end);
    const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
    if (rest.length < end + length) break;
    out.push({ head, body: rest.slice(end, end + length) });
    rest = rest.slice(end + length);
  }
  return out;
}

function start(engine: "deno" | "epoll") {
  const streams = { aborted: Promise.withResolvers<void>() };
  const endpoint = serveHttp1(testApp(streams), "127.0.0.1:0", resolveEngine(engine));
  const [hostname, port] = [endpoint.addr.split(":")[0]!, Number(endpoint.addr.split(":")[1])];
  return { endpoint, streams, connect: () => Deno.connect({ hostname, port }) };
}

testEachEngine("serveHttp1() answers fetch: GET, HEAD, POST bodies, 404", async ({ engine }) => {
  const { endpoint } = start(engine);
  try {
    const base = `http://${endpoint.addr}`;
    const hello = await fetch(`${base}/hello`);
    assert.equal(hello.status, 200);
    assert.equal(hello.headers.get("content-length"), "5");
    assert.ok(hello.headers.get("date"));
    assert.equal(await hello.text(), "hello");
    const head = await fetch(`${base}/hello`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
    const post = await fetch(`${base}/echo`, { method: "POST", body: "x".repeat(70_000) });
    assert.equal(await post.text(), `got ${"x".repeat(70_000)}`);
    const missing = await fetch(`${base}/nope`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  } finally {
    await endpoint.shutdown();
  }
});

testEachEngine(
  "serveHttp1() keeps a connection alive, answers pipelined requests in order, closes on 'Connection: close'",
  async ({ engine }) => {
    const { endpoint, connect } = start(engine);
    const conn = await connect();
    try {
      const get = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n";
      const post = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc";
      await conn.write(enc.encode(get + post));
      const two = responses(await readUntil(conn, (t) => responses(t).length === 2));
      assert.deepEqual(two.map((r) => r.body), ["hello", "got abc"]);
      assert.ok(two.every((r) => r.head.startsWith("HTTP/1.1 200 OK\r\n")));
      assert.ok(two.every((r) => !/connection: close/i.test(r.head)));
      await conn.write(enc.encode("GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n"));
      const last = await readUntil(conn, () => false); // until the server closes
      assert.match(last, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(last, /\r\nconnection: close\r\n/);
      assert.ok(last.endsWith("\r\n\r\nhello"));
    } finally {
      conn.close();
      await endpoint.shutdown();
    }
  },
);

testEachEngine(
  "serveHttp1() answers bad heads with one status and a close, and other connections carry on",
  async ({ engine }) => {
    const { endpoint, connect } = start(engine);
    const good = await connect();
    try {
      const cases: [string, RegExp][] = [
        [
          "GARBAGE\r\n\r\n",
          /^HTTP\/1\.1 400 Bad Request\r\n[^]*malformed request line 'GARBAGE'\n$/,
        ],
        [`GET /${"a".repeat(MAX_HEAD_BYTES)}`, /^HTTP\/1\.1 431 /],
        ["POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", /^HTTP\/1\.1 411 /],
        ["GET / HTTP/1.1\r\nHost: a b\r\n\r\n", /^HTTP\/1\.1 400 /],
      ];
      for (const [input, expected] of cases) {
        const bad = await connect();
        await bad.write(enc.encode(input)).catch(() => 0);
        const answer = await readUntil(bad, () => false);
        bad.close();
        assert.match(answer, expected, input.slice(0, 40));
        assert.match(answer, /\r\nconnection: close\r\n/);
      }
      await good.write(enc.encode("GET /hello HTTP/1.1\r\n\r\n"));
      const [ok] = responses(await readUntil(good, (t) => responses(t).length === 1));
      assert.equal(ok!.body, "hello");
    } finally {
      good.close();
      await endpoint.shutdown();
    }
  },
);

testEachEngine(
  "serveHttp1() answers 'Expect: 100-continue' before reading the body",
  async ({ engine }) => {
    const { endpoint, connect } = start(engine);
    const conn = await connect();
    try {
      await conn.write(
        enc.encode("POST /echo HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"),
      );
      const interim = await readUntil(conn, (t) => t.includes("\r\n\r\n"));
      assert.equal(interim, "HTTP/1.1 100 Continue\r\n\r\n");
      await conn.write(enc.encode("hi"));
      const [final] = responses(await readUntil(conn, (t) => responses(t).length === 1));
      assert.equal(final!.body, "got hi");
    } finally {
      conn.close();
      await endpoint.shutdown();
    }
  },
);

testEachEngine(
  "serveHttp1() streams events chunked; a client leaving cancels the stream",
  async ({ engine }) => {
    const { endpoint, streams, connect } = start(engine);
    try {
      const conn = await connect();
      await conn.write(enc.encode("GET /events HTTP/1.1\r\n\r\n"));
      const text = await readUntil(conn, (t) => t.includes("data: first"));
      assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(text, /\r\ncontent-type: text\/event-stream\r\n/);
      assert.match(text, /\r\ntransfer-encoding: chunked\r\n/);
      assert.match(text, /\r\n\r\n[0-9a-f]+\r\ndata: first\n\n\r\n/);
      conn.close();
      // The server sees the hang-up and cancels the stream: its abort handler runs.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<string>((r) => timer = setTimeout(() => r("not cancelled"), 5000));
      assert.equal(
        await Promise.race([streams.aborted.promise.then(() => "cancelled"), late]),
        "cancelled",
      );
      clearTimeout(timer);
    } finally {
      await endpoint.shutdown();
    }
  },
);

testEachEngine(
  "serveHttp1() shutdown closes idle keep-alive connections and ends open streams",
  async ({ engine }) => {
    const { endpoint, connect } = start(engine);
    const idle = await connect();
    const events = await fetch(`http://${endpoint.addr}/events`);
    try {
      await idle.write(enc.encode("GET /hello HTTP/1.1\r\n\r\n"));
      await readUntil(idle, (t) => responses(t).length === 1);
      const reader = events.body!.getReader();
      assert.match(dec.decode((await reader.read()).value), /data: first/);
      const stopped = endpoint.shutdown();
      // Both end without the client doing anything: the idle socket reads end of input.
      assert.equal(await readUntil(idle, () => false), "");
      while (!(await reader.read()).done) { /* drain what was in flight */ }
      await stopped;
      await assert.rejects(fetch(`http://${endpoint.addr}/hello`), TypeError);
    } finally {
      idle.close();
    }
  },
);
