import assert from "node:assert/strict";
import { ConfigError } from "@monkey/shared";
import {
  assertClosedWithoutData,
  assertEchoes,
  dial,
  echoUntilEof,
  requires,
  startPeer,
} from "@monkey/testing";
import { startServePair } from "./ours.ts";
import { ProcessGroup } from "./process_group.ts";
import { serve, SERVICES } from "./serve.ts";

Deno.test("serve() names the services it knows when given another", async () => {
  await assert.rejects(
    () => serve(["haproxy"]),
    (error) =>
      error instanceof ConfigError &&
      error.message === `Cannot serve: expected one of ${SERVICES.join(", ")}, got 'haproxy'`,
  );
  await assert.rejects(() => serve([]), /got ''/);
});

Deno.test(
  "startServePair() runs two proxies in one process, each with its own flags, stopped together",
  requires("run", "read", "write", "env", "sys"),
  async () => {
    // The proxies' target: an echo peer in this process.
    await using echo = startPeer((conn) => echoUntilEof(conn));
    await using group = new ProcessGroup();
    const common = ["--listen=127.0.0.1:0", "--metrics-addr=off", `--target-addr=${echo.addr}`];
    const [a, b] = await startServePair(
      group,
      "proxy",
      { label: "plain", flags: common },
      { label: "limited", flags: [...common, "--max-connections-per-client=1"] },
    );
    assert.equal(a.pid, b.pid);
    assert.notEqual(a.addr, b.addr);
    assert.deepEqual([a.name, b.name], ["plain", "limited"]);
    // Each instance keeps its own configuration: only the second refuses a second client.
    const held = [await dial(a.addr), await dial(b.addr)];
    for (const conn of held) await assertEchoes(conn, 64);
    const extra = await dial(a.addr);
    await assertEchoes(extra, 64);
    extra.close();
    await assertClosedWithoutData(b.addr);
    for (const conn of held) conn.close();
    await a.stop();
    // Stopping the first stops both.
    await assert.rejects(dial(b.addr), Deno.errors.ConnectionRefused);
  },
);
