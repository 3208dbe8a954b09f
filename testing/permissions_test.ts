import assert from "node:assert/strict";
import { requires } from "./permissions.ts";
import { runDeno } from "./process.ts";

const SCRIPT = new URL("./testdata/requires_note.ts", import.meta.url).pathname;

Deno.test(
  "requires() ignores a test whose permission is missing and says why, once",
  requires("run", "read"),
  async () => {
    const out = await runDeno(["run", "--no-prompt", SCRIPT], ".");
    assert.equal(out.code, 0, out.stderr);
    assert.equal(
      out.stdout,
      "note: tests needing --allow-run --allow-read are ignored here: not granted; `deno task test` grants them\n" +
        '[{"ignore":true},{"ignore":true}]\n',
    );
  },
);
