import { requires } from "@monkey/testing";
import assert from "node:assert/strict";
import { loadTestCli } from "./cli.ts";
import { cliFixture, runLoadTester } from "./_testing.ts";

const NEEDS = requires("run", "read", "write", "env", "sys");
const cli = (args: string[], env: Record<string, string> = {}) =>
  runLoadTester(["--config", "/dev/null", ...args], env);

Deno.test(
  "CLI: bad --shard specs and auto without JOB_COMPLETION_INDEX exit 2 with one line",
  NEEDS,
  async () => {
    const runs = await Promise.all(
      ["2/2", "x/2", "0/0", "auto/2"].map((spec) => cli(["--shard", spec, "-d", "0.1"])),
    );
    for (const [i, run] of runs.entries()) {
      assert.equal(run.code, 2, run.stderr);
      assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
      assert.match(run.stderr, /--shard/, `spec ${i}`);
    }
    assert.match(runs[0]!.stderr, /I must be 0\.\.1 for N = 2 \(0-based.*got '2\/2'$/m);
    assert.match(runs[3]!.stderr, /JOB_COMPLETION_INDEX/);
    const outOfRange = await cli(["--shard", "auto/2", "-d", "0.1"], { JOB_COMPLETION_INDEX: "5" });
    assert.equal(outOfRange.code, 2);
    assert.match(outOfRange.stderr, /must be 0\.\.1 for auto\/2, got '5'/);
  },
);

Deno.test(
  "CLI: --shard 0/2 and 1/2 merge into one report with per-shard rows; a shard twice exits 2",
  NEEDS,
  async () => {
    await using fixture = await cliFixture(["-c", "3", "-d", "0.3"]);
    const dir = fixture.dir;
    const common = [...fixture.base, "--progress=false", "--format", "json", "--start-at", "+0.3s"];
    const err: string[] = [];
    const stderr = (t: string) => void err.push(t);
    const codes = await Promise.all(
      [0, 1].map((i) =>
        loadTestCli([...common, "--shard", `${i}/2`, "--out", `${dir}/${i}.json`], { stderr })
      ),
    );
    assert.deepEqual(codes, [0, 0], err.join(""));
    const shard0 = JSON.parse(await Deno.readTextFile(`${dir}/0.json`));
    assert.deepEqual(shard0.shard, { index: 0, count: 2 });
    assert.equal(shard0.scenarios[0].connections, 2, "shard 0 takes the remainder");
    assert.deepEqual(shard0.scenarios[0].shard.totals, { connections: 3, rate: 0 });
    assert.equal(typeof shard0.start.planned, "string");
    const firstLines = err.join("").split("\n").filter((l) => l.startsWith("load test:"));
    assert.deepEqual(firstLines.map((l) => /shard (\d\/\d) \(0-based\)/.exec(l)?.[1]).sort(), [
      "0/2",
      "1/2",
    ]);
    let table = "";
    const code = await loadTestCli([
      "merge",
      `${dir}/0.json`,
      `${dir}/1.json`,
      "--config",
      "/dev/null",
    ], {
      stdout: (t) => void (table += t),
      stderr,
    });
    assert.equal(code, 0);
    assert.match(table, /\ndefault\s+3\s.*\n↳ shard 0\/2\s+2\s.*\n↳ shard 1\/2\s+1\s/);
    err.length = 0;
    assert.equal(
      await loadTestCli(["merge", `${dir}/1.json`, "--config", "/dev/null"], {
        stdout: () => {},
        stderr,
      }),
      0,
    );
    assert.match(err.join(""), /^merge: missing shards 0\/2 \(merged 1 of 2\)/m);
    await assert.rejects(
      loadTestCli(["merge", `${dir}/0.json`, `${dir}/0.json`, "--config", "/dev/null"], {
        stderr,
      }),
      /twice/,
    );
  },
);
