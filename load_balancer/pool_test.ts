import assert from "node:assert/strict";
import { Hono } from "hono";
import { answerMethodNotAllowed } from "./_method_not_allowed.ts";
import { BackendPool } from "./pool.ts";

const A = "127.0.0.1:8081";
const B = "127.0.0.1:8082";
const SETTINGS = { weight: 1, backup: false, max_connections: 0 };

function pool(...addrs: string[]) {
  const events: string[] = [];
  const p = new BackendPool({
    added: (b) => events.push(`added ${b.addr}`),
    removed: (b) => events.push(`removed ${b.addr}`),
  });
  for (const addr of addrs) p.add({ addr, ...SETTINGS });
  return { pool: p, events };
}

Deno.test("BackendPool: drain and enable move a backend out of and back into service", () => {
  const { pool: p } = pool(A, B);
  assert.equal(p.drain(A)!.state, "draining");
  assert.deepEqual(p.candidates(new Set()).candidates.map((b) => b.addr), [B]);
  assert.equal(p.enable(A)!.state, "up");
  assert.equal(p.candidates(new Set()).candidates.length, 2);
  assert.equal(p.drain("127.0.0.1:1"), undefined, "unknown addresses are no-ops");
  assert.throws(() => p.add({ addr: A, ...SETTINGS }), /Cannot add backend 127\.0\.0\.1:8081/);
});

Deno.test("BackendPool: removing implies draining; a busy backend leaves when its last connection ends", () => {
  const { pool: p, events } = pool(A, B);
  assert.equal(p.remove(B), "removed", "idle: gone at once");
  assert.equal(p.get(B), undefined);
  const a = p.get(A)!;
  a.reserve();
  const stats = a.attach();
  assert.equal(p.remove(A), "draining");
  assert.deepEqual([a.draining, a.removing, a.state], [true, true, "draining"]);
  assert.equal(p.candidates(new Set()).group.length, 0, "no longer in the hash ring");
  a.finish(stats);
  assert.equal(p.get(A), undefined);
  assert.deepEqual(events, [`added ${A}`, `added ${B}`, `removed ${B}`, `removed ${A}`]);
});

Deno.test("BackendPool: enable or restore cancels a pending removal; update changes only given keys", () => {
  const { pool: p } = pool(A);
  const a = p.get(A)!;
  a.reserve();
  p.remove(A);
  p.enable(A);
  assert.deepEqual([a.draining, a.removing], [false, false]);
  p.remove(A);
  p.restore(A, { weight: 4, backup: true, max_connections: 2 });
  assert.deepEqual([a.draining, a.removing, a.weight, a.backup, a.maxConnections], [
    false,
    false,
    4,
    true,
    2,
  ]);
  p.update(A, { weight: 7 });
  assert.deepEqual([a.weight, a.backup, a.maxConnections], [7, true, 2]);
  a.release();
  assert.equal(p.get(A), a, "a restored backend stays when idle");
});

Deno.test("answerMethodNotAllowed() answers 405 with Allow taken from the app's own routes", async () => {
  const app = new Hono();
  app.get("/things", (c) => c.text("list"));
  app.post("/things", (c) => c.text("add"));
  app.delete("/things/:id", (c) => c.text("gone"));
  answerMethodNotAllowed(app);
  assert.equal((await app.request("/things")).status, 200);
  const put = await app.request("/things", { method: "PUT" });
  assert.equal(put.status, 405);
  assert.equal(put.headers.get("allow"), "GET, POST");
  assert.match((await put.json()).error, /method PUT not allowed on \/things/);
  const get = await app.request("/things/7");
  assert.equal(get.status, 405);
  assert.equal(get.headers.get("allow"), "DELETE");
  assert.equal((await app.request("/other")).status, 404);
});
