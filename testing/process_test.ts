import { requires } from "./permissions.ts";
import assert from "node:assert/strict";
import { spawnLines } from "./process.ts";

const NEEDS = requires("run");

Deno.test(
  "spawnLines() collects lines, waits for a pattern, and stops the child",
  NEEDS,
  async () => {
    await using proc = spawnLines(Deno.execPath(), [
      "eval",
      "console.log('ready on 127.0.0.1:1234'); console.error('warned'); setInterval(() => {}, 1000);",
    ]);
    const match = await proc.waitForLine(/ready on (\S+)/);
    assert.equal(match[1], "127.0.0.1:1234");
    await proc.waitForLine(/warned/);
    const status = await proc.stop("SIGTERM");
    assert.equal(status.success, false);
    assert.equal(status.signal, "SIGTERM");
  },
);

Deno.test(
  "spawnLines().waitForLine() rejects when the child exits without the line",
  NEEDS,
  async () => {
    await using proc = spawnLines(Deno.execPath(), ["eval", "console.log('bye')"]);
    await assert.rejects(proc.waitForLine(/never/), /exited before printing/);
  },
);
