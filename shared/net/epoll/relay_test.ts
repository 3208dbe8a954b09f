import assert from "node:assert/strict";
import { randomBytes, readAll, readExactly, sha256, writeAll } from "@monkey/testing";
import { epollConnect, epollListen, epollRelay } from "./mod.ts";
import { spliceCounts } from "./_splice.ts";
import {
  IGNORE,
  loopStopped,
  openFds,
  registeredFds,
  relayRig,
  resetClose,
  SKIP_NOTE,
} from "./_testing.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const MiB = 1024 * 1024;
const SLOW_CHUNK = 16 * 1024;

/** Read everything in small chunks, pausing every few: a slow reader, so backpressure engages. */
async function slowReadAll(conn: Deno.Conn, total: number): Promise<Uint8Array> {
  const out = new Uint8Array(total);
  let off = 0;
  let reads = 0;
  while (off < total) {
    const n = await conn.read(out.subarray(off, Math.min(total, off + SLOW_CHUNK)));
    if (n === null) break;
    off += n;
    if (++reads % 16 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return out.subarray(0, off);
}

Deno.test({
  name: `epollRelay copies several MiB byte-exact both ways through slow readers${SKIP_NOTE}`,
  ignore: IGNORE,
  async fn() {
    const fds = openFds();
    const spliced = { ...spliceCounts };
    const rig = await relayRig();
    const up = randomBytes(6 * MiB);
    const down = randomBytes(5 * MiB);
    const [gotUp, gotDown] = await Promise.all([
      slowReadAll(rig.upstream, up.length),
      slowReadAll(rig.client, down.length),
      writeAll(rig.client, up),
      writeAll(rig.upstream, down),
    ]);
    assert.equal(await sha256(gotUp), await sha256(up));
    assert.equal(await sha256(gotDown), await sha256(down));
    // Bulk went through the splice pipe, byte-exact (splice_test.ts covers the copy-out).
    assert.ok(spliceCounts.moved > spliced.moved, "no bytes were spliced");
    await rig.client.closeWrite();
    await rig.upstream.closeWrite();
    const result = await rig.result;
    assert.deepEqual(result, { up: up.length, down: down.length, reason: "done" });
    assert.deepEqual(rig.stats, { up: up.length, down: down.length });
    assert.equal(await rig.client.read(new Uint8Array(1)), null);
    rig.close();
    await loopStopped();
    assert.equal(registeredFds(), 0);
    assert.equal(openFds(), fds);
  },
});

for (const first of ["client", "upstream"] as const) {
  Deno.test({
    name: `epollRelay turns a FIN from the ${first} into a half-close while the other way ` +
      `keeps flowing${SKIP_NOTE}`,
    ignore: IGNORE,
    async fn() {
      const rig = await relayRig();
      const [a, b] = first === "client" ? [rig.client, rig.upstream] : [rig.upstream, rig.client];
      await writeAll(a, encoder.encode("last words"));
      await a.closeWrite();
      assert.equal(decoder.decode(await readAll(b)), "last words");
      await writeAll(b, encoder.encode("late reply"));
      assert.equal(decoder.decode(await readExactly(a, 10)), "late reply");
      await b.closeWrite();
      assert.equal(await a.read(new Uint8Array(1)), null);
      const result = await rig.result;
      assert.equal(result.reason, "done");
      assert.equal(result.up + result.down, 20);
      rig.close();
    },
  });
}

for (const side of ["client", "upstream"] as const) {
  Deno.test({
    name: `a reset from the ${side} closes the other side promptly with reason "reset"${SKIP_NOTE}`,
    ignore: IGNORE,
    async fn() {
      // Epoll on both ends so the test can send a real RST (SO_LINGER 0).
      const upstreamListener = epollListen({ hostname: "127.0.0.1", port: 0 });
      const front = epollListen({ hostname: "127.0.0.1", port: 0 });
      const clientP = epollConnect({ hostname: "127.0.0.1", port: front.addr.port });
      const accepted = await front.accept();
      const upstreamP = upstreamListener.accept();
      const toUpstream = await epollConnect({
        hostname: "127.0.0.1",
        port: upstreamListener.addr.port,
      });
      const upstream = await upstreamP;
      const client = await clientP;
      front.close();
      upstreamListener.close();
      const result = epollRelay(accepted, toUpstream);
      await writeAll(client, encoder.encode("ping"));
      assert.equal(decoder.decode(await readExactly(upstream, 4)), "ping");
      const [resetter, other] = side === "client" ? [client, upstream] : [upstream, client];
      resetClose(resetter);
      assert.equal((await result).reason, "reset");
      assert.ok(accepted.closed && toUpstream.closed, "the relay closed both of its ends");
      // The other side sees its connection end (EOF, or a reset of its own).
      const end = await other.read(new Uint8Array(8)).catch((error) => error);
      assert.ok(end === null || end instanceof Deno.errors.ConnectionReset, String(end));
      other.close();
    },
  });
}

Deno.test({
  name: `epollRelay closes both sides after the idle timeout with reason "idle_timeout", ` +
    `counting from its start even when the loop was idle long before${SKIP_NOTE}`,
  ignore: IGNORE,
  async fn() {
    // The loop's cached clock must not date a new relay's activity back to its last batch:
    // the rig's connections are set up, the loop stops, and the relay starts 150 ms later.
    const rig = await relayRig({ idleTimeoutMs: 100 }, 150);
    const started = performance.now();
    const result = await rig.result;
    const elapsed = performance.now() - started;
    assert.equal(result.reason, "idle_timeout");
    assert.ok(elapsed >= 95 && elapsed < 1000, `ended after ${elapsed.toFixed(0)} ms`);
    const busy = await relayRig({ idleTimeoutMs: 100 });
    const busyStart = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 60));
    await writeAll(busy.client, encoder.encode("hi"));
    await readExactly(busy.upstream, 2);
    const busyResult = await busy.result;
    const busyElapsed = performance.now() - busyStart;
    assert.deepEqual(busyResult, { up: 2, down: 0, reason: "idle_timeout" });
    assert.ok(busyElapsed >= 155, `traffic restarts the clock (ended after ${busyElapsed} ms)`);
    busy.close();
    assert.equal(await rig.client.read(new Uint8Array(1)).catch(() => null), null);
    rig.close();
  },
});

Deno.test({
  name:
    `aborting epollRelay closes both sides of every relay on the signal with reason "aborted"${SKIP_NOTE}`,
  ignore: IGNORE,
  async fn() {
    const controller = new AbortController();
    const rig = await relayRig({ signal: controller.signal });
    await writeAll(rig.upstream, encoder.encode("x"));
    await readExactly(rig.client, 1);
    // Relays sharing the signal: one that ended before the abort is not touched by it.
    const ended = await relayRig({ signal: controller.signal });
    await ended.client.closeWrite();
    await ended.upstream.closeWrite();
    assert.equal((await ended.result).reason, "done");
    const other = await relayRig({ signal: controller.signal });
    controller.abort();
    const result = await rig.result;
    assert.deepEqual(result, { up: 0, down: 1, reason: "aborted" });
    assert.equal((await other.result).reason, "aborted");
    assert.equal(await rig.upstream.read(new Uint8Array(1)).catch(() => null), null);
    for (const r of [rig, ended, other]) r.close();
    const already = new AbortController();
    already.abort();
    const rig2 = await relayRig({ signal: already.signal });
    assert.equal((await rig2.result).reason, "aborted");
    rig2.close();
    await loopStopped();
  },
});
