import assert from "node:assert/strict";
import { dial, readExactly, requires, spawnLines, writeAll } from "@monkey/testing";

const DEMO = new URL("./demo.ts", import.meta.url).pathname;

Deno.test(
  "deno task demo: three echo servers, the LB and the proxy answer through one entry, logs prefixed by service, one SIGINT stops all",
  requires("run", "read"),
  async () => {
    await using demo = spawnLines(Deno.execPath(), [
      "run",
      "--allow-run",
      "--allow-read",
      DEMO,
      "--any-port",
    ]);
    const [, entry] = await demo.waitForLine(/^\[demo\] ready: (\S+) \(proxy\)/, 20_000);
    for (const name of ["echo-1", "echo-2", "echo-3", "lb", "proxy"]) {
      assert.ok(demo.lines.some((l) => l.startsWith(`[${name}] `)), `${name} lines prefixed`);
    }
    const message = new TextEncoder().encode("hello through the demo\n");
    for (let i = 0; i < 3; i++) {
      const conn = await dial(entry!);
      await writeAll(conn, message);
      assert.deepEqual(await readExactly(conn, message.length), message);
      conn.close();
    }
    const status = await demo.stop("SIGINT");
    assert.equal(status.code, 0, demo.lines.join("\n"));
    for (const name of ["echo-1", "echo-2", "echo-3", "lb", "proxy"]) {
      assert.ok(
        demo.lines.some((l) => new RegExp(`^\\[${name}\\] .*stopped after`).test(l)),
        `${name} stopped: ${demo.lines.join("\n")}`,
      );
    }
  },
);
