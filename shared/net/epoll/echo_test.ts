import assert from "node:assert/strict";
import { randomBytes, readAll, readExactly, sha256, writeAll } from "@monkey/testing";
import { epollEcho, type EpollEchoOptions, type EpollEchoResult } from "./mod.ts";
import { IGNORE, loopStopped, openFds, registeredFds, SKIP_NOTE } from "./_testing.ts";
import { acceptOne, denoConnect } from "./_testing_accept.ts";

const MiB = 1024 * 1024;

/** A Deno client connected to an epollEcho. */
async function echoRig(
  options: EpollEchoOptions = {},
): Promise<{ client: Deno.TcpConn; result: Promise<EpollEchoResult> }> {
  const { accepted, peer } = await acceptOne(denoConnect);
  return { client: peer, result: epollEcho(accepted, options) };
}

Deno.test({
  name: `epollEcho echoes several MiB byte-exact, then honours the client's half-close${SKIP_NOTE}`,
  ignore: IGNORE,
  async fn() {
    const fds = openFds();
    const stats = { up: 0, down: 0 };
    const { client, result } = await echoRig({ stats });
    const payload = randomBytes(4 * MiB);
    // Write everything before reading: the echo's writes block and backpressure engages.
    const [, echoed] = await Promise.all([
      writeAll(client, payload).then(() => client.closeWrite()),
      readAll(client),
    ]);
    assert.equal(echoed.length, payload.length);
    assert.equal(await sha256(echoed), await sha256(payload));
    assert.deepEqual(await result, { reason: "done" });
    assert.equal(stats.up, payload.length);
    client.close();
    await loopStopped();
    assert.equal(registeredFds(), 0);
    assert.equal(openFds(), fds);
  },
});

Deno.test({
  name: `epollEcho ends with "idle_timeout" after silence and "aborted" on abort${SKIP_NOTE}`,
  ignore: IGNORE,
  async fn() {
    const idle = await echoRig({ idleTimeoutMs: 50 });
    await writeAll(idle.client, new Uint8Array([1, 2, 3]));
    assert.deepEqual(await readExactly(idle.client, 3), new Uint8Array([1, 2, 3]));
    assert.deepEqual(await idle.result, { reason: "idle_timeout" });
    assert.equal(await idle.client.read(new Uint8Array(1)).catch(() => null), null);
    idle.client.close();

    const controller = new AbortController();
    const aborted = await echoRig({ signal: controller.signal });
    controller.abort();
    assert.deepEqual(await aborted.result, { reason: "aborted" });
    assert.equal(await aborted.client.read(new Uint8Array(1)).catch(() => null), null);
    aborted.client.close();
    await loopStopped();
  },
});
