import assert from "node:assert/strict";
import {
  assertEchoes,
  dial,
  REPO_ROOT,
  requires,
  runDeno,
  spawnDeno,
  testEachEngine,
} from "@monkey/testing";

const NEEDS = requires("run", "read", "env");

testEachEngine(
  "deno task echo starts, echoes, and stops on SIGINT with a summary",
  async ({ engine }) => {
    await using echo = spawnDeno([
      "task",
      "echo",
      "--engine",
      engine,
      "--listen",
      "127.0.0.1:0",
      "--metrics",
      "127.0.0.1:0",
    ], REPO_ROOT);
    const [, addr, label] = await echo.waitForLine(
      /echoing on (\S+) \(engine: (\w+)\); metrics on http:\/\/\S+\/metrics/,
    );
    assert.equal(label, engine);
    const conn = await dial(addr!);
    await assertEchoes(conn, 4);
    conn.close();
    const status = await echo.stop("SIGINT");
    assert.equal(status.code, 0);
    assert.ok(
      echo.lines.some((l) => /stopped after .*: 1 connection$/.test(l)),
      echo.lines.join("\n"),
    );
  },
  NEEDS,
);

Deno.test("echo/main.ts rejects a bad flag with one line and exit code 2", NEEDS, async () => {
  const { code, stderr } = await runDeno([
    "run",
    "--allow-net",
    "--allow-read",
    "echo/main.ts",
    "--listen",
    "nowhere",
  ], REPO_ROOT);
  assert.equal(code, 2);
  assert.equal(stderr.trim().split("\n").length, 1, stderr);
  assert.match(stderr, /flag --listen-addr: expected host:port, got 'nowhere'/);
});
