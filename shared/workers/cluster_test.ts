import assert from "node:assert/strict";
import { requires } from "@monkey/testing";
import { Logger, type LogSink } from "../service/logger.ts";
import { mergeSnapshots, startWorkerCluster } from "./mod.ts";

const NEEDS = requires("read");
const FAKE = new URL("./testdata/fake_worker.ts", import.meta.url);

/** A logger whose lines can be awaited. */
function watchedLogger() {
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const sink: LogSink = (line) => {
    lines.push(line);
    for (const w of waiters) if (w.pattern.test(line)) w.resolve(line);
  };
  const next = (pattern: RegExp, timeoutMs: number): Promise<string> => {
    const seen = lines.find((l) => pattern.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    const { promise, resolve, reject } = Promise.withResolvers<string>();
    const timer = setTimeout(
      () => reject(new Error(`no log line ${pattern} in ${timeoutMs} ms`)),
      timeoutMs,
    );
    waiters.push({ pattern, resolve: (line) => (clearTimeout(timer), resolve(line)) });
    return promise;
  };
  return { logger: new Logger({ sink }), lines, next };
}

/**
 * Start the fake worker module `workers` times with `extra` settings (keys the fake reads:
 * `crash`, `failShutdown`), logging into a watched logger.
 */
async function startFake(
  workers: number,
  extra: Record<string, string> = {},
  askTimeoutMs?: number,
) {
  const watched = watchedLogger();
  const cluster = await startWorkerCluster({
    name: "fake",
    module: FAKE,
    config: {
      listen_addr: "127.0.0.1:0",
      workers,
      metrics_addr: "off",
      grace_period_secs: 1,
      ...extra,
    },
    logger: watched.logger,
    ...(askTimeoutMs === undefined ? {} : { askTimeoutMs }),
  });
  return { cluster, ...watched };
}

Deno.test(
  "startWorkerCluster() with a crashed worker logs it once, answers /metrics within 2 s, shuts down",
  NEEDS,
  async () => {
    const { cluster, lines, next } = await startFake(3, { crash: "worker-2" });
    const died = await next(/died/, 2000);
    assert.match(died, /ERROR .*worker-2 died: .*crashed on purpose \(2 of 3 workers left\)$/);
    const began = performance.now();
    const res = await cluster.app.request("/metrics?format=json");
    assert.equal(res.status, 200);
    const json = await res.json();
    assert.ok(performance.now() - began < 2000, "answered within 2 s");
    assert.equal(json.total_connections, 2, "the two live workers");
    assert.equal(json.workers, 3);
    assert.equal(json.workers_alive, 2);
    const summary = await cluster.shutdown(100);
    assert.equal(summary.total_connections, 2);
    assert.equal(cluster.group.pending, 0);
    assert.equal(lines.filter((l) => /died/.test(l)).length, 1, "one line per death");
  },
);

Deno.test(
  "WorkerGroup answers a throwing fetch with 500 and a throwing shutdown with a log line",
  NEEDS,
  async () => {
    const { cluster, next } = await startFake(2, { failShutdown: "worker-1" });
    const responses = await cluster.group.fetchAll(new Request("http://x/throw"));
    assert.deepEqual(responses.map((r) => r.status), [500, 500]);
    assert.match((await responses[0]!.json()).error, /^worker-1: fetch blew up$/);
    await responses[1]!.body?.cancel();
    const summary = await cluster.shutdown(100);
    assert.equal(summary.total_connections, 1, "worker-2 stopped, worker-1 failed");
    await next(/worker-1 shutdown failed: shutdown blew up/, 1000);
    assert.equal(cluster.group.pending, 0);
  },
);

Deno.test(
  "WorkerGroup leaves a worker that does not answer out after the ask timeout",
  NEEDS,
  async () => {
    const { cluster, next } = await startFake(1, {}, 100);
    const began = performance.now();
    const [response, ...rest] = await cluster.group.fetchAll(new Request("http://x/hang"));
    assert.ok(performance.now() - began < 1000, "gave up after the timeout");
    assert.equal(rest.length, 0);
    assert.equal(response!.status, 503);
    assert.deepEqual(await response!.json(), { error: "no worker answered" });
    await next(/worker-1 did not answer 'http' within 100 ms/, 1000);
    assert.equal(cluster.group.pending, 0, "the pending entry is dropped");
    assert.equal((await cluster.group.stats()).length, 1, "still answers other requests");
    await cluster.shutdown(0);
  },
);

Deno.test("WorkerGroup.stats() ships extra() rows only when asked", NEEDS, async () => {
  const { cluster } = await startFake(2);
  const plain = await cluster.group.stats();
  assert.deepEqual(plain.map((s) => s.extra), [undefined, undefined]);
  await cluster.app.request("/metrics");
  const withRows = await cluster.group.stats({ extra: true });
  assert.deepEqual(withRows.map((s) => s.extra), [[{ worker: "worker-1" }], [{
    worker: "worker-2",
  }]]);
  assert.deepEqual(withRows.map((s) => s.snapshot["extra_calls"]), [0, 0], "no rows built before");
  await cluster.shutdown(0);
});

Deno.test("mergeSnapshots() sums numbers, keeps the largest uptime, ors booleans", () => {
  assert.deepEqual(
    mergeSnapshots([
      { total: 1, uptime_secs: 5, draining: false, name: "a" },
      { total: 2, uptime_secs: 7, draining: true, name: "b" },
    ]),
    { total: 3, uptime_secs: 7, draining: true, name: "a" },
  );
});
