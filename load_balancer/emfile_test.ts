import assert from "node:assert/strict";
import { startEcho } from "@monkey/echo";
import { spawnLines } from "@monkey/testing";
import { dial, readExactly, requires, writeAll } from "@monkey/testing";

const ROOT = new URL("../", import.meta.url).pathname;
/** Descriptors the balancer process may hold: enough to start, far fewer than the clients. */
const MAX_FILES = 48;
const CLIENTS = 200;
/** The accept back-off tops out at 1 s; recovery must come well within this. */
const RECOVER_MS = 10_000;

Deno.test({
  name:
    "load balancer out of descriptors (ulimit -n 48) backs off, keeps its backend up, and serves once they are free",
  ...requires("run", "read", "env"),
  fn: async () => {
    const echo = startEcho({ listen_addr: "127.0.0.1:0", metrics_addr: "off" });
    await using lb = spawnLines("bash", [
      "-c",
      `ulimit -n ${MAX_FILES} && exec "$0" "$@"`,
      Deno.execPath(),
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-env=MONKEY_ADMIN_TOKEN",
      "load_balancer/main.ts",
      "--listen",
      "127.0.0.1:0",
      "--backend",
      echo.addr,
      "--metrics",
      "127.0.0.1:0",
      "--metrics-log-interval-secs",
      "0",
    ], { cwd: ROOT });
    const [, addr, metrics] = await lb.waitForLine(
      /balancing (\S+) .*metrics on http:\/\/(\S+)\/metrics/,
    );
    const clients: Deno.TcpConn[] = [];
    try {
      for (let i = 0; i < CLIENTS; i++) {
        const conn = await dial(addr!);
        clients.push(conn);
        await writeAll(conn, new Uint8Array([i]));
      }
      await lb.waitForLine(/accept failed .*(Too many open files|os error 24)/, RECOVER_MS);
    } finally {
      for (const conn of clients) conn.close();
    }
    // Its own shortage is not the backend's fault: the next client is served at once.
    const conn = await dial(addr!);
    const deadline = setTimeout(() => conn.close(), RECOVER_MS);
    try {
      await writeAll(conn, new TextEncoder().encode("again"));
      assert.equal(
        new TextDecoder().decode(await readExactly(conn, 5)),
        "again",
        lb.lines.join("\n"),
      );
    } finally {
      clearTimeout(deadline);
      try {
        conn.close();
      } catch {
        // Closed by the deadline.
      }
    }
    const json = await (await fetch(`http://${metrics}/metrics?format=json`)).json();
    assert.deepEqual(json.backends.map((b: { state: string }) => b.state), ["up"]);
    assert.ok(!lb.lines.some((l) => /is DOWN/.test(l)), lb.lines.join("\n"));
    assert.equal((await lb.stop("SIGTERM")).code, 0);
    await echo.shutdown(1000);
  },
});
