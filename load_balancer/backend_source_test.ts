import assert from "node:assert/strict";
import { Hono } from "hono";
import { addAdminRoutes } from "./admin.ts";
import { BackendPool } from "./pool.ts";
import { planReload } from "./reload_plan.ts";
import { normalizeLbConfig } from "./config.ts";

Deno.test("GET /backends shows each backend's source: static, dns, admin", async () => {
  const pool = new BackendPool();
  pool.add({ addr: "127.0.0.1:1", weight: 1, backup: false, max_connections: 0 });
  pool.add({
    addr: "127.0.0.1:2",
    weight: 1,
    backup: false,
    max_connections: 0,
    source: "dns",
    startDown: true,
  });
  const app = new Hono();
  addAdminRoutes(app, { pool, token: () => "t" });
  const added = await app.request("/backends", {
    method: "POST",
    headers: { authorization: "Bearer t", "content-type": "application/json" },
    body: JSON.stringify({ addr: "127.0.0.1:3" }),
  });
  assert.equal(added.status, 201);
  const rows = await (await app.request("/backends")).json() as {
    addr: string;
    source: string;
    state: string;
  }[];
  assert.deepEqual(rows.map((r) => [r.addr, r.source]), [
    ["127.0.0.1:1", "static"],
    ["127.0.0.1:2", "dns"],
    ["127.0.0.1:3", "admin"],
  ]);
  assert.equal(rows[1]!.state, "down", "a discovered backend started down waits for its checks");
});

Deno.test("a reload leaves discovered backends to their discovery", () => {
  const config = normalizeLbConfig({ backends: [{ addr: "127.0.0.1:1" }] });
  const live = [
    {
      addr: "127.0.0.1:1",
      weight: 1,
      backup: false,
      maxConnections: 0,
      removing: false,
      active: 0,
    },
    {
      addr: "127.0.0.1:2",
      weight: 1,
      backup: false,
      maxConnections: 0,
      removing: false,
      active: 0,
      source: "dns",
    },
    {
      addr: "127.0.0.1:3",
      weight: 1,
      backup: false,
      maxConnections: 0,
      removing: false,
      active: 0,
      source: "admin",
    },
  ];
  const plan = planReload(config, config, live);
  assert.deepEqual(plan.remove, ["127.0.0.1:3"]);
});
