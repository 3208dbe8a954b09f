import assert from "node:assert/strict";
import { Hono } from "hono";
import { addAdminRoutes, MAX_BODY_BYTES, sameSecret } from "./admin.ts";
import { BackendPool } from "./pool.ts";

const TOKEN = "s3cret-token";
const A = "127.0.0.1:8081";

function setup(...args: [] | [token: string | undefined]) {
  const token = args.length === 0 ? TOKEN : args[0];
  const pool = new BackendPool();
  pool.add({ addr: A, weight: 1, backup: false, max_connections: 0 });
  const app = new Hono();
  addAdminRoutes(app, { pool, token: () => token });
  return { pool, app };
}

function call(
  app: Hono,
  method: string,
  path: string,
  options: { body?: string | unknown; auth?: string | null } = {},
) {
  const headers: Record<string, string> = {};
  const auth = options.auth === undefined ? `Bearer ${TOKEN}` : options.auth;
  if (auth !== null) headers["authorization"] = auth;
  const init: RequestInit = { method, headers };
  if (options.body !== undefined) {
    init.body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    headers["content-type"] = "application/json";
  }
  return app.request(path, init);
}

Deno.test("GET /backends lists every field the issue names", async () => {
  const { app } = setup();
  const res = await call(app, "GET", "/backends", { auth: null });
  assert.equal(res.status, 200);
  const [row] = await res.json();
  for (
    const key of [
      "addr",
      "weight",
      "backup",
      "state",
      "active_connections",
      "total_connections",
      "bytes_in",
      "bytes_out",
      "connect_errors",
      "last_check",
    ]
  ) assert.ok(key in row, key);
  assert.equal(row.addr, A);
  assert.equal(row.state, "up");
});

Deno.test("mutating routes answer 403 when no admin token is configured", async () => {
  for (const token of [undefined, ""]) {
    const { app, pool } = setup(token);
    const res = await call(app, "POST", `/backends/${A}/drain`);
    assert.equal(res.status, 403);
    assert.match((await res.json()).error, /admin_token/);
    assert.equal(pool.get(A)!.draining, false);
  }
});

Deno.test("mutating routes answer 401 for a missing or wrong token", async () => {
  const { app, pool } = setup();
  for (const auth of [null, "Bearer wrong", "Basic czNjcmV0", `Bearer ${TOKEN}x`, "Bearer"]) {
    const res = await call(app, "DELETE", `/backends/${A}`, { auth });
    assert.equal(res.status, 401, String(auth));
    assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="monkey-lb"');
  }
  assert.ok(pool.get(A));
  assert.equal(sameSecret("abc", "abc"), true);
  assert.equal(sameSecret("abc", "abcd"), false);
});

Deno.test("POST /backends adds, refuses duplicates, and validates the body", async () => {
  const { app, pool } = setup();
  const res = await call(app, "POST", "/backends", {
    body: { addr: "[::1]:9000", weight: 3, backup: true },
  });
  assert.equal(res.status, 201);
  const row = await res.json();
  assert.deepEqual([row.addr, row.weight, row.backup], ["[::1]:9000", 3, true]);
  assert.ok(pool.get("[::1]:9000"));
  assert.equal((await call(app, "POST", "/backends", { body: { addr: A } })).status, 409);

  const bad: [string | unknown, RegExp][] = [
    ["{not json", /malformed JSON/],
    ["[1,2]", /JSON object/],
    [{ weight: 2 }, /'addr'/],
    [{ addr: "localhost" }, /bad backend address/],
    [{ addr: "127.0.0.1:0" }, /port 1-65535/],
    [{ addr: "127.0.0.1:9001", weight: 0 }, /'weight' as an integer 1-1000/],
    [{ addr: "127.0.0.1:9001", weight: 1.5 }, /'weight'/],
    [{ addr: "127.0.0.1:9001", backup: "yes" }, /'backup'/],
    [{ addr: "127.0.0.1:9001", colour: "red" }, /unknown field 'colour'/],
  ];
  for (const [body, message] of bad) {
    const r = await call(app, "POST", "/backends", { body });
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.match((await r.json()).error, message);
  }
  assert.equal(pool.list().length, 2);
});

Deno.test("bodies over 64 KiB are refused with 413", async () => {
  const { app } = setup();
  const big = JSON.stringify({ addr: "127.0.0.1:9001", pad: "x".repeat(MAX_BODY_BYTES) });
  const res = await call(app, "POST", "/backends", { body: big });
  assert.equal(res.status, 413);
  // Without a content-length (a stream), the limit holds while reading.
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < 20; i++) controller.enqueue(new Uint8Array(8 * 1024).fill(32));
      controller.close();
    },
  });
  const streamed = await app.request("/backends", {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}` },
    body: stream,
  });
  assert.equal(streamed.status, 413);
});

Deno.test("PATCH changes the weight; drain and enable toggle the state", async () => {
  const { app, pool } = setup();
  const patched = await call(app, "PATCH", `/backends/${A}`, { body: { weight: 7 } });
  assert.equal(patched.status, 200);
  assert.equal((await patched.json()).weight, 7);
  assert.equal(pool.get(A)!.weight, 7);
  assert.equal((await call(app, "PATCH", `/backends/${A}`, { body: {} })).status, 400);
  assert.equal(
    (await call(app, "PATCH", `/backends/${A}`, { body: { weight: -1 } })).status,
    400,
  );

  assert.equal((await (await call(app, "POST", `/backends/${A}/drain`)).json()).state, "draining");
  assert.equal(pool.get(A)!.draining, true);
  assert.equal((await (await call(app, "POST", `/backends/${A}/enable`)).json()).state, "up");
  assert.equal(pool.get(A)!.draining, false);
});

Deno.test("unknown backends answer 404, bad addresses 400, wrong methods 405", async () => {
  const { app } = setup();
  assert.equal((await call(app, "POST", "/backends/127.0.0.1:9999/drain")).status, 404);
  assert.equal((await call(app, "DELETE", "/backends/127.0.0.1:9999")).status, 404);
  assert.equal(
    (await call(app, "PATCH", "/backends/nonsense", { body: { weight: 2 } })).status,
    400,
  );
  assert.equal((await call(app, "PUT", "/backends")).status, 405);
  assert.equal((await call(app, "GET", `/backends/${A}/drain`)).status, 405);
  // Percent-encoded addresses work too (IPv6 brackets in a URL).
  await call(app, "POST", "/backends", { body: { addr: "[::1]:7000" } });
  assert.equal(
    (await call(app, "POST", `/backends/${encodeURIComponent("[::1]:7000")}/drain`)).status,
    200,
  );
});

Deno.test("DELETE removes an idle backend at once and drains a busy one first", async () => {
  const { app, pool } = setup();
  const res = await call(app, "DELETE", `/backends/${A}`);
  assert.equal(res.status, 200);
  assert.equal((await res.json()).removed, true);
  assert.equal(pool.get(A), undefined);

  const busy = pool.add({ addr: A, weight: 1, backup: false, max_connections: 0 });
  busy.reserve();
  const stats = busy.attach();
  const pending = await call(app, "DELETE", `/backends/${A}`);
  assert.equal(pending.status, 202);
  assert.equal(pool.get(A)?.state, "draining");
  busy.finish(stats);
  assert.equal(pool.get(A), undefined);
});
