import assert from "node:assert/strict";
import { echoUntilEof, readAll, readExactly, readLine, writeAll } from "./io.ts";
import { acceptLoop, closedPortAddr, dial, splitAddr, startPeer } from "./peers.ts";
import { waitFor } from "./wait.ts";

Deno.test("acceptLoop() serves every listener, counts, and closes a connection when its handler returns", async () => {
  await using loop = acceptLoop((conn) => echoUntilEof(conn), { listeners: 2 });
  assert.equal(loop.addrs.length, 2);
  assert.equal(loop.addr, loop.addrs[0]);
  for (const addr of loop.addrs) {
    const conn = await dial(addr);
    await writeAll(conn, new TextEncoder().encode("hi"));
    assert.equal(new TextDecoder().decode(await readExactly(conn, 2)), "hi");
    await conn.closeWrite();
    assert.equal((await readAll(conn)).length, 0, "the handler ended and the loop closed");
    conn.close();
  }
  assert.equal(loop.accepted, 2);
  await waitFor(() => loop.live.size === 0, "live connections to drop to 0");
});

Deno.test("acceptLoop() swallows handler errors and closes what is still open on close()", async () => {
  const held = Promise.withResolvers<void>();
  const loop = acceptLoop(async (conn) => {
    await writeAll(conn, new TextEncoder().encode("x\n"));
    held.resolve();
    await readAll(conn); // ends when close() closes the connection
    throw new Error("misbehaving on purpose");
  });
  const conn = await dial(loop.addr);
  assert.equal(await readLine(conn), "x");
  await held.promise;
  assert.equal(loop.live.size, 1);
  await loop.close();
  assert.equal(loop.live.size, 0);
  assert.equal(await conn.read(new Uint8Array(1)), null, "the peer's close reached the client");
  conn.close();
  await assert.rejects(dial(loop.addr), Deno.errors.ConnectionRefused);
});

Deno.test("startPeer() leaves connections open after the handler returns, until close()", async () => {
  const peer = startPeer(() => {});
  const conn = await dial(peer.addr);
  await waitFor(() => peer.accepted.length === 1, "the accept");
  await writeAll(conn, new Uint8Array([1]));
  await peer.close();
  assert.equal(await conn.read(new Uint8Array(1)), null);
  conn.close();
});

Deno.test("closedPortAddr() names a port that refuses; splitAddr() handles IPv6 brackets", async () => {
  await assert.rejects(dial(closedPortAddr()), Deno.errors.ConnectionRefused);
  assert.deepEqual(splitAddr("[::1]:80"), ["::1", 80]);
  assert.deepEqual(splitAddr("127.0.0.1:8081"), ["127.0.0.1", 8081]);
});

Deno.test("waitFor() names what it waited for when it times out", async () => {
  await assert.rejects(
    waitFor(() => false, "the impossible", 20),
    /timed out after 20 ms waiting for the impossible/,
  );
  let calls = 0;
  await waitFor(() => Promise.resolve(++calls === 3), "the third call");
  assert.equal(calls, 3);
});
