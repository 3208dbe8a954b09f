import assert from "node:assert/strict";
import { ClientTable } from "./clients.ts";

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

Deno.test("ClientTable stays bounded by forgetting the quietest idle client", () => {
  const table = new ClientTable(3);
  for (const [ip, bytes] of [["a", 30], ["b", 10], ["c", 20]] as const) {
    const stats = { up: bytes, down: 0 };
    table.open(ip, stats);
    table.close(ip, stats);
  }
  table.open("d", { up: 0, down: 0 });
  assert.equal(table.size, 3);
  assert.deepEqual(table.top().map((r) => r.ip).sort(), ["a", "c", "d"]);
});
