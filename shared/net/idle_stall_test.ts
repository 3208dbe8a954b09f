import assert from "node:assert/strict";
import {
  dial,
  echoUntilEof,
  readExactly,
  startPeer,
  testEachEngine,
  writeAll,
} from "@monkey/testing";
import { connectTcp } from "./connect.ts";
import { resolveEngine } from "./engine.ts";
import { TcpServer } from "./server.ts";

const IDLE_MS = 300;
const STALL_MS = 1000;

/** Block this thread, as a long GC pause or a starved process would. */
function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Busy: no timer, no I/O runs meanwhile.
  }
}

testEachEngine(
  "a stall of the whole process does not count as idleness: the relay stays open",
  async ({ engine: name }) => {
    const engine = resolveEngine(name);
    await using peer = startPeer((conn) => echoUntilEof(conn));
    let reason = "";
    const server = new TcpServer({
      listen: "127.0.0.1:0",
      engine,
      handler: async (client, signal) => {
        const upstream = await connectTcp(peer.addr, { engine, signal });
        reason = (await engine.relay(client, upstream, { idleTimeoutMs: IDLE_MS, signal })).reason;
      },
    });
    const conn = await dial(server.addr);
    try {
      const ping = new TextEncoder().encode("ping");
      await writeAll(conn, ping);
      await readExactly(conn, 4);
      const third = () => new Promise((resolve) => setTimeout(resolve, IDLE_MS / 3));
      await third();
      stall(STALL_MS);
      // Quiet for a third of the idle timeout on each side of the stall (timers run meanwhile),
      // then traffic: only the stall made it look idle, so the connection is still open.
      await third();
      await writeAll(conn, ping);
      assert.deepEqual(await readExactly(conn, 4), ping);
      assert.equal(reason, "", "the relay is still running");
    } finally {
      conn.close();
      await server.shutdown(1000);
    }
  },
);
