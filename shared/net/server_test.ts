import assert from "node:assert/strict";
import { type EngineChoice, resolveEngine } from "./engine.ts";
import { TcpServer, type TcpServerOptions } from "./server.ts";
import { dial, readOutcome, testEachEngine } from "@monkey/testing";

/** A server on 127.0.0.1 port 0 (unless `options.listen` says otherwise) with this engine. */
function serve(
  engine: EngineChoice,
  options: Omit<TcpServerOptions, "listen"> & { listen?: string },
): TcpServer {
  return new TcpServer({ listen: "127.0.0.1:0", engine: resolveEngine(engine), ...options });
}

/** A server and one client, returned once the handler has it. */
async function serveOne(
  engine: EngineChoice,
  handler: TcpServerOptions["handler"],
): Promise<{ server: TcpServer; client: Deno.TcpConn }> {
  const open = Promise.withResolvers<void>();
  const server = serve(engine, {
    handler: (conn, signal) => {
      open.resolve();
      return handler(conn, signal);
    },
  });
  const client = await dial(server.addr);
  await open.promise;
  return { server, client };
}

testEachEngine(
  "TcpServer closes connections over maxConnections at once and counts them",
  async ({ engine }) => {
    let rejected = 0;
    const release = Promise.withResolvers<void>();
    const bothOpen = Promise.withResolvers<void>();
    let opened = 0;
    const server = serve(engine, {
      maxConnections: 2,
      onReject: () => rejected++,
      handler: async (conn) => {
        if (++opened === 2) bothOpen.resolve();
        await release.promise;
        conn.close();
      },
    });
    const held = [await dial(server.addr), await dial(server.addr)];
    await bothOpen.promise;
    const extra = await dial(server.addr);
    assert.equal(await readOutcome(extra), "eof");
    assert.equal(rejected, 1);
    release.resolve();
    for (const conn of held) assert.equal(await readOutcome(conn), "eof");
    extra.close();
    held.forEach((c) => c.close());
    await server.shutdown(0);
  },
);

testEachEngine(
  "TcpServer.shutdown() waits for live connections, then forces the rest",
  async ({ engine }) => {
    const { server, client } = await serveOne(engine, async (conn, signal) => {
      const closed = Promise.withResolvers<void>();
      signal.addEventListener("abort", () => closed.resolve(), { once: true });
      await closed.promise;
      conn.close();
    });
    const started = performance.now();
    const { forced } = await server.shutdown(100);
    assert.ok(performance.now() - started >= 90, "waited for the grace period");
    assert.equal(forced, 1);
    assert.equal(await readOutcome(client), "eof");
    assert.equal(server.accepting, false);
    await assert.rejects(dial(server.addr));
    client.close();
  },
);

testEachEngine(
  "TcpServer.shutdown() returns as soon as the last connection ends",
  async ({ engine }) => {
    const { server, client } = await serveOne(engine, async (conn) => {
      await readOutcome(conn);
      conn.close();
    });
    const done = server.shutdown(30_000);
    client.close();
    const { forced } = await done;
    assert.equal(forced, 0);
  },
);

testEachEngine(
  "TcpServer closes connections its admit check refuses before the handler and the limit",
  async ({ engine }) => {
    const handled: string[] = [];
    let refuse = true;
    let rejected = 0;
    const server = serve(engine, {
      maxConnections: 1,
      onReject: () => rejected++,
      admit: () => {
        if (refuse) return false;
        throw new Error("filter bug");
      },
      handler: (conn) => {
        handled.push("called");
        conn.close();
        return Promise.resolve();
      },
    });
    for (let i = 0; i < 3; i++) {
      const conn = await dial(server.addr);
      assert.equal(await readOutcome(conn), "eof");
      conn.close();
    }
    refuse = false;
    const conn = await dial(server.addr);
    assert.equal(await readOutcome(conn), "eof", "a throwing check refuses too");
    conn.close();
    assert.deepEqual(handled, []);
    assert.equal(rejected, 0, "refused clients do not count against max_connections");
    assert.equal(server.active, 0);
    await server.shutdown(0);
  },
);

testEachEngine(
  "TcpServer listens on IPv6 and hands the handler the client's ::1 address",
  async ({ engine }) => {
    const seen = Promise.withResolvers<Deno.NetAddr>();
    const server = serve(engine, {
      listen: "[::1]:0",
      handler: (conn) => {
        seen.resolve(conn.remoteAddr as Deno.NetAddr);
        conn.close();
        return Promise.resolve();
      },
    });
    assert.match(server.addr, /^\[::1\]:\d+$/);
    const client = await dial(server.addr);
    const remote = await seen.promise;
    assert.equal(remote.hostname, "::1");
    assert.equal(remote.port, (client.localAddr as Deno.NetAddr).port);
    assert.equal(remote.transport, "tcp");
    assert.equal(await readOutcome(client), "eof");
    client.close();
    await server.shutdown(0);
  },
);
