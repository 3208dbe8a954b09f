import assert from "node:assert/strict";
import { dial, readExactly, requires, writeAll } from "@monkey/testing";
import { OUR_ROWS, startOurEcho, startOurs, startOursByLabel, toFlags } from "./ours.ts";
import { ProcessGroup } from "./process_group.ts";

Deno.test("toFlags() turns config keys into the services' --kebab-case=value flags", () => {
  assert.deepEqual(toFlags({ metrics_addr: "off", workers: 2, relay: "streams" }), [
    "--metrics-addr=off",
    "--workers=2",
    "--relay=streams",
  ]);
});

Deno.test("OUR_ROWS labels are unique and include the rows the extras and ratios use", () => {
  const labels = OUR_ROWS.map((row) => row.label);
  assert.equal(new Set(labels).size, labels.length);
  for (const label of ["proxy", "proxy-streams", "proxy-2w", "lb", "lb-2w"]) {
    assert.ok(labels.includes(label), label);
  }
});

Deno.test(
  "startOurs() runs a row through bench/serve.ts and the package: bytes go proxy -> echo and back",
  requires("run", "read"),
  async () => {
    const group = new ProcessGroup();
    try {
      const echo = await startOurEcho(group);
      const proxy = await startOurs(group, OUR_ROWS[0]!, echo.addr);
      assert.equal(proxy.name, "proxy");
      assert.match(proxy.addr, /^127\.0\.0\.1:\d+$/);
      const conn = await dial(proxy.addr);
      const message = new TextEncoder().encode("monkey bench");
      await writeAll(conn, message);
      assert.deepEqual(await readExactly(conn, message.length), message);
      conn.close();
      assert.throws(
        () => startOursByLabel(group, "no-such-row", echo.addr),
        /Cannot start row 'no-such-row': expected one of proxy, /,
      );
    } finally {
      await group.stopAll();
    }
  },
);
