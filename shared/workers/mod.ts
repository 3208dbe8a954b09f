/**
 * Worker clusters: one service per Deno Worker sharing the port (SO_REUSEPORT), metrics
 * added up on one endpoint.
 *
 * @example
 * ```ts
 * import { mergeSnapshots } from "@monkey/shared/workers";
 * mergeSnapshots([{ a: 1 }, { a: 2 }], new Set());
 * ```
 *
 * @module
 */

export * from "./workers.ts";
