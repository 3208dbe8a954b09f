import assert from "node:assert/strict";
import { readAll, readExactly, writeAll } from "@monkey/testing";
import { epollConnect, epollListen } from "./mod.ts";
import { IGNORE, loopStopped, openFds, registeredFds, resetClose, SKIP_NOTE } from "./_testing.ts";
import { acceptOne, epollConnectTo } from "./_testing_accept.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

Deno.test({
  name:
    `epollListen binds port 0 on 127.0.0.1 and ::1 and accepts with the peer's address${SKIP_NOTE}`,
  ignore: IGNORE,
  async fn() {
    const fds = openFds();
    for (const hostname of ["127.0.0.1", "::1"]) {
      const listener = epollListen({ hostname, port: 0 });
      assert.equal(listener.addr.transport, "tcp");
      assert.equal(listener.addr.hostname, hostname);
      assert.ok(listener.addr.port > 0, `real port, got ${listener.addr.port}`);
      const client = await Deno.connect({ hostname, port: listener.addr.port });
      const conn = await listener.accept();
      assert.deepEqual(conn.remoteAddr, { ...client.localAddr });
      assert.deepEqual(conn.localAddr, { ...client.remoteAddr });
      assert.ok(conn.fd > 2);
      conn.close();
      client.close();
      listener.close();
    }
    assert.equal(openFds(), fds);
  },
});

Deno.test({
  name: `epollListen reports a taken address as AddrInUse${SKIP_NOTE}`,
  ignore: IGNORE,
  fn() {
    const listener = epollListen({ hostname: "127.0.0.1", port: 0 });
    assert.throws(
      () => epollListen({ hostname: "127.0.0.1", port: listener.addr.port }),
      Deno.errors.AddrInUse,
    );
    listener.close();
  },
});

Deno.test({
  name: `accept() waits for a connection; close() rejects a pending accept() or read() with ` +
    `BadResource${SKIP_NOTE}`,
  ignore: IGNORE,
  async fn() {
    const listener = epollListen({ hostname: "127.0.0.1", port: 0 });
    const pending = listener.accept();
    const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    const conn = await pending;
    assert.equal(conn.remoteAddr.port, (client.localAddr as Deno.NetAddr).port);
    const waiting = listener.accept();
    listener.close();
    await assert.rejects(waiting, Deno.errors.BadResource);
    await assert.rejects(listener.accept(), Deno.errors.BadResource);
    assert.throws(() => listener.close(), Deno.errors.BadResource);
    const reading = conn.read(new Uint8Array(1));
    conn.close();
    await assert.rejects(reading, Deno.errors.BadResource);
    client.close();
    assert.equal(registeredFds(), 0);
    await loopStopped();
  },
});

Deno.test({
  name: `epollConnect to a port nobody listens on rejects with ConnectionRefused${SKIP_NOTE}`,
  ignore: IGNORE,
  async fn() {
    const fds = openFds();
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = probe.addr.port;
    probe.close();
    await assert.rejects(
      epollConnect({ hostname: "127.0.0.1", port }),
      (error: Error) => {
        assert.ok(error instanceof Deno.errors.ConnectionRefused, String(error));
        assert.match(error.message, /\(os error 111\)$/);
        assert.equal((error as Error & { code?: string }).code, "ECONNREFUSED");
        return true;
      },
    );
    assert.equal(openFds(), fds);
  },
});

Deno.test({
  name:
    `epollConnect aborted while the SYN hangs rejects with signal.reason and closes the fd${SKIP_NOTE}`,
  ignore: IGNORE,
  async fn() {
    // Backlog 0 holds one connection; the next SYN is dropped, so that connect hangs.
    const listener = epollListen({ hostname: "127.0.0.1", port: 0, backlog: 0 });
    const filler = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    const fds = openFds();
    const controller = new AbortController();
    const reason = new Error("test abort");
    const attempt = epollConnect({
      hostname: "127.0.0.1",
      port: listener.addr.port,
      signal: controller.signal,
    });
    queueMicrotask(() => controller.abort(reason));
    await assert.rejects(attempt, (error) => error === reason);
    await loopStopped();
    assert.equal(openFds(), fds);
    await assert.rejects(
      epollConnect({ hostname: "127.0.0.1", port: 1, signal: controller.signal }),
      (error) => error === reason,
    );
    filler.close();
    listener.close();
  },
});

Deno.test({
  name: `EpollConn reads, writes, closeWrite()s and closes like a Deno.TcpConn${SKIP_NOTE}`,
  ignore: IGNORE,
  async fn() {
    const { accepted: server, peer: client } = await acceptOne(epollConnectTo, "localhost");
    assert.deepEqual(client.remoteAddr, server.localAddr);
    client.setNoDelay(false);
    client.setNoDelay();

    const big = new Uint8Array(4 * 1024 * 1024).map((_, i) => i % 251);
    const reading = readExactly(server, big.length);
    await writeAll(client, big); // more than the socket buffers: write() waits for EPOLLOUT
    assert.deepEqual(await reading, big);

    await writeAll(server, encoder.encode("pong"));
    await server.closeWrite();
    assert.equal(decoder.decode(await readAll(client)), "pong");
    assert.equal(await client.read(new Uint8Array(8)), null);
    await writeAll(client, encoder.encode("still open"));
    client.close();
    assert.equal(decoder.decode(await readAll(server)), "still open");

    assert.throws(() => client.close(), Deno.errors.BadResource);
    await assert.rejects(client.read(new Uint8Array(1)), Deno.errors.BadResource);
    await assert.rejects(client.write(new Uint8Array(1)), Deno.errors.BadResource);
    await assert.rejects(client.closeWrite(), Deno.errors.BadResource);
    server.close();
    assert.equal(registeredFds(), 0);
    await loopStopped();
  },
});

Deno.test({
  name: `EpollConn.read rejects with ConnectionReset when the peer resets${SKIP_NOTE}`,
  ignore: IGNORE,
  async fn() {
    const { accepted: conn, peer } = await acceptOne(epollConnectTo);
    const pending = conn.read(new Uint8Array(16));
    resetClose(peer);
    await assert.rejects(pending, Deno.errors.ConnectionReset);
    await assert.rejects(conn.write(new Uint8Array(1)), (error: Error) => {
      return error instanceof Deno.errors.BrokenPipe ||
        error instanceof Deno.errors.ConnectionReset;
    });
    conn.close();
    assert.equal(registeredFds(), 0);
  },
});

Deno.test({
  name: `epollConnect reaches an IPv6 listener and formats its address${SKIP_NOTE}`,
  ignore: IGNORE,
  async fn() {
    const listener = Deno.listen({ hostname: "::1", port: 0 });
    const accepting = listener.accept();
    const conn = await epollConnect({ hostname: "[::1]", port: listener.addr.port });
    const peer = await accepting;
    assert.deepEqual(conn.localAddr, { ...peer.remoteAddr });
    assert.deepEqual(conn.remoteAddr, { ...listener.addr });
    conn.close();
    peer.close();
    listener.close();
  },
});
