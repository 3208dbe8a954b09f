import { requires } from "@monkey/testing";
import assert from "node:assert/strict";
import { customServer, runLoadTester, spawnLoadTester } from "./_testing.ts";
import { fakeServer } from "./_fake_servers.ts";

const NEEDS = requires("run", "read", "write", "env", "sys");

const cli = runLoadTester;

Deno.test(
  "CLI: a target that never answers exits 1, counts requests in flight as unfinished and says it does not echo",
  NEEDS,
  async () => {
    const silent = fakeServer(() => [[], ""], () => "");
    const flipper = customServer((chunk) => void (chunk[0]! ^= 1));
    try {
      const base = ["--config", "/dev/null", "-d", "0.3", "-c", "2", "--progress=false"];
      const run = await cli([...base, "--target", silent.addr, "--timeout", "10"]);
      assert.equal(run.code, 1, run.stdout);
      assert.match(run.stdout, /Unfinished:\s+2 /);
      assert.match(run.stdout, /Errors:\s+0 /);
      assert.match(run.stdout, /the target does not echo.*--protocol/);
      assert.match(run.stderr, /no request completed \(2 unanswered at the end\)/);
      const flipped = await cli([...base, "--target", flipper.addr]);
      assert.equal(flipped.code, 1, flipped.stdout);
      assert.match(flipped.stderr, /every request failed .*\n.*the target does not echo/);
    } finally {
      await silent.close();
      await flipper.close();
    }
  },
);

Deno.test(
  "CLI: one Ctrl+C delivered twice (as under deno task) prints the partial report and exits 0",
  NEEDS,
  async () => {
    const silent = fakeServer(() => [[], ""], () => "");
    try {
      await using run = spawnLoadTester(
        [
          "--config",
          "/dev/null",
          "--target",
          silent.addr,
          "-d",
          "20",
          "-c",
          "2",
          "--timeout",
          "30",
        ],
      );
      await run.waitForStderr(/\ndefault: /);
      run.child.kill("SIGINT");
      await new Promise((r) => setTimeout(r, 5)); // the repeat deno task sends
      try {
        run.child.kill("SIGINT");
      } catch { /* already exited: fine, it must still have exited 0 */ }
      const { code, stdout, stderr } = await run.finish();
      assert.equal(code, 0, stderr);
      assert.match(stdout, /=== default \(pingpong\) ===/);
      assert.match(stdout, /Unfinished:\s+2 /);
      assert.match(stderr, /stopped early/);
    } finally {
      await silent.close();
    }
  },
);
