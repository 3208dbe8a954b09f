import assert from "node:assert/strict";
import { seededRandom as seeded } from "@monkey/testing";
import { DecayingLatency, LATENCY_DECAY_MS } from "./latency.ts";
import { watchFirstByte } from "./first_byte.ts";
import { createStrategy, type Pickable } from "./strategies.ts";

Deno.test("DecayingLatency: one spike among frequent samples barely moves the estimate", () => {
  const latency = new DecayingLatency();
  let now = 0;
  for (let i = 0; i < 1000; i++) latency.observe(0.3, now += 1);
  latency.observe(6.8, now += 1);
  assert.ok(latency.value(now)! < 0.32, String(latency.value(now)));
});

Deno.test("DecayingLatency: an unsampled estimate decays towards 0 so the backend is tried again", () => {
  const latency = new DecayingLatency();
  latency.observe(20, 0);
  assert.equal(latency.value(0), 20);
  assert.ok(latency.value(3 * LATENCY_DECAY_MS)! < 1.1);
  // A sample after a long gap replaces the old value almost entirely.
  latency.observe(0.3, 5 * LATENCY_DECAY_MS);
  assert.ok(latency.value(5 * LATENCY_DECAY_MS)! < 0.5);
});

Deno.test("watchFirstByte reports connect + time from the client's first bytes to the answer, once", async () => {
  const samples: number[] = [];
  const watch = watchFirstByte(2, (ms) => samples.push(ms));
  const stats = watch.stats;
  assert.deepEqual([stats.up, stats.down], [0, 0]);
  stats.up += 10;
  await new Promise((resolve) => setTimeout(resolve, 30));
  stats.down += 5;
  stats.down += 5;
  stats.up += 1;
  watch.end();
  assert.deepEqual([stats.up, stats.down], [11, 10]);
  assert.equal(samples.length, 1);
  assert.ok(samples[0]! >= 2 + 25 && samples[0]! < 2 + 1000, String(samples));
  // After the first write each counter is a plain property: no accessor left on the hot path.
  assert.equal(typeof Object.getOwnPropertyDescriptor(stats, "up")?.value, "number");
  assert.equal(typeof Object.getOwnPropertyDescriptor(stats, "down")?.value, "number");
});

Deno.test("watchFirstByte reports a lower bound when the backend never answers", () => {
  const samples: number[] = [];
  const watch = watchFirstByte(1, (ms) => samples.push(ms));
  watch.stats.up += 3;
  watch.end();
  watch.end();
  assert.equal(samples.length, 1);
  assert.ok(samples[0]! >= 1);
});

Deno.test("least_latency shares evenly between equal backends through the load term", () => {
  const ll = createStrategy("least_latency", { random: seeded(5) });
  const backends: (Pickable & { active: number; latencyScore: number })[] = Array.from(
    { length: 4 },
    (_, i) => ({ addr: `10.0.0.${i}:80`, weight: 1, active: 0, latencyScore: 1 + i * 0.01 }),
  );
  const counts = [0, 0, 0, 0];
  // Connections stay open: each pick adds load to the chosen backend.
  for (let i = 0; i < 4000; i++) {
    const chosen = ll.pick(backends, { clientIp: "127.0.0.1", group: backends })!;
    chosen.active++;
    counts[backends.indexOf(chosen)]!++;
  }
  for (const n of counts) assert.ok(Math.abs(n - 1000) < 100, String(counts));
});
