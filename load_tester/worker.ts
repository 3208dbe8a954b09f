/**
 * Deno Worker entry: runs one engine's share of a scenario and posts progress and the
 * result (histograms encoded) back to the main thread. Used when `--workers` > 1.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { ConnectError } from "@monkey/shared";
import { type EngineSpec, LoadEngine } from "./engine.ts";
import { encodeHistogram } from "./histogram.ts";
import { buildResult, type ScenarioShape } from "./result.ts";
import type { WorkerReply, WorkerRequest } from "./_worker_protocol.ts";

const PROGRESS_MS = 500;

let engine: LoadEngine | undefined;

self.onmessage = async (event: MessageEvent<WorkerRequest>) => {
  const message = event.data;
  if (message.type === "stop") {
    engine?.stop();
    return;
  }
  const { spec, shape } = message as { spec: EngineSpec; shape: ScenarioShape };
  let lastPost = 0;
  // Posted from the request path too: a busy epoll loop in this Worker can hold back timers.
  const progress = () => {
    const now = performance.now();
    if (now - lastPost < PROGRESS_MS) return;
    lastPost = now;
    const s = current.snapshot();
    post({
      type: "progress",
      requests: s.requests,
      errors: { ...s.errors },
      elapsed_secs: s.elapsed_secs,
      warming_up: s.warming_up,
      histogram: encodeHistogram(s.latency),
    });
  };
  engine = new LoadEngine(spec, { onTick: progress });
  const current = engine;
  const ticker = setInterval(progress, PROGRESS_MS);
  try {
    const measured = await current.run();
    post({ type: "done", result: buildResult(shape, measured) });
  } catch (error) {
    post(
      error instanceof ConnectError
        ? { type: "connect_error", addr: error.addr, kind: error.kind, message: error.message }
        : { type: "error", message: error instanceof Error ? error.message : String(error) },
    );
  } finally {
    clearInterval(ticker);
  }
};

function post(reply: WorkerReply): void {
  self.postMessage(reply);
}
