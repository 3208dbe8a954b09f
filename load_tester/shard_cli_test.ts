import { requires } from "@monkey/testing";
import assert from "node:assert/strict";
import { loadTestCli } from "./cli.ts";
import { echoServer } from "./_testing.ts";

const NEEDS = requires("run", "read", "write", "env", "sys");
const ROOT = new URL("..", import.meta.url).pathname;
const PERMS = ["--allow-net", "--allow-read", "--allow-write", "--allow-sys", "--allow-env"];

async function cli(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMS, "load_tester/main.ts", "--config", "/dev/null", ...args],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test(
  "CLI: bad --shard specs and auto without JOB_COMPLETION_INDEX exit 2 with one line",
  NEEDS,
  async () => {
    const runs = await Promise.all(
      ["3/2", "x/2", "0/0", "auto/2"].map((spec) => cli(["--shard", spec, "-d", "0.1"])),
    );
    for (const [i, run] of runs.entries()) {
      assert.equal(run.code, 2, run.stderr);
      assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
      assert.match(run.stderr, /--shard/, `spec ${i}`);
    }
    assert.match(runs[3]!.stderr, /JOB_COMPLETION_INDEX/);
    const outOfRange = await cli(["--shard", "auto/2", "-d", "0.1"], { JOB_COMPLETION_INDEX: "5" });
    assert.equal(outOfRange.code, 2);
    assert.match(outOfRange.stderr, /must be 0\.\.1 for auto\/2, got '5'/);
  },
);

Deno.test(
  "CLI: two --shard runs merge into one report with per-shard rows; a shard twice exits 2",
  NEEDS,
  async () => {
    const echo = echoServer();
    const dir = await Deno.makeTempDir();
    try {
      const base = ["--config", "/dev/null", "--target", echo.addr, "-c", "3", "-d", "0.3"];
      const common = [...base, "--progress=false", "--format", "json", "--start-at", "+0.3s"];
      const err: string[] = [];
      const stderr = (t: string) => void err.push(t);
      const codes = await Promise.all(
        [1, 2].map((i) =>
          loadTestCli([...common, "--shard", `${i}/2`, "--out", `${dir}/${i}.json`], { stderr })
        ),
      );
      assert.deepEqual(codes, [0, 0], err.join(""));
      const shard1 = JSON.parse(await Deno.readTextFile(`${dir}/1.json`));
      assert.deepEqual(shard1.shard, { index: 1, count: 2 });
      assert.deepEqual(shard1.scenarios[0].shard.totals, { connections: 3, rate: 0 });
      assert.equal(typeof shard1.start.planned, "string");
      let table = "";
      const code = await loadTestCli([
        "merge",
        `${dir}/1.json`,
        `${dir}/2.json`,
        "--config",
        "/dev/null",
      ], {
        stdout: (t) => void (table += t),
        stderr,
      });
      assert.equal(code, 0);
      assert.match(table, /\ndefault\s+3\s.*\n↳ shard 1\/2\s+2\s.*\n↳ shard 2\/2\s+1\s/);
      await assert.rejects(
        loadTestCli(["merge", `${dir}/1.json`, `${dir}/1.json`, "--config", "/dev/null"], {
          stderr,
        }),
        /twice/,
      );
    } finally {
      await echo.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
);
