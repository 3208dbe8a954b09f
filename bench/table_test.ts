import assert from "node:assert/strict";
import { median, ratio, renderBench } from "./table.ts";

Deno.test("median() takes the middle value, or the mean of the middle two", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
  assert.equal(ratio(90, 100), "0.90x");
  assert.equal(ratio(1, 0), "-");
});

Deno.test("renderBench() prints req/s, ratios against peers and direct, cross-check and memory", () => {
  const cell = (rps: number, p99: number) => ({ rps, p50_us: p99 / 2, p99_us: p99, errors: 0 });
  const text = renderBench({
    machine: {
      cpu: "Test CPU",
      cpus: 2,
      os: "linux x86_64",
      kernel: "6.1",
      deno: "2.9.6",
      date: "2026-11-27",
    },
    rows: [{
      scenario: "baseline",
      connections: 10,
      message_size: 1024,
      cells: {
        direct: cell(100_000, 200),
        proxy: cell(45_000, 500),
        haproxy: cell(50_000, 400),
        lb: cell(44_000, 520),
      },
    }],
    cross: [{ target: "direct", ours: 95_000, c: 100_000 }],
    memory: [{ target: "proxy", bytes: 21 * 1024 }],
    reps: 3,
    secs: 3,
  });
  assert.match(text, /Test CPU, 2 cores/);
  assert.match(text, /\| baseline \| 10 +\| 1 KiB \| 100000 \(200µs\)/);
  assert.match(text, /proxy\/haproxy/);
  assert.match(text, /0\.90x \(1\.25x\)/); // proxy vs haproxy: rps ratio and p99 ratio
  assert.match(text, /0\.98x/); // lb vs proxy
  assert.match(text, /\| direct +\| 95000 +\| 100000 +\| 0\.95x/);
  assert.match(text, /\| proxy +\| 21\.0 +\|/);
});
