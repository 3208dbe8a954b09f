import assert from "node:assert/strict";
import { createHistogram, recordMicros, summarize } from "./histogram.ts";
import type { LiveStatus } from "./runner.ts";
import { mergeSeries, SeriesRecorder } from "./series.ts";

function fakeRun() {
  const histogram = createHistogram();
  const state = { elapsed: 0, requests: 0, warming: false };
  const status = (): LiveStatus => ({
    scenario: "s",
    elapsed_secs: state.elapsed,
    duration_secs: 10,
    warming_up: state.warming,
    requests: state.requests,
    errors: { timeout: 0 },
    latency: summarize(histogram),
  });
  return { histogram, state, status };
}

Deno.test("SeriesRecorder keeps the percentiles of each second, not of the run so far", () => {
  const run = fakeRun();
  const recorder = new SeriesRecorder();
  recorder.start(run.status, () => run.histogram);
  // Before the first sample: 1000 fast requests (it starts from an empty histogram).
  recorder.stop();
  assert.equal(recorder.samples.length, 0, "nothing measured yet");

  recorder.start(run.status, () => run.histogram);
  for (let i = 0; i < 1000; i++) recordMicros(run.histogram, 100);
  run.state.elapsed = 1;
  run.state.requests = 1000;
  // stop() takes the last part second: 1000 requests at 100 µs over one second.
  const first = recorder.stop();
  assert.equal(first.length, 1);
  assert.equal(first[0]!.rps, 1000);
  assert.ok(Math.abs(first[0]!.p50 - 100) <= 1);
});

Deno.test("SeriesRecorder subtracts the seconds before: a slow second shows alone", () => {
  const run = fakeRun();
  const recorder = new SeriesRecorder();
  for (let i = 0; i < 1000; i++) recordMicros(run.histogram, 100);
  run.state.requests = 1000;
  run.state.elapsed = 1;
  recorder.start(run.status, () => run.histogram); // baseline taken at the first sample
  for (let i = 0; i < 500; i++) recordMicros(run.histogram, 10_000);
  run.state.requests = 1500;
  run.state.elapsed = 1.5;
  const samples = recorder.stop();
  assert.equal(samples.length, 1);
  assert.equal(samples[0]!.rps, 1000, "500 requests in half a second");
  assert.ok(samples[0]!.p50 >= 9_990, `p50 of that half second is ${samples[0]!.p50}`);
  assert.equal(samples[0]!.t, 1.5);
});

Deno.test("mergeSeries sums rates second by second and keeps the highest percentiles", () => {
  const a = [{ t: 1, rps: 100, errors: 1, p50: 10, p90: 20, p99: 30, max: 40 }];
  const b = [
    { t: 1.1, rps: 50, errors: 0, p50: 15, p90: 15, p99: 50, max: 60 },
    { t: 2, rps: 70, errors: 2, p50: 5, p90: 6, p99: 7, max: 8 },
  ];
  assert.deepEqual(mergeSeries([a, undefined, b]), [
    { t: 1.1, rps: 150, errors: 1, p50: 15, p90: 20, p99: 50, max: 60 },
    { t: 2, rps: 70, errors: 2, p50: 5, p90: 6, p99: 7, max: 8 },
  ]);
  assert.equal(mergeSeries([undefined]), undefined);
});
