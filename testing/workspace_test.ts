import assert from "node:assert/strict";
import { SERVICE_V8_FLAGS } from "@monkey/shared";
import { requires, runDeno } from "./mod.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const MEMBERS = ["./shared", "./testing", "./echo", "./proxy", "./load_tester", "./load_balancer"];

function rootConfig(): {
  workspace: string[];
  imports: Record<string, string>;
  tasks: Record<string, { command: string }>;
} {
  return JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`));
}

Deno.test(
  "the workspace has its six members, npm-only imports, and explicit task permissions",
  requires("read"),
  () => {
    const config = rootConfig();
    assert.deepEqual(config.workspace, MEMBERS);
    for (const [name, specifier] of Object.entries(config.imports)) {
      assert.ok(specifier.startsWith("npm:"), `${name} comes from npm, not ${specifier}`);
    }
    for (
      const task of [
        "echo",
        "proxy",
        "start",
        "lb",
        "load-test",
        "test",
        "check",
        "fmt",
        "bench",
        "compile",
      ]
    ) {
      assert.ok(config.tasks[task], `task ${task}`);
    }
    for (const [name, task] of Object.entries(config.tasks)) {
      assert.ok(
        !/(^|\s)(-A|--allow-all)(\s|$)/.test(task.command),
        `task ${name} grants explicit permissions`,
      );
    }
  },
);

Deno.test(
  "the service tasks and the service binaries run V8 with SERVICE_V8_FLAGS (memory per connection)",
  requires("read"),
  () => {
    const { tasks } = rootConfig();
    const flag = `--v8-flags=${SERVICE_V8_FLAGS}`;
    for (const name of ["echo", "proxy", "lb"]) {
      assert.match(tasks[name]!.command, new RegExp(`^deno run ${flag} `), `task ${name}`);
    }
    const compiles = tasks.compile!.command.split(" && ");
    for (const service of ["echo", "proxy", "lb"]) {
      const line = compiles.find((c) => c.includes(`dist/monkey-${service} `));
      assert.ok(line?.startsWith(`deno compile ${flag} `), `compile of monkey-${service}: ${line}`);
    }
  },
);

const denort = (() => {
  try {
    return Deno.env.get("DENORT_BIN");
  } catch {
    return undefined;
  }
})();

Deno.test({
  name: "deno task compile builds runnable binaries of every service " +
    "(ignored unless DENORT_BIN names a local denort: deno compile cannot download it here)",
  ignore: denort === undefined || requires("run", "read", "write", "env").ignore,
  async fn() {
    const { code, stderr } = await runDeno(["task", "compile"], ROOT);
    assert.equal(code, 0, stderr);
    for (const binary of ["monkey-echo", "monkey-proxy", "monkey-lb", "monkey-load-test"]) {
      const out = await new Deno.Command(`${ROOT}dist/${binary}`, { args: ["--help"] }).output();
      assert.equal(out.code, 0, `${binary} --help`);
      assert.match(new TextDecoder().decode(out.stdout), /Usage:/);
    }
  },
});
