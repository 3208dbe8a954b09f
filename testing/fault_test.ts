import assert from "node:assert/strict";
import { connectTcp, type Engine, type NetConn, resolveEngine } from "@monkey/shared";
import {
  FAULT_KINDS,
  formatFaultReport,
  openFds,
  runFaultSuite,
  startFaultUpstream,
} from "./fault.ts";
import { safeClose } from "@monkey/shared";
import { TcpServer } from "@monkey/shared";
import { dial, readExactly, requires, testEachEngine, writeAll } from "./mod.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

/** A relay service built from the shared core only: what the harness expects to pass. */
function miniRelay(engine: Engine, target: string, maxConnections = 0): TcpServer {
  return new TcpServer({
    listen: "127.0.0.1:0",
    maxConnections,
    engine,
    handler: async (client, signal) => {
      let upstream: NetConn;
      try {
        upstream = await connectTcp(target, { timeoutMs: 1000, signal, engine });
      } catch {
        safeClose(client);
        return;
      }
      await engine.relay(client, upstream, { idleTimeoutMs: 500, signal });
    },
  });
}

/** A relay with the bugs the suite exists to catch: it truncates and leaks the upstream. */
function brokenRelay(engine: Engine, target: string, cutAt: number): TcpServer {
  const leaked: NetConn[] = [];
  const server = new TcpServer({
    listen: "127.0.0.1:0",
    engine,
    handler: async (client) => {
      const upstream = await connectTcp(target, { engine });
      leaked.push(upstream);
      const up = (async () => {
        const buf = new Uint8Array(16 * KiB);
        for (;;) {
          const n = await client.read(buf).catch(() => null);
          if (n === null) return;
          await writeAll(upstream, buf.subarray(0, n)).catch(() => {});
        }
      })();
      const buf = new Uint8Array(16 * KiB);
      let sent = 0;
      while (sent < cutAt) {
        const n = await upstream.read(buf).catch(() => null);
        if (n === null) break;
        const part = buf.subarray(0, Math.min(n, cutAt - sent));
        await writeAll(client, part).catch(() => {});
        sent += part.length;
      }
      safeClose(client); // a FIN where the stream was cut: silent truncation
      await up;
      // ...and the upstream is never closed.
    },
  });
  return Object.assign(server, { leaked });
}

function dead(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const addr = `127.0.0.1:${listener.addr.port}`;
  listener.close();
  return addr;
}

Deno.test({
  name: "startFaultUpstream() echoes, stores and forwards, and floods as the header asks",
  fn: async () => {
    await using upstream = startFaultUpstream();
    const conn = await dial(upstream.addrs[0]!);
    const head = new Uint8Array(9);
    head[0] = "E".charCodeAt(0);
    await writeAll(conn, head);
    await writeAll(conn, new Uint8Array([1, 2, 3]));
    assert.deepEqual([...await readExactly(conn, 3)], [1, 2, 3]);
    conn.close();
    const flood = await dial(upstream.addrs[0]!);
    const fhead = new Uint8Array(9);
    fhead[0] = "F".charCodeAt(0);
    new DataView(fhead.buffer).setUint32(5, 1000);
    await writeAll(flood, fhead);
    assert.equal((await readExactly(flood, 1000)).length, 1000);
    assert.equal(await flood.read(new Uint8Array(1)), null, "the flood ends with a FIN");
    flood.close();
    assert.equal(upstream.flooded, 1000);
  },
});

testEachEngine(
  "runFaultSuite() passes a relay built from TcpServer, connectTcp and the engine's relay",
  async ({ engine: name }) => {
    const engine = resolveEngine(name);
    await using upstream = startFaultUpstream();
    const main = miniRelay(engine, upstream.addrs[0]!);
    const deadRelay = miniRelay(engine, dead());
    const limited = miniRelay(engine, upstream.addrs[0]!, 2);
    try {
      const report = await runFaultSuite(
        {
          main: { addr: main.addr, active: () => main.active },
          dead: { addr: deadRelay.addr, active: () => deadRelay.active },
          limited: { addr: limited.addr, active: () => limited.active, limit: 2 },
        },
        upstream,
        {
          connections: 300,
          concurrency: 60,
          stalledReaders: 4,
          stalledFloodBytes: 16 * MiB,
          seed: 42,
        },
      );
      console.log(formatFaultReport(report, "mini relay"));
      assert.deepEqual(report.failures, []);
      assert.deepEqual(report.unhandled, []);
      assert.equal(report.seed, 42);
      assert.equal(report.connections, 300);
      for (const kind of FAULT_KINDS) assert.ok(report.byKind[kind] > 0, kind);
      assert.ok(report.bytesVerified > MiB);
      assert.equal(report.fds.after, report.fds.before);
      assert.ok(report.rss.floodedBytes < 4 * 16 * MiB, "backpressure held the floods");
    } finally {
      await Promise.all([main.shutdown(0), deadRelay.shutdown(0), limited.shutdown(0)]);
    }
  },
  requires("read", "run"),
);

testEachEngine(
  "runFaultSuite() reports truncation, leaked connections and descriptors of a broken relay",
  async ({ engine }) => {
    await using upstream = startFaultUpstream();
    const fdsAtStart = await openFds();
    const broken = brokenRelay(resolveEngine(engine), upstream.addrs[0]!, 100 * KiB);
    try {
      const report = await runFaultSuite(
        {
          main: { addr: broken.addr, active: () => broken.active },
        },
        upstream,
        {
          connections: 60,
          concurrency: 20,
          deadlineMs: 2000,
          mix: { normal: 1, half_close: 1, upstream_silent: 0, client_vanish: 0 },
          maxSize: 300 * KiB,
          stalledReaders: 1,
          stalledFloodBytes: MiB,
          settleMs: 200,
          seed: 7,
        },
      );
      assert.ok(
        report.failures.some((f) => /silently truncated|EOF after/.test(f)),
        report.failures.join("\n"),
      );
      assert.ok(
        report.failures.some((f) => /upstream open: [1-9]/.test(f)),
        "leaked upstream connections are reported",
      );
      assert.ok(report.fds.after > report.fds.before, "leaked descriptors are reported");
    } finally {
      for (const conn of (broken as unknown as { leaked: NetConn[] }).leaked) safeClose(conn);
      await broken.shutdown(0);
    }
    await upstream.close();
    assert.ok(await openFds() <= fdsAtStart);
  },
  requires("read", "run"),
);
