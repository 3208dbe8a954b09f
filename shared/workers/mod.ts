/**
 * Worker clusters: one service per Deno Worker sharing the port (SO_REUSEPORT), metrics
 * added up on one endpoint.
 *
 * - `protocol.ts`: the messages and the worker side, {@linkcode serveInWorker}.
 * - `group.ts`: {@linkcode WorkerGroup} (ask every worker, with timeouts; crashes logged).
 * - `cluster.ts`: {@linkcode startWorkerCluster} and {@linkcode mergeSnapshots}.
 *
 * @example
 * ```ts
 * import { mergeSnapshots } from "@monkey/shared/workers";
 * mergeSnapshots([{ a: 1 }, { a: 2 }]); // { a: 3 }
 * ```
 *
 * @module
 */

export * from "./cluster.ts";
export * from "./group.ts";
export * from "./protocol.ts";
