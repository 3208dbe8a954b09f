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

Deno.test("ClientTable admits new IPs at its cap in constant time: a 10x larger table costs the same per IP", () => {
  // Compared, not timed against a bound: a scan per new IP would make the large table >= 10x
  // slower per admission; constant time keeps the two close whatever the machine's load.
  const full = (max: number) => {
    const table = new ClientTable(max);
    for (let i = 0; i < max; i++) {
      const stats = { up: i, down: 0 };
      table.open(`10.0.${i >> 8}.${i & 255}`, stats);
      table.close(`10.0.${i >> 8}.${i & 255}`, stats);
    }
    return table;
  };
  const small = full(500);
  const large = full(5_000);
  const spent = [0, 0];
  let next = 0;
  // Interleaved batches, so a busy moment of the machine hits both tables alike.
  for (let batch = 0; batch < 40; batch++) {
    for (const [k, table] of [small, large].entries()) {
      const began = performance.now();
      for (let n = 0; n < 500; n++, next++) {
        const ip = `11.${next >> 16}.${(next >> 8) & 255}.${next & 255}`;
        const stats = { up: 1, down: 0 };
        table.open(ip, stats);
        table.close(ip, stats);
      }
      spent[k]! += performance.now() - began;
    }
  }
  assert.equal(small.size, 500);
  assert.equal(large.size, 5_000);
  const ratio = spent[1]! / spent[0]!;
  assert.ok(ratio < 7, `per-IP cost grew ${ratio.toFixed(1)}x with a 10x larger table`);
});
