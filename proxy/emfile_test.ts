import assert from "node:assert/strict";
import { startEcho } from "@monkey/echo";
import { spawnLines } from "@monkey/testing";
import { dial, readExactly, requires, writeAll } from "@monkey/testing";

const ROOT = new URL("../", import.meta.url).pathname;
/** Descriptors the proxy process may hold: enough to start, far fewer than the clients. */
const MAX_FILES = 48;
const CLIENTS = 80;
/** The back-off tops out at 1 s; recovery must come well within this. */
const RECOVER_MS = 10_000;

Deno.test({
  name:
    "proxy out of descriptors (ulimit -n 48) backs off on EMFILE, counts it, and serves again once they are free",
  ...requires("run", "read", "env"),
  fn: async () => {
    const echo = startEcho({ listen_addr: "127.0.0.1:0", metrics_addr: "off" });
    // `bash -c 'ulimit -n N; exec deno …'`: the service runs with a small descriptor table.
    await using proxy = spawnLines("bash", [
      "-c",
      `ulimit -n ${MAX_FILES} && exec "$0" "$@"`,
      Deno.execPath(),
      "run",
      "--allow-net",
      "--allow-read",
      "proxy/main.ts",
      "--listen",
      "127.0.0.1:0",
      "--target",
      echo.addr,
      "--metrics",
      "127.0.0.1:0",
      "--metrics-log-interval-secs",
      "0",
    ], { cwd: ROOT });
    const [, addr, metrics] = await proxy.waitForLine(
      /proxying (\S+) -> .*metrics on http:\/\/(\S+)\/metrics/,
    );
    const clients: Deno.TcpConn[] = [];
    try {
      // Clients connect (the kernel completes the handshake) until accept() fails.
      for (let i = 0; i < CLIENTS; i++) {
        const conn = await dial(addr!);
        clients.push(conn);
        await writeAll(conn, new Uint8Array([i]));
      }
      await proxy.waitForLine(/accept failed .*(Too many open files|os error 24)/, 10_000);
    } finally {
      for (const conn of clients) conn.close();
    }
    // Descriptors are free again: the back-off retries and a new client is served end to end.
    const conn = await dial(addr!);
    // Without the back-off the accept loop would be dead and this read would hang: bound it.
    const deadline = setTimeout(() => conn.close(), RECOVER_MS);
    try {
      await writeAll(conn, new TextEncoder().encode("again"));
      const back = await readExactly(conn, 5);
      assert.equal(new TextDecoder().decode(back), "again");
    } finally {
      clearTimeout(deadline);
      try {
        conn.close();
      } catch {
        // Closed by the deadline.
      }
    }
    const json = await (await fetch(`http://${metrics}/metrics?format=json`)).json();
    assert.ok(json.accept_errors > 0, `accept_errors ${json.accept_errors}`);
    assert.equal((await proxy.stop("SIGTERM")).code, 0);
    assert.ok(
      !proxy.lines.some((l) => /Uncaught|error: |at .*\.ts:\d+/.test(l)),
      proxy.lines.join("\n"),
    );
    const warnings = proxy.lines.filter((l) => /accept failed/.test(l));
    assert.ok(
      warnings.length <= 2,
      `accept failures are logged throttled:\n${warnings.join("\n")}`,
    );
    await echo.shutdown(1000);
  },
});
