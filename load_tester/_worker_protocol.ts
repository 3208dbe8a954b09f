/**
 * Messages between the runner and its Workers.
 *
 * @module
 */

import type { ConnectFailureKind } from "@monkey/shared";
import type { EngineSpec } from "./engine.ts";
import type { ScenarioResult, ScenarioShape } from "./result.ts";

/** Main thread to worker. */
export type WorkerRequest =
  | { type: "run"; spec: EngineSpec; shape: ScenarioShape }
  | { type: "stop" };

/** Worker to main thread. */
export type WorkerReply =
  | {
    type: "progress";
    requests: number;
    errors: Record<string, number>;
    elapsed_secs: number;
    warming_up: boolean;
    histogram: string;
  }
  | { type: "done"; result: ScenarioResult }
  | { type: "connect_error"; addr: string; kind: ConnectFailureKind; message: string }
  | { type: "error"; message: string };
