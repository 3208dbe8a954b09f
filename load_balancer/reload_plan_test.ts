import assert from "node:assert/strict";
import { requires, testCertPaths } from "@monkey/testing";
import { normalizeLbConfig } from "./config.ts";
import { type LiveBackend, planReload } from "./reload_plan.ts";

const A = "127.0.0.1:8081";
const B = "127.0.0.1:8082";
const C = "127.0.0.1:8083";

function live(addr: string, extra: Partial<LiveBackend> = {}): LiveBackend {
  return {
    addr,
    weight: 1,
    backup: false,
    maxConnections: 0,
    removing: false,
    active: 0,
    ...extra,
  };
}

Deno.test("planReload() adds new backends, updates kept ones and removes missing ones", () => {
  const current = normalizeLbConfig({ backends: [{ addr: A }, { addr: B }] });
  const next = normalizeLbConfig({
    backends: [{ addr: B, weight: 3, backup: true, max_connections: 9 }, { addr: C }],
  });
  const plan = planReload(current, next, [live(A, { active: 2 }), live(B)]);
  assert.deepEqual(plan.add, [{ addr: C, weight: 1, backup: false, max_connections: 0 }]);
  assert.deepEqual(plan.update, [{
    addr: B,
    settings: { weight: 3, backup: true, max_connections: 9 },
  }]);
  assert.deepEqual(plan.restore, []);
  assert.deepEqual(plan.remove, [A]);
  assert.deepEqual(plan.changes, [
    `${B} weight 1 -> 3`,
    `${B} backup false -> true`,
    `${B} max_connections 0 -> 9`,
    `added ${C}`,
    `removing ${A} (2 live connections drain)`,
  ]);
  assert.equal(plan.strategyChanged, false);
  assert.equal(plan.healthChanged, false);
});

Deno.test("planReload() compares with the pool as it is: admin changes and pending removals count", () => {
  const current = normalizeLbConfig({ backends: [{ addr: A }, { addr: B }] });
  const next = normalizeLbConfig({ backends: [{ addr: A }, { addr: B }] });
  // A was re-weighted by the admin API; B is being removed; C was added by the admin API.
  const plan = planReload(current, next, [
    live(A, { weight: 5 }),
    live(B, { removing: true }),
    live(C),
  ]);
  assert.deepEqual(plan.update.map((u) => [u.addr, u.settings.weight]), [[A, 1]]);
  assert.deepEqual(plan.restore.map((r) => r.addr), [B]);
  assert.deepEqual(plan.remove, [C]);
  assert.ok(plan.changes.includes(`${A} weight 5 -> 1`));
  assert.ok(plan.changes.includes(`kept ${B} (was being removed)`));
  // A backend already on its way out is not removed twice.
  const again = planReload(current, normalizeLbConfig({ backends: [{ addr: A }] }), [
    live(A),
    live(B, { removing: true }),
  ]);
  assert.deepEqual(again.remove, []);
});

Deno.test("planReload() keeps restart-only keys, reports live keys, never shows the token", () => {
  const current = normalizeLbConfig({
    listen_addr: "127.0.0.1:4000",
    max_connections: 10,
    admin_token: "old-token",
  });
  const next = normalizeLbConfig({
    listen_addr: "127.0.0.1:5000",
    max_connections: 20,
    strategy: "least_connections",
    proxy_protocol: "v2",
    connect_timeout_ms: 50,
    admin_token: "new-token",
    deny: ["10.0.0.0/8"],
    health_check: { interval_ms: 100 },
  });
  const plan = planReload(current, next, []);
  assert.equal(plan.config.listen_addr, "127.0.0.1:4000");
  assert.equal(plan.config.max_connections, 10);
  assert.equal(plan.config.strategy, "least_connections");
  assert.equal(plan.config.proxy_protocol, "v2");
  assert.equal(plan.config.admin_token, "new-token");
  assert.equal(next.listen_addr, "127.0.0.1:5000", "the input is not changed");
  assert.equal(plan.strategyChanged, true);
  assert.equal(plan.healthChanged, true);
  assert.deepEqual(plan.changes, [
    "listen_addr change needs a restart; keeping 127.0.0.1:4000",
    "max_connections change needs a restart; keeping 10",
    "strategy round_robin -> least_connections",
    "connect_timeout_ms 2000 -> 50",
    "proxy_protocol off -> v2",
    "admin_token changed",
    "allow/deny rules changed",
    "health_check settings changed",
  ]);
  assert.ok(plan.changes.every((line) => !/old-token|new-token/.test(line)));
});

Deno.test("planReload() of the same configuration changes nothing", () => {
  const config = normalizeLbConfig({ backends: [{ addr: A }], allow: ["127.0.0.0/8"] });
  const plan = planReload(config, normalizeLbConfig({ ...config }), [live(A)]);
  assert.deepEqual(plan.changes, []);
  assert.deepEqual([plan.add, plan.restore, plan.remove], [[], [], []]);
});

Deno.test({
  name: "planReload() keeps accept_proxy off with tls_cert: the TLS listener was chosen at start",
  ...requires("read"),
  fn() {
    const { cert, key } = testCertPaths("localhost");
    const tls = { tls_cert: cert, tls_key: key, backends: [{ addr: A }] };
    const current = normalizeLbConfig(tls);
    const on = normalizeLbConfig({ ...tls, accept_proxy: "v2", trusted_proxies: ["10.0.0.0/8"] });
    const plan = planReload(current, on, [live(A)]);
    assert.equal(plan.config.accept_proxy, "off");
    assert.deepEqual(plan.changes, [
      "accept_proxy change needs a restart with tls_cert; keeping 'off'",
    ]);
    // Started with it on, the listener is plain: turning it off (or to another version) applies.
    assert.equal(planReload(on, current, [live(A)]).config.accept_proxy, "off");
    const v1 = normalizeLbConfig({ ...tls, accept_proxy: "v1", trusted_proxies: ["10.0.0.0/8"] });
    assert.equal(planReload(on, v1, [live(A)]).config.accept_proxy, "v1");
    // Without TLS termination it is live.
    const plain = normalizeLbConfig({ backends: [{ addr: A }] });
    const plainOn = normalizeLbConfig({ backends: [{ addr: A }], accept_proxy: "v2" });
    assert.equal(planReload(plain, plainOn, [live(A)]).config.accept_proxy, "v2");
  },
});
