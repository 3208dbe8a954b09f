import assert from "node:assert/strict";
import { requires } from "@monkey/testing";
import { ECHO_PROTOCOL, type ProtocolSpec } from "./protocols/mod.ts";
import { runScenario } from "./runner.ts";
import { runLoadTester, scenario } from "./_testing.ts";
import { hasProgram, startNginx, startRedis } from "./_real_servers.ts";

const PERMS = requires("run", "read", "write", "env");
const REDIS = hasProgram("redis-server");
const NGINX = hasProgram("nginx");
function proto(overrides: Partial<ProtocolSpec>): ProtocolSpec {
  return { ...ECHO_PROTOCOL, host: "127.0.0.1", ...overrides };
}

function named(name: string, program: string, present: boolean): string {
  if (PERMS.ignore) {
    return `${name} (skipped: needs --allow-run, --allow-read, --allow-write, --allow-env)`;
  }
  return present
    ? name
    : `${name} (skipped: ${program} not installed; apt-get install -y ${program})`;
}

Deno.test({
  name: named("redis-server answers PING and a SET/GET mix, pipelined too", "redis-server", REDIS),
  ignore: PERMS.ignore || !REDIS,
  fn: async () => {
    await using redis = await startRedis();
    for (const pipeline of [1, 16]) {
      const result = await runScenario(
        scenario({
          connections: 4,
          protocol: proto({
            protocol: "redis",
            pipeline,
            commands: ["SET key:{{rand:1000}} {{bytes:64}}", "GET key:{{rand:1000}}", "PING"],
          }),
        }),
        { target: redis.addr },
      );
      assert.equal(result.errors.total, 0, JSON.stringify(result.errors));
      assert.ok(result.requests > 100, `${result.requests}`);
      const mix = result.mix!.map((m) => m.requests);
      assert.ok(Math.max(...mix) - Math.min(...mix) <= 4 * pipeline, `${mix}`);
    }
  },
});

Deno.test({
  name: named(
    "redis-server with requirepass: the CLI reports reply_error with Redis's message and exits 1",
    "redis-server",
    REDIS,
  ),
  ignore: PERMS.ignore || !REDIS,
  fn: async () => {
    await using redis = await startRedis(["--requirepass", "secret"]);
    const run = (extra: string[]) =>
      runLoadTester([
        "--config",
        "/dev/null",
        "--target",
        redis.addr,
        "--protocol",
        "redis",
        "--command",
        "PING",
        "-d",
        "0.3s",
        "--progress=false",
        ...extra,
      ]);
    const denied = await run([]);
    assert.equal(denied.code, 1, denied.stdout);
    assert.match(denied.stdout, /reply_error: NOAUTH Authentication required\./);
    const allowed = await run(["--first-send", "AUTH secret"]);
    assert.equal(allowed.code, 0, allowed.stdout);
    assert.match(allowed.stdout, /Errors:\s+0 /);
  },
});

Deno.test({
  name: named(
    "nginx serves a small file over keep-alive; statuses counted by class",
    "nginx",
    NGINX,
  ),
  ignore: PERMS.ignore || !NGINX,
  fn: async () => {
    await using nginx = await startNginx();
    for (const pipeline of [1, 8]) {
      const result = await runScenario(
        scenario({
          connections: 4,
          protocol: proto({
            protocol: "http",
            pipeline,
            requests: ["GET /index.html", "GET /missing"],
            host: nginx.addr,
          }),
        }),
        { target: nginx.addr },
      );
      assert.ok(result.requests > 50, `${result.requests}`);
      assert.equal(result.http_status?.["2xx"], result.requests);
      assert.ok(result.http_status?.["4xx"]! > 50);
      assert.equal(result.errors.by_kind["http_status"], result.http_status?.["4xx"]);
      assert.equal(result.errors.total, result.errors.by_kind["http_status"]);
    }
  },
});
