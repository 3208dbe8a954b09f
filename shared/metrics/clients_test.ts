import assert from "node:assert/strict";
import { ClientTable, OTHER_CLIENTS } from "./clients.ts";

Deno.test("ClientTable sums live and finished connections per IP, busiest first", () => {
  const table = new ClientTable();
  const a1 = { up: 10, down: 20 };
  const a2 = { up: 5, down: 0 };
  const b = { up: 1000, down: 1 };
  table.open("10.0.0.1", a1);
  table.open("10.0.0.1", a2);
  table.open("10.0.0.2", b);
  table.close("10.0.0.1", a1);
  a2.up += 100; // live bytes count before close
  const rows = table.top();
  assert.deepEqual(rows.map((r) => r.ip), ["10.0.0.2", "10.0.0.1"]);
  assert.deepEqual(rows[1], {
    ip: "10.0.0.1",
    active_connections: 1,
    total_connections: 2,
    bytes_upstream: 115,
    bytes_downstream: 20,
  });
  assert.equal(table.top(1).length, 1);
});

Deno.test("ClientTable at its cap forgets the client idle the longest", () => {
  const table = new ClientTable(3);
  // b is the busiest but idle the longest: activity order decides, not bytes.
  for (const [ip, up] of [["a", 10], ["b", 50], ["c", 5]] as const) {
    const stats = { up, down: 0 };
    table.open(ip, stats);
    table.close(ip, stats);
  }
  const again = { up: 1, down: 0 };
  table.open("a", again); // a is active again: b is now idle the longest
  table.close("a", again);
  table.open("d", { up: 0, down: 0 });
  assert.equal(table.size, 3);
  assert.deepEqual(table.top().map((r) => r.ip).sort(), ["a", "c", "d"]);
});

Deno.test("ClientTable never exceeds its cap when every client is live", () => {
  const table = new ClientTable(2);
  table.open("a", { up: 0, down: 0 });
  table.open("b", { up: 0, down: 0 });
  const c = { up: 7, down: 3 };
  const d = { up: 1, down: 1 };
  table.open("c", c);
  table.open("d", d);
  assert.equal(table.size, 2);
  table.close("c", c);
  const other = table.top().find((r) => r.ip === OTHER_CLIENTS);
  assert.deepEqual(other, {
    ip: OTHER_CLIENTS,
    active_connections: 1,
    total_connections: 2,
    bytes_upstream: 8,
    bytes_downstream: 4,
  });
});

Deno.test("ClientTable admits new IPs at its cap in constant time", () => {
  const max = 5_000;
  const table = new ClientTable(max);
  for (let i = 0; i < max; i++) {
    const stats = { up: i, down: 0 };
    table.open(`10.0.${i >> 8}.${i & 255}`, stats);
    table.close(`10.0.${i >> 8}.${i & 255}`, stats);
  }
  const began = performance.now();
  for (let i = 0; i < 50_000; i++) {
    const stats = { up: 1, down: 0 };
    table.open(`11.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, stats);
    table.close(`11.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, stats);
  }
  const took = performance.now() - began;
  assert.equal(table.size, max);
  // A scan per new IP is 2.5e8 steps here (seconds); constant time is a few ms.
  assert.ok(took < 1000, `50k new IPs at the cap took ${took.toFixed(0)} ms`);
});
