import assert from "node:assert/strict";
import { dial, readExactly, requires, writeAll } from "@monkey/testing";
import {
  ECHO_ROWS,
  engineLabelOf,
  OUR_ROWS,
  rowsFor,
  SERVE_PERMISSIONS,
  startOurEcho,
  startOurs,
  startOursByLabel,
  toFlags,
} from "./ours.ts";
import { ProcessGroup } from "./process_group.ts";

Deno.test("toFlags() turns config keys into the services' --kebab-case=value flags", () => {
  assert.deepEqual(toFlags({ metrics_addr: "off", workers: 2, relay: "streams" }), [
    "--metrics-addr=off",
    "--workers=2",
    "--relay=streams",
  ]);
});

Deno.test("OUR_ROWS and ECHO_ROWS have unique labels and a row per engine for each service", () => {
  const labels = [...OUR_ROWS, ...ECHO_ROWS].map((row) => row.label);
  assert.equal(new Set(labels).size, labels.length);
  for (const service of ["proxy", "lb", "echo"] as const) {
    for (const engine of ["epoll", "deno"] as const) {
      const label = engineLabelOf(service, engine);
      const row = [...OUR_ROWS, ...ECHO_ROWS].find((r) => r.label === label);
      assert.ok(row, `no row ${label}`);
      assert.equal(row.config.engine, engine, label);
      assert.equal(row.config["workers"], undefined, `${label} is the single-threaded row`);
    }
  }
  // The deno engine's two relays, and two workers on epoll for both services.
  const find = (label: string) => OUR_ROWS.find((r) => r.label === label)?.config;
  assert.deepEqual(find("proxy-deno"), { engine: "deno", relay: "loop" });
  assert.deepEqual(find("proxy-deno-streams"), { engine: "deno", relay: "streams" });
  assert.deepEqual(find("proxy-2w"), { engine: "epoll", workers: 2 });
  assert.deepEqual(find("lb-2w"), { engine: "epoll", workers: 2 });
});

Deno.test("rowsFor() drops the epoll rows where only the deno engine runs", () => {
  assert.deepEqual(rowsFor(OUR_ROWS, ["deno"]).map((r) => r.label), [
    "proxy-deno",
    "proxy-deno-streams",
    "lb-deno",
  ]);
  assert.deepEqual(rowsFor(ECHO_ROWS, ["deno"]).map((r) => r.label), ["echo-deno"]);
  assert.equal(rowsFor(OUR_ROWS, ["epoll", "deno"]).length, OUR_ROWS.length);
});

Deno.test('serve.ts runs with --allow-ffi, so a row\'s engine = "epoll" can start', () => {
  assert.ok(SERVE_PERMISSIONS.includes("--allow-ffi"));
});

Deno.test(
  "startOurs() runs a row on each engine through bench/serve.ts: bytes go proxy -> echo and back",
  requires("run", "read"),
  async () => {
    await using group = new ProcessGroup();
    // epoll is Linux only; elsewhere the deno rows still run.
    const engines = Deno.build.os === "linux" ? ["epoll", "deno"] as const : ["deno"] as const;
    const echo = await startOurEcho(group, rowsFor(ECHO_ROWS, engines)[0]!);
    for (const row of rowsFor(OUR_ROWS, engines).filter((r) => r.service === "proxy")) {
      const proxy = await startOurs(group, row, echo.addr, { metrics_addr: "127.0.0.1:0" });
      assert.equal(proxy.name, row.label);
      assert.match(proxy.addr, /^127\.0\.0\.1:\d+$/);
      assert.match(proxy.metricsAddr ?? "", /^127\.0\.0\.1:\d+$/, "banner names the endpoint");
      const conn = await dial(proxy.addr);
      const message = new TextEncoder().encode(`monkey bench via ${row.label}`);
      await writeAll(conn, message);
      assert.deepEqual(await readExactly(conn, message.length), message, row.label);
      conn.close();
      await proxy.stop();
    }
    assert.throws(
      () => startOursByLabel(group, "no-such-row", echo.addr),
      /Cannot start row 'no-such-row': expected one of proxy-epoll, proxy-deno, /,
    );
  },
);
