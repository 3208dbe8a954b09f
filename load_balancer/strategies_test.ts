import assert from "node:assert/strict";
import { seededRandom as seeded } from "@monkey/testing";
import { createStrategy, hashString, type Pickable } from "./strategies.ts";

interface Fake extends Pickable {
  addr: string;
  weight: number;
  active: number;
  latencyScore: number | undefined;
}

function fakes(weights: number[]): Fake[] {
  return weights.map((weight, i) => ({
    addr: `10.0.0.${i + 1}:80`,
    weight,
    active: 0,
    latencyScore: undefined,
  }));
}

const ctx = (group: readonly Pickable[], clientIp = "127.0.0.1") => ({ clientIp, group });

Deno.test("round_robin picks each backend in turn, exactly, ignoring weights", () => {
  const rr = createStrategy("round_robin");
  const backends = fakes([5, 1, 1]);
  const order = Array.from({ length: 9 }, () => rr.pick(backends, ctx(backends))!.addr);
  assert.deepEqual(order, [0, 1, 2, 0, 1, 2, 0, 1, 2].map((i) => backends[i]!.addr));
  assert.equal(rr.pick([], ctx([])), undefined);
});

Deno.test("weighted_round_robin interleaves smoothly like nginx (5,1,1 -> a a b a c a a)", () => {
  const wrr = createStrategy("weighted_round_robin");
  const backends = fakes([5, 1, 1]);
  const names = new Map(backends.map((b, i) => [b, "abc"[i]!]));
  const order = Array.from({ length: 14 }, () => names.get(wrr.pick(backends, ctx(backends))!));
  assert.equal(order.join(""), "aabacaaaabacaa");
});

Deno.test("weighted_round_robin shares within 2% of the weights over 10,000 picks", () => {
  const wrr = createStrategy("weighted_round_robin");
  const backends = fakes([5, 3, 2]);
  const counts = new Map<Pickable, number>();
  for (let i = 0; i < 10_000; i++) {
    const b = wrr.pick(backends, ctx(backends))!;
    counts.set(b, (counts.get(b) ?? 0) + 1);
  }
  for (const b of backends) {
    const share = (counts.get(b) ?? 0) / 10_000;
    assert.ok(Math.abs(share - b.weight / 10) <= 0.02, `${b.addr}: ${share}`);
  }
});

Deno.test("least_connections picks the fewest active per weight, ties in turn", () => {
  const lc = createStrategy("least_connections");
  const backends = fakes([1, 1, 1]);
  backends[0]!.active = 5;
  backends[1]!.active = 2;
  backends[2]!.active = 2;
  const picks = Array.from({ length: 4 }, () => lc.pick(backends, ctx(backends))!.addr);
  assert.ok(!picks.includes(backends[0]!.addr));
  assert.ok(picks.includes(backends[1]!.addr) && picks.includes(backends[2]!.addr));
  // Weights: 4 active on weight 4 is lighter than 2 active on weight 1.
  const weighted = fakes([4, 1]);
  weighted[0]!.active = 4;
  weighted[1]!.active = 2;
  assert.equal(lc.pick(weighted, ctx(weighted)), weighted[0]);
});

Deno.test("least_connections keeps long-lived connections even as some close", () => {
  const lc = createStrategy("least_connections");
  const backends = fakes([1, 1, 1]);
  const open = (n: number) => {
    for (let i = 0; i < n; i++) lc.pick(backends, ctx(backends))!.active++;
  };
  open(30);
  assert.deepEqual(backends.map((b) => b.active), [10, 10, 10]);
  backends[1]!.active -= 7; // seven long-lived clients of the second backend leave
  open(7);
  assert.deepEqual(backends.map((b) => b.active), [10, 10, 10]);
});

Deno.test("random_two_choices never picks the busiest of three and spreads over the idle ones", () => {
  const p2c = createStrategy("random_two_choices", { random: seeded(7) });
  const backends = fakes([1, 1, 1]);
  backends[0]!.active = 100;
  const counts = [0, 0, 0];
  for (let i = 0; i < 3000; i++) {
    counts[backends.indexOf(p2c.pick(backends, ctx(backends)) as Fake)]!++;
  }
  assert.equal(counts[0], 0);
  assert.ok(counts[1]! > 1000 && counts[2]! > 1000, String(counts));
});

Deno.test("least_latency prefers the backend with the lower first-byte latency", () => {
  const ll = createStrategy("least_latency", { random: seeded(3) });
  const backends = fakes([1, 1, 1]);
  backends[0]!.latencyScore = 0.2;
  backends[1]!.latencyScore = 5;
  backends[2]!.latencyScore = 50;
  const counts = [0, 0, 0];
  for (let i = 0; i < 3000; i++) {
    counts[backends.indexOf(ll.pick(backends, ctx(backends)) as Fake)]!++;
  }
  // The fast one wins every pair it is in (2/3), the slowest never wins.
  assert.equal(counts[2], 0);
  assert.ok(counts[0]! > 1800, String(counts));
  // An unmeasured backend is tried first, so it gets measured.
  backends[1]!.latencyScore = undefined;
  const two = [backends[0]!, backends[1]!];
  assert.equal(ll.pick(two, ctx(two)), backends[1]);
});

Deno.test("consistent_hash keeps a client on one backend", () => {
  const ch = createStrategy("consistent_hash");
  const backends = fakes([1, 1, 1, 1]);
  const first = ch.pick(backends, ctx(backends, "192.0.2.7"));
  for (let i = 0; i < 20; i++) assert.equal(ch.pick(backends, ctx(backends, "192.0.2.7")), first);
});

Deno.test("consistent_hash remaps at most 1/N + 5% of clients when one of N backends goes", () => {
  const n = 10;
  const backends = fakes(new Array<number>(n).fill(1));
  const clients = Array.from(
    { length: 10_000 },
    (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
  );
  const initial = createStrategy("consistent_hash");
  const before = clients.map((ip) => initial.pick(backends, ctx(backends, ip)));
  const ch = createStrategy("consistent_hash");
  const removed = backends[3]!;
  const rest = backends.filter((b) => b !== removed);
  // Down (still in the group) and removed (gone from the group) must both remap the same few.
  for (const group of [backends, rest]) {
    let moved = 0;
    clients.forEach((ip, i) => {
      const now = ch.pick(rest, ctx(group, ip));
      if (now !== before[i]) {
        moved++;
        assert.equal(before[i], removed, "only clients of the removed backend move");
      }
    });
    assert.ok(moved / clients.length <= 1 / n + 0.05, `moved ${moved}`);
    assert.ok(moved > 0);
  }
  // And the load is reasonably even: no backend holds more than twice its share.
  const counts = new Map<Pickable | undefined, number>();
  for (const b of before) counts.set(b, (counts.get(b) ?? 0) + 1);
  for (const count of counts.values()) assert.ok(count < (2 * clients.length) / n, String(count));
});

Deno.test("hashString is stable and spreads neighbouring inputs", () => {
  assert.equal(hashString("127.0.0.1"), hashString("127.0.0.1"));
  assert.notEqual(hashString("10.0.0.1"), hashString("10.0.0.2"));
});
