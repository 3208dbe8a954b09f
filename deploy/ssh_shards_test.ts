import assert from "node:assert/strict";
import { requires } from "@monkey/testing";

const SCRIPT = new URL("./ssh_shards.sh", import.meta.url).pathname;
const ROOT = new URL("..", import.meta.url).pathname;

/** A stub command that logs its name and arguments, one line per call, and succeeds. */
const STUB = `#!/bin/sh
echo "$(basename "$0") $*" >> "$STUB_LOG"
`;

Deno.test({
  name: "ssh_shards.sh gives hosts shards 0/N..N-1/N in order and merges shard-0..N-1.json" +
    (Deno.build.os === "windows" ? " (skipped: needs sh)" : ""),
  ...(Deno.build.os === "windows" ? { ignore: true } : requires("run", "read", "write", "env")),
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.mkdir(`${dir}/bin`);
      for (const name of ["ssh", "scp", "deno"]) {
        await Deno.writeTextFile(`${dir}/bin/${name}`, STUB, { mode: 0o755 });
      }
      const log = `${dir}/calls.log`;
      const out = await new Deno.Command("sh", {
        args: [SCRIPT, "-c", "load_test.toml", "-w", "1", "hostA", "hostB", "hostC"],
        cwd: ROOT,
        env: { PATH: `${dir}/bin:${Deno.env.get("PATH")}`, STUB_LOG: log, TMPDIR: dir },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, stderr);
      assert.match(stderr, /^3 shards of load_test\.toml/);
      const calls = (await Deno.readTextFile(log)).trim().split("\n");
      const runs = calls.filter((c) => c.startsWith("ssh "));
      assert.equal(runs.length, 3, calls.join("\n"));
      for (const [k, host] of ["hostA", "hostB", "hostC"].entries()) {
        const run = runs.find((c) => c.startsWith(`ssh ${host} `));
        assert.ok(run, `no ssh to ${host}`);
        assert.match(run, new RegExp(`--shard ${k}/3 `), run);
        assert.match(run, new RegExp(`--out /tmp/monkey-shard-${k}\\.json`), run);
        assert.ok(
          calls.some((c) =>
            c.startsWith(`scp -q ${host}:/tmp/monkey-shard-${k}.json `) &&
            c.endsWith(`/shard-${k}.json`)
          ),
          `shard ${k} is copied back from ${host}`,
        );
      }
      const merges = calls.filter((c) => c.startsWith("deno task load-test merge "));
      assert.equal(merges.length, 2, calls.join("\n"));
      for (const merge of merges) {
        const files = [...merge.matchAll(/shard-(\d+)\.json/g)].map((m) => m[1]);
        assert.deepEqual(files, ["0", "1", "2"], merge);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
