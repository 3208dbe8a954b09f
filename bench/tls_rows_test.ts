import assert from "node:assert/strict";
import { requires } from "@monkey/testing";
import { parseBenchArgs } from "./args.ts";
import { haproxyConfig } from "./haproxy.ts";
import { startOurEcho } from "./ours.ts";
import { ProcessGroup } from "./process_group.ts";
import { renderTls, tlsTermination } from "./tls_rows.ts";

Deno.test("haproxyConfig() terminates TLS with 'ssl crt' only when given a PEM file", () => {
  assert.match(haproxyConfig(3000, "127.0.0.1:8081"), /\n {2}bind 127\.0\.0\.1:3000\n/);
  assert.match(
    haproxyConfig(3000, "127.0.0.1:8081", "/tmp/x/haproxy.pem"),
    /\n {2}bind 127\.0\.0\.1:3000 ssl crt \/tmp\/x\/haproxy\.pem\n/,
  );
});

Deno.test(
  "tlsTermination() runs TLS ping-pong through our proxy and LB (and HAProxy, nginx when installed)",
  requires("run", "read", "write", "env", "sys"),
  async () => {
    await using group = new ProcessGroup();
    const backend = await startOurEcho(group);
    const options = parseBenchArgs(["--quick", "--reps", "1", "--secs", "0.3"]);
    const rows = await tlsTermination(group, backend, options);
    const names = rows.map((r) => r.target);
    assert.deepEqual(names.slice(0, 2), ["proxy-tls", "lb-tls"]);
    for (const row of rows) {
      // The client verifies the certificate and every echoed byte: requests mean TLS worked.
      assert.ok(row.cell.rps > 0, `${row.target}: no request`);
      assert.equal(row.cell.errors, 0, row.target);
    }
    // Our services say which engine really ran: TLS forces the deno engine.
    assert.equal(rows[0]!.engine, "deno (TLS needs it)");
    assert.equal(rows[1]!.engine, "deno (TLS needs it)");
    const text = renderTls(rows);
    assert.match(text, /\| proxy-tls +\| deno \(TLS needs it\) +\| \d+ +\|/);
    if (names.includes("haproxy-tls")) {
      assert.match(text, /\| haproxy-tls +\| - +\| \d+ .*1\.00x/);
    } else console.log("note: haproxy is not installed: its TLS row was not tried");
  },
);
