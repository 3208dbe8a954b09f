import assert from "node:assert/strict";
import { randomBytes, readAll, readExactly, sha256, writeAll } from "@monkey/testing";
import { type EpollConn, epollConnect } from "./mod.ts";
import { SPLICE_CHUNK, spliceCounts, spliceFaults, SplicePipe } from "./_splice.ts";
import { IGNORE, loopStopped, openFds, relayRig, SKIP_NOTE } from "./_testing.ts";
import { acceptOne, denoConnect } from "./_testing_accept.ts";

const ignore = IGNORE;

/** A Deno client writing into an accepted EpollConn (the splice source). */
async function source(): Promise<{ writer: Deno.TcpConn; src: EpollConn }> {
  const { accepted, peer } = await acceptOne(denoConnect);
  return { writer: peer, src: accepted };
}

/** An EpollConn to a Deno server that reads only when the test says (the destination). */
async function destination(): Promise<{ dst: EpollConn; reader: Deno.TcpConn }> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const readerP = listener.accept();
  const dst = await epollConnect({ hostname: "127.0.0.1", port: listener.addr.port });
  const reader = await readerP;
  listener.close();
  return { dst, reader };
}

Deno.test({
  name: `SplicePipe moves chunks byte-exact and copies out what a full destination refuses, ` +
    `leaving the pipe empty for the next transfer${SKIP_NOTE}`,
  ignore: IGNORE,
  async fn() {
    const fds = openFds();
    const pipe = new SplicePipe();
    assert.ok(pipe.open());
    const { writer, src } = await source();
    const { dst, reader } = await destination();
    // Nobody reads the destination: transfer until a chunk does not fit.
    const sent: Uint8Array[] = [];
    let rest: Uint8Array | null = null;
    while (rest === null) {
      const chunk = randomBytes(SPLICE_CHUNK);
      await writeAll(writer, chunk);
      sent.push(chunk);
      let moved = 0;
      while (moved < chunk.length && rest === null) {
        const n = pipe.transfer(src.fd, dst.fd);
        assert.ok(n > 0, `transfer returned ${n}`);
        moved += n;
        rest = pipe.rest;
      }
      assert.ok(sent.length < 4096, "the destination never filled up");
    }
    assert.equal(pipe.code === 0 || pipe.code === 11, true, `send errno ${pipe.code}`);
    const total = sent.reduce((sum, c) => sum + c.length, 0);
    const all = new Uint8Array(total);
    sent.reduce((at, c) => (all.set(c, at), at + c.length), 0);
    // What the destination took, then the copied-out rest, is everything that was read.
    const taken = await readExactly(reader, total - rest.length);
    assert.deepEqual(taken, all.subarray(0, total - rest.length));
    assert.deepEqual(rest, all.subarray(total - rest.length));
    // The pipe is empty: a new transfer carries only the new bytes.
    const more = randomBytes(1000);
    await writeAll(writer, more);
    // Loopback delivers within the writer's send, so the bytes are there once it returned.
    assert.equal(pipe.transfer(src.fd, dst.fd), more.length);
    assert.equal(pipe.rest, null);
    assert.deepEqual(await readExactly(reader, more.length), more);
    // End of input is 0.
    await writer.closeWrite();
    assert.equal(pipe.transfer(src.fd, dst.fd), 0);
    pipe.close();
    assert.equal(pipe.isOpen, false);
    for (const conn of [writer, reader, src, dst]) conn.close();
    await loopStopped();
    assert.equal(openFds(), fds);
  },
});

const EPERM = 1;
const EMFILE = 24;
const EINVAL = 22;
const ENOSYS = 38;
const MiB = 1024 * 1024;

/**
 * Relay 3 MiB each way with `fault` set (splice or pipe2 failing with an errno) and return
 * how the splice counters moved; the relay must carry every byte and end "done".
 */
async function relayWithFault(
  fault: Partial<typeof spliceFaults>,
): Promise<typeof spliceCounts> {
  const fds = openFds();
  const before = { ...spliceCounts };
  Object.assign(spliceFaults, fault);
  try {
    const rig = await relayRig();
    const up = randomBytes(3 * MiB);
    const down = randomBytes(3 * MiB);
    const [gotUp, gotDown] = await Promise.all([
      readAll(rig.upstream),
      readAll(rig.client),
      writeAll(rig.client, up).then(() => rig.client.closeWrite()),
      writeAll(rig.upstream, down).then(() => rig.upstream.closeWrite()),
    ]);
    assert.equal(await sha256(gotUp), await sha256(up));
    assert.equal(await sha256(gotDown), await sha256(down));
    assert.deepEqual(await rig.result, { up: up.length, down: down.length, reason: "done" });
    rig.close();
  } finally {
    Object.assign(spliceFaults, { pipe2: 0, source: 0, destination: 0 });
  }
  await loopStopped();
  assert.equal(openFds(), fds);
  return {
    moved: spliceCounts.moved - before.moved,
    copiedOut: spliceCounts.copiedOut - before.copiedOut,
    fallbacks: spliceCounts.fallbacks - before.fallbacks,
  };
}

Deno.test({
  name: `epollRelay copies instead when splicing from the source fails (EINVAL, ENOSYS, EPERM), ` +
    `and the relay goes on byte-exact${SKIP_NOTE}`,
  ignore,
  async fn() {
    for (const code of [EINVAL, ENOSYS, EPERM]) {
      const moved = await relayWithFault({ source: code });
      assert.equal(moved.moved, 0, `errno ${code}: bytes were spliced`);
      assert.equal(moved.fallbacks, 2, `errno ${code}: each direction falls back once`);
    }
  },
});

Deno.test({
  name: `epollRelay sends what a failing splice to the destination (EINVAL) left in the pipe, ` +
    `then copies${SKIP_NOTE}`,
  ignore,
  async fn() {
    const moved = await relayWithFault({ destination: EINVAL });
    // One chunk per direction went into the pipe, came back out, and was sent.
    assert.equal(moved.fallbacks, 2);
    assert.ok(moved.moved > 0 && moved.copiedOut === moved.moved, JSON.stringify(moved));
  },
});

Deno.test({
  name: `epollRelay copies when the loop cannot open its splice pipe (pipe2 fails)${SKIP_NOTE}`,
  ignore,
  async fn() {
    const moved = await relayWithFault({ pipe2: EMFILE });
    assert.deepEqual(moved, { moved: 0, copiedOut: 0, fallbacks: 0 });
  },
});
