import assert from "node:assert/strict";
import { ConfigError } from "@monkey/shared";
import { connectTagged, lbConfigFromFlags, startTagged, withLb } from "./_testing.ts";
import type { LbConfigInput } from "./config.ts";
import { loadLbConfig } from "./config.ts";
import { scrapeMetrics, testEachEngine } from "@monkey/testing";

testEachEngine(
  "load balancer refuses clients outside allow or inside deny before any backend connect, and counts them",
  async ({ engine }) => {
    const backend = startTagged("a");
    const cases: [LbConfigInput, boolean][] = [
      [{ allow: ["10.0.0.0/8"] }, false],
      [{ deny: ["127.0.0.0/8"] }, false],
      [{ allow: ["127.0.0.0/8"], deny: ["::ffff:127.0.0.1"] }, false],
      [{ allow: ["10.0.0.0/8", "127.0.0.1"] }, true],
      [{ deny: ["::1", "192.168.0.0/16"] }, true],
    ];
    try {
      for (const [rules, served] of cases) {
        await withLb(engine, { backends: [{ addr: backend.addr }], ...rules }, async (lb) => {
          const { conn, tag } = await connectTagged(lb.addr);
          conn.close();
          assert.equal(tag, served ? "a" : null, JSON.stringify(rules));
          const snap = lb.snapshot();
          assert.equal(snap.denied_connections, served ? 0 : 1, JSON.stringify(rules));
          assert.equal(snap.total_connections, served ? 1 : 0, "denied clients are not accepted");
          assert.equal(snap.backends[0]!.total_connections, served ? 1 : 0, "no backend connect");
          assert.equal(
            (await scrapeMetrics(lb.app)).get("monkey_lb_denied_connections_total"),
            served ? 0 : 1,
          );
        });
      }
    } finally {
      await backend.close();
    }
  },
);

Deno.test("load balancer allow/deny come from lb.toml and --allow/--deny, bad blocks rejected in one line", () => {
  const config = lbConfigFromFlags("--allow 10.0.0.0/8 --allow ::1 --deny 10.6.6.6");
  assert.deepEqual(config.allow, ["10.0.0.0/8", "::1"]);
  assert.deepEqual(config.deny, ["10.6.6.6"]);
  assert.throws(
    () => loadLbConfig(["--deny", "10.0.0.0/33"]),
    new ConfigError(
      "Cannot parse flag --deny: expected a prefix length 0-32 after '/', got '10.0.0.0/33'",
    ),
  );
});

testEachEngine("a reload applies new allow/deny rules to new clients", async ({ engine }) => {
  const backend = startTagged("b");
  await withLb(engine, { backends: [{ addr: backend.addr }] }, async (lb) => {
    const before = await connectTagged(lb.addr);
    assert.equal(before.tag, "b");
    await lb.reload({ ...lb.config, deny: ["127.0.0.0/8"] });
    const after = await connectTagged(lb.addr);
    assert.equal(after.tag, null, "new clients are refused under the new rules");
    assert.equal(lb.snapshot().denied_connections, 1);
    before.conn.close();
    after.conn.close();
  }).finally(() => backend.close());
});
