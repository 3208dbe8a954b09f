import assert from "node:assert/strict";
import { requires } from "@monkey/testing";
import { hasProgram, ProcessGroup } from "./process_group.ts";
import { buildYardsticks, parsePingpong, runPingpong, startEchoSrv } from "./yardsticks.ts";

Deno.test("parsePingpong() reads every field and names a missing one", () => {
  const result = parsePingpong(
    "rps=135211 p50_us=63.5 p99_us=147.1 max_us=4003.5 errors=0 MBps=138.5\n",
  );
  assert.deepEqual(result, {
    rps: 135211,
    p50_us: 63.5,
    p99_us: 147.1,
    max_us: 4003.5,
    errors: 0,
    MBps: 138.5,
  });
  assert.throws(() => parsePingpong("rps=1 p50_us=2"), /no p99_us= in 'rps=1 p50_us=2'/);
});

Deno.test(
  "buildYardsticks() says in one line why it skips when there is no compiler",
  requires("run"),
  async () => {
    const built = await buildYardsticks({ cc: "no-such-cc-monkey" });
    assert.ok("skipped" in built);
    assert.match(built.skipped, /'no-such-cc-monkey' is not on PATH/);
    assert.doesNotMatch(built.skipped, /\n/);
  },
);

Deno.test({
  name: "the C yardsticks build, and pingpong against echo_srv for 1 s has requests and no errors",
  ignore: requires("run", "read", "write").ignore || !hasProgram("cc"),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "monkey-yardsticks-" });
    const group = new ProcessGroup();
    try {
      const built = await buildYardsticks({ dir });
      assert.ok(!("skipped" in built), "cc is on PATH, so nothing is skipped");
      const echo = await startEchoSrv(group, built.echoSrv);
      assert.match(echo.addr, /^127\.0\.0\.1:\d+$/);
      const result = await runPingpong(built.pingpong, echo.addr, 4, 512, 1);
      assert.ok(result.rps > 0, `rps ${result.rps}`);
      assert.equal(result.errors, 0);
      assert.ok(
        result.p50_us > 0 && result.p50_us <= result.p99_us && result.p99_us <= result.max_us,
      );
      // A second build finds the binaries up to date and leaves them alone.
      const before = (await Deno.stat(built.pingpong)).mtime;
      await buildYardsticks({ dir });
      assert.deepEqual((await Deno.stat(built.pingpong)).mtime, before);
    } finally {
      await group.stopAll();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
