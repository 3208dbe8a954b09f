import { requires } from "@monkey/testing";
import assert from "node:assert/strict";
import { ConfigError } from "@monkey/shared";
import {
  LB_SCHEMA,
  loadLbConfig,
  normalizeLbConfig,
  parseBackendFlag,
  parseLbConfig,
} from "./config.ts";
import { helpText } from "@monkey/shared";
import { lbConfigFromFlags } from "./_testing.ts";

const NEEDS = requires("read", "env");

Deno.test("parseBackendFlag reads ADDR,weight=N,backup,max_connections=N", () => {
  assert.deepEqual(parseBackendFlag("127.0.0.1:8081"), { addr: "127.0.0.1:8081" });
  assert.deepEqual(parseBackendFlag("127.0.0.1:8081,weight=3,backup"), {
    addr: "127.0.0.1:8081",
    weight: 3,
    backup: true,
  });
  assert.deepEqual(parseBackendFlag("[::1]:80,backup=false,max_connections=10"), {
    addr: "[::1]:80",
    backup: false,
    max_connections: 10,
  });
  assert.throws(() => parseBackendFlag("127.0.0.1:8081,heavy"), /--backend/);
});

Deno.test("the shipped lb.toml loads: three backends, defaults from the issue", NEEDS, () => {
  const { config } = loadLbConfig(["--config", new URL("./lb.toml", import.meta.url).pathname]);
  assert.equal(config.listen_addr, "127.0.0.1:4000");
  assert.equal(config.metrics_addr, "127.0.0.1:9092");
  assert.equal(config.retries, 2);
  assert.equal(config.proxy_protocol, "off");
  assert.deepEqual(config.health_check, {
    interval_ms: 2000,
    timeout_ms: 1000,
    rise: 2,
    fall: 3,
    send: undefined,
    expect: undefined,
  });
  assert.deepEqual(config.backends.map((b) => b.addr), [
    "127.0.0.1:8081",
    "127.0.0.1:8082",
    "127.0.0.1:8083",
  ]);
});

Deno.test("repeatable --backend flags replace the file's backends; flags win", () => {
  const config = lbConfigFromFlags(
    "--listen 127.0.0.1:0 --strategy least_connections --backend 127.0.0.1:9001,weight=3 " +
      "--backend 127.0.0.1:9002,backup --admin-token t0k",
  );
  assert.equal(config.listen_addr, "127.0.0.1:0");
  assert.equal(config.strategy, "least_connections");
  assert.equal(config.admin_token, "t0k");
  assert.deepEqual(config.backends, [
    { addr: "127.0.0.1:9001", weight: 3, backup: false, max_connections: 0 },
    { addr: "127.0.0.1:9002", weight: 1, backup: true, max_connections: 0 },
  ]);
  assert.throws(
    () => loadLbConfig(["--backend", "127.0.0.1:9001,weight=0"]),
    /--backend.*expected a value >= 1/,
  );
});

Deno.test("bad files name the file, key and value in one line", () => {
  const cases: [string, RegExp][] = [
    [
      'strategy = "fastest"',
      /'strategy' in lb\.toml: expected one of 'round_robin'.*got 'fastest'/,
    ],
    ["retries = -1", /'retries' in lb\.toml/],
    ['proxy_protocol = "v3"', /'proxy_protocol' in lb\.toml/],
    ["[health_check]\nfall = 0", /'health_check\.fall' in lb\.toml/],
    ["[health_check]\nsmell = 1", /Unknown key 'health_check\.smell'/],
    ['[[backends]]\naddr = "nowhere"', /'backends\[0\]\.addr' in lb\.toml/],
    ["[[backends]]\nweight = 2", /Missing (key )?'backends\[0\]\.addr' in lb\.toml/],
    [
      '[[backends]]\naddr = "127.0.0.1:1"\n[[backends]]\naddr = "127.0.0.1:1"',
      /'backends\[1\]\.addr' in lb\.toml: duplicate backend/,
    ],
    ['[[backends]]\naddr = "127.0.0.1:0"', /port 1-65535/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseLbConfig(text, "lb.toml"), ConfigError);
    try {
      parseLbConfig(text, "lb.toml");
    } catch (e) {
      assert.match((e as Error).message, message);
      assert.equal((e as Error).message.includes("\n"), false);
    }
  }
});

Deno.test("normalizeLbConfig fills nested defaults for library callers", () => {
  const config = normalizeLbConfig({
    health_check: { interval_ms: 50 },
    backends: [{ addr: "[::1]:80" }],
    admin_token: "",
  });
  assert.equal(config.health_check.interval_ms, 50);
  assert.equal(config.health_check.fall, 3);
  assert.equal(config.backends[0]!.weight, 1);
  assert.equal(config.admin_token, undefined);
});

Deno.test("--help lists the load balancer's flags", () => {
  const text = helpText("deno task lb", LB_SCHEMA);
  for (const flag of ["--listen", "--metrics", "--strategy", "--backend", "--admin-token"]) {
    assert.ok(text.includes(flag), flag);
  }
});

Deno.test("admin_token falls back to MONKEY_ADMIN_TOKEN; the flag wins over it", NEEDS, () => {
  Deno.env.set("MONKEY_ADMIN_TOKEN", "from-env");
  try {
    assert.equal(loadLbConfig([]).config.admin_token, "from-env");
    assert.equal(loadLbConfig(["--admin-token", "from-flag"]).config.admin_token, "from-flag");
  } finally {
    Deno.env.delete("MONKEY_ADMIN_TOKEN");
  }
  assert.equal(loadLbConfig([]).config.admin_token, undefined);
});

Deno.test("an admin_token a bearer header cannot carry is refused without showing it", () => {
  for (const token of ["pass word", "s3cret!", "tök3n", "a=b"]) {
    assert.throws(
      () => parseLbConfig(`admin_token = ${JSON.stringify(token)}`, "lb.toml"),
      (e: Error) =>
        e instanceof ConfigError && /'admin_token' in lb\.toml: expected letters/.test(e.message) &&
        !e.message.includes(token),
    );
  }
  for (const token of ["s3cret-token", "abc.DEF_~+/x==", "dGVzdA=="]) {
    assert.equal(
      parseLbConfig(`admin_token = ${JSON.stringify(token)}`, "lb.toml").admin_token,
      token,
    );
  }
});
