import assert from "node:assert/strict";
import { requires } from "@monkey/testing";
import { ECHO_PROTOCOL, type ProtocolSpec } from "./protocols/mod.ts";
import type { ScenarioResult } from "./result.ts";
import { runScenario } from "./runner.ts";
import { runLoadTester, scenario } from "./_testing.ts";
import { hasProgram, type RealServer, startNginx, startRedis } from "./_real_servers.ts";

const PERMS = requires("run", "read", "write", "env");

/**
 * A test that needs `program` installed: skipped, saying why, without it or the permissions.
 *
 * @param program The server program.
 * @param name What the test shows.
 * @param fn The test.
 */
function serverTest(program: string, name: string, fn: () => Promise<void>): void {
  const present = hasProgram(program);
  if (PERMS.ignore) {
    name = `${name} (skipped: needs --allow-run, --allow-read, --allow-write, --allow-env)`;
  } else if (!present) {
    name = `${name} (skipped: ${program} not installed; apt-get install -y ${program})`;
  }
  Deno.test({ name, ignore: PERMS.ignore || !present, fn });
}

/** A request/reply protocol against a real server, at each pipeline depth. */
interface ProtocolCase {
  /** The server program. */
  program: string;
  /** What the test shows. */
  name: string;
  /** Start the server. */
  start: () => Promise<RealServer>;
  /** Pipeline depths to run, one scenario each. */
  pipelines: number[];
  /** The protocol settings (besides the pipeline) for a server at `addr`. */
  protocol: (addr: string) => Partial<ProtocolSpec>;
  /** The assertions on one depth's result. */
  check: (result: ScenarioResult, pipeline: number) => void;
}

const PROTOCOL_CASES: ProtocolCase[] = [
  {
    program: "redis-server",
    name: "redis-server answers PING and a SET/GET mix, pipelined too",
    start: () => startRedis(),
    pipelines: [1, 16],
    protocol: () => ({
      protocol: "redis",
      commands: ["SET key:{{rand:1000}} {{bytes:64}}", "GET key:{{rand:1000}}", "PING"],
    }),
    check: (result, pipeline) => {
      assert.equal(result.errors.total, 0, JSON.stringify(result.errors));
      assert.ok(result.requests > 100, `${result.requests}`);
      const mix = result.mix!.map((m) => m.requests);
      assert.ok(Math.max(...mix) - Math.min(...mix) <= 4 * pipeline, `${mix}`);
    },
  },
  {
    program: "nginx",
    name: "nginx serves a small file over keep-alive; statuses counted by class",
    start: startNginx,
    pipelines: [1, 8],
    protocol: (addr) => ({
      protocol: "http",
      requests: ["GET /index.html", "GET /missing"],
      host: addr,
    }),
    check: (result) => {
      assert.ok(result.requests > 50, `${result.requests}`);
      assert.equal(result.http_status?.["2xx"], result.requests);
      assert.ok(result.http_status?.["4xx"]! > 50);
      assert.equal(result.errors.by_kind["http_status"], result.http_status?.["4xx"]);
      assert.equal(result.errors.total, result.errors.by_kind["http_status"]);
    },
  },
];

for (const c of PROTOCOL_CASES) {
  serverTest(c.program, c.name, async () => {
    await using server = await c.start();
    for (const pipeline of c.pipelines) {
      const protocol = {
        ...ECHO_PROTOCOL,
        host: "127.0.0.1",
        ...c.protocol(server.addr),
        pipeline,
      };
      const result = await runScenario(scenario({ connections: 4, protocol }), {
        target: server.addr,
      });
      c.check(result, pipeline);
    }
  });
}

serverTest(
  "redis-server",
  "redis-server with requirepass: the CLI reports reply_error with Redis's message and exits 1",
  async () => {
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
);
