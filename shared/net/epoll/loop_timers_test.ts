import assert from "node:assert/strict";
import { writeAll } from "@monkey/testing";
import { epollConnect, epollEcho, epollListen } from "./mod.ts";
import { IGNORE, loopStopped, registeredFds, SKIP_NOTE } from "./_testing.ts";

const PAIRS = 10;
const TICKS = 25;
const INTERVAL_MS = 10;
/** 25 ticks are due in 250 ms; a starved runtime fires a handful in seconds. */
const LATEST_MS = 1500;

Deno.test({
  name: `timers keep firing while the epoll loop is busy with nothing but its own events` +
    SKIP_NOTE,
  ignore: IGNORE,
  async fn() {
    // Pairs of echoes facing each other with 1 KiB between them: the bytes bounce forever
    // inside the loop, every read completing at once; the loop's yields (a thread hop every
    // few ms, a macrotask every 20 ms) are what lets the runtime reach its timers.
    const listener = epollListen({ hostname: "127.0.0.1", port: 0 });
    const controller = new AbortController();
    const stats = { up: 0, down: 0 };
    const echoes: Promise<unknown>[] = [];
    for (let i = 0; i < PAIRS; i++) {
      const client = epollConnect({ hostname: "127.0.0.1", port: listener.addr.port });
      const server = await listener.accept();
      const conn = await client;
      await writeAll(conn, new Uint8Array(1024).fill(i));
      echoes.push(epollEcho(server, { signal: controller.signal, stats }));
      echoes.push(epollEcho(conn, { signal: controller.signal }));
    }
    listener.close();
    const started = performance.now();
    let ticks = 0;
    const done = Promise.withResolvers<number>();
    const interval = setInterval(() => {
      if (++ticks === TICKS) done.resolve(performance.now() - started);
    }, INTERVAL_MS);
    const elapsed = await done.promise;
    clearInterval(interval);
    controller.abort();
    await Promise.all(echoes);
    await loopStopped();
    assert.equal(registeredFds(), 0);
    assert.ok(stats.up > 1024 * 1024, `the loop was busy: ${stats.up} bytes echoed`);
    assert.ok(elapsed < LATEST_MS, `${TICKS} ticks of ${INTERVAL_MS} ms took ${elapsed} ms`);
  },
});
