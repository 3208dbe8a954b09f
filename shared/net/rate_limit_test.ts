import assert from "node:assert/strict";
import { ClientLimiter, type ClientSlot } from "./rate_limit.ts";

const slot = (r: ClientSlot | string): ClientSlot => {
  assert.equal(typeof r, "object", `expected a slot, got ${String(r)}`);
  return r as ClientSlot;
};

Deno.test("ClientLimiter serves burst + rate per second, then refuses, per client", () => {
  let now = 0;
  const limiter = new ClientLimiter({ ratePerSec: 50, burst: 10, now: () => now });
  let served = 0;
  // 500 attempts spread over one second.
  for (let i = 0; i < 500; i++) {
    now = i * 2;
    const r = limiter.admit("192.0.2.1");
    if (typeof r !== "string") {
      served++;
      r.release();
    } else assert.equal(r, "rate");
  }
  assert.ok(served >= 50 && served <= 60, `served ${served}`);
  // Another address is unaffected.
  assert.equal(typeof limiter.admit("192.0.2.2"), "object");
});

Deno.test("ClientLimiter counts live connections per client and frees them on release", () => {
  const limiter = new ClientLimiter({ maxConnectionsPerClient: 2 });
  const a = slot(limiter.admit("10.0.0.1"));
  slot(limiter.admit("10.0.0.1"));
  assert.equal(limiter.admit("10.0.0.1"), "connections");
  a.release();
  a.release(); // idempotent: does not free a second connection
  slot(limiter.admit("10.0.0.1"));
  assert.equal(limiter.admit("10.0.0.1"), "connections");
  // IPv4-mapped IPv6 is the same client.
  assert.equal(limiter.admit("::ffff:10.0.0.1"), "connections");
});

Deno.test("ClientLimiter groups IPv6 clients by /64 and exempts CIDR blocks", () => {
  const limiter = new ClientLimiter({
    maxConnectionsPerClient: 1,
    exempt: ["127.0.0.0/8", "2001:db8:ffff::/48"],
  });
  slot(limiter.admit("2001:db8::1"));
  assert.equal(limiter.admit("2001:db8::2"), "connections");
  slot(limiter.admit("2001:db8:0:1::1"));
  for (let i = 0; i < 5; i++) slot(limiter.admit("127.0.0.5"));
  for (let i = 0; i < 5; i++) slot(limiter.admit("2001:db8:ffff::9"));
});

Deno.test("ClientLimiter memory is bounded: the least recently seen client is forgotten", () => {
  const limiter = new ClientLimiter({ maxConnectionsPerClient: 1, capacity: 100 });
  slot(limiter.admit("10.0.0.0"));
  for (let i = 1; i <= 10_000; i++) {
    slot(limiter.admit(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`));
    assert.ok(limiter.size <= 100);
  }
  // 10.0.0.0 was evicted long ago: counted afresh.
  slot(limiter.admit("10.0.0.0"));
  // A recently seen one is still remembered.
  assert.equal(limiter.admit("10.0.39.16"), "connections");
});

Deno.test("ClientLimiter with no limit set admits everything and remembers nothing", () => {
  const limiter = new ClientLimiter({ exempt: [] });
  assert.equal(limiter.enabled, false);
  for (let i = 0; i < 100; i++) slot(limiter.admit("192.0.2.1"));
  assert.equal(limiter.size, 0);
  assert.throws(() => new ClientLimiter({ capacity: 0 }), /capacity must be at least 1, got 0/);
});
