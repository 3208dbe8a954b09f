import assert from "node:assert/strict";
import { randomBytes, readExactly } from "@monkey/testing";
import { epollEcho, epollPingPong, type EpollPingPongOptions } from "./mod.ts";
import { IGNORE, loopStopped, openFds, registeredFds, SKIP_NOTE } from "./_testing.ts";
import { acceptOne, epollConnectTo } from "./_testing_accept.ts";

/** Options for `rounds` rounds of `payload`, recording each reply as it came. */
function rounds(
  payload: Uint8Array,
  count: number,
  replies: Uint8Array[],
  times: number[] = [],
): EpollPingPongOptions {
  const room = new Uint8Array(payload.length + 1);
  return {
    payload,
    room,
    replySize: payload.length,
    onReply(got, at) {
      replies.push(room.slice(0, got));
      times.push(at);
      return replies.length < count;
    },
  };
}

Deno.test({
  name: `epollPingPong runs rounds against an echo until onReply says stop, byte-exact${SKIP_NOTE}`,
  ignore: IGNORE,
  async fn() {
    const fds = openFds();
    // 1 KiB, and 200 KiB: more than one send, so the rest waits for EPOLLOUT.
    for (const size of [1024, 200 * 1024]) {
      const { accepted, peer } = await acceptOne(epollConnectTo);
      const echoed = epollEcho(accepted);
      const payload = randomBytes(size);
      const replies: Uint8Array[] = [];
      const times: number[] = [];
      const before = performance.now();
      const result = await epollPingPong(peer, rounds(payload, 5, replies, times));
      const after = performance.now();
      assert.deepEqual(result, { reason: "done" });
      assert.equal(replies.length, 5);
      // Each reply's time is on performance.now()'s clock, in order, within the run (the
      // offset between the two readings is well under a microsecond; 0.01 ms of slack).
      assert.equal(times.length, 5);
      for (let i = 0; i < times.length; i++) {
        assert.ok(times[i]! >= before - 0.01 && times[i]! <= after + 0.01, `${times[i]} in run`);
        if (i > 0) assert.ok(times[i]! >= times[i - 1]!, "times in order");
      }
      for (const reply of replies) assert.deepEqual(reply, payload);
      // It closed the connection: the echo sees the end and finishes.
      assert.equal(peer.closed, true);
      assert.deepEqual(await echoed, { reason: "done" });
    }
    await loopStopped();
    assert.equal(registeredFds(), 0);
    assert.equal(openFds(), fds);
  },
});

Deno.test({
  name:
    `epollPingPong ends with UnexpectedEof when the peer closes before the whole reply${SKIP_NOTE}`,
  ignore: IGNORE,
  async fn() {
    const { accepted, peer } = await acceptOne(epollConnectTo);
    const payload = randomBytes(64);
    const replies: Uint8Array[] = [];
    const result = epollPingPong(peer, rounds(payload, 10, replies));
    // The server answers half the message, then closes.
    const got = await readExactly(accepted, 64);
    await accepted.write(got.subarray(0, 32));
    accepted.close();
    const { reason, error } = await result;
    assert.equal(reason, "error");
    assert.ok(error instanceof Deno.errors.UnexpectedEof);
    assert.match((error as Error).message, /closed after 32 bytes/);
    assert.equal(replies.length, 0);
    assert.equal(peer.closed, true);
    await loopStopped();
  },
});

Deno.test({
  name:
    `epollPingPong ends "aborted" when aborted or closed by its owner while waiting${SKIP_NOTE}`,
  ignore: IGNORE,
  async fn() {
    const fds = openFds();
    for (const how of ["signal", "close"] as const) {
      const { accepted, peer } = await acceptOne(epollConnectTo);
      const controller = new AbortController();
      const result = epollPingPong(peer, {
        ...rounds(randomBytes(16), 10, []),
        signal: controller.signal,
      });
      // The server reads the message and never answers.
      await readExactly(accepted, 16);
      if (how === "signal") controller.abort();
      else peer.close();
      assert.deepEqual(await result, { reason: "aborted" }, how);
      assert.equal(peer.closed, true);
      assert.equal(await accepted.read(new Uint8Array(1)), null, how);
      accepted.close();
    }
    await loopStopped();
    assert.equal(registeredFds(), 0);
    assert.equal(openFds(), fds);
  },
});
