/**
 * The messages between the main thread and a service's workers, and the worker side of them
 * ({@linkcode serveInWorker}).
 *
 * Every request carries an id and gets exactly one reply with that id: a thrown `fetch`,
 * `reload`, `shutdown` or stats call answers `{ type: "error" }` instead of staying silent.
 * An uncaught error or unhandled rejection anywhere in the worker is reported as
 * `{ type: "crashed" }` and the worker closes, so the main thread can log it and stop waiting.
 *
 * @module
 */

import type { MetricFamily } from "../metrics/registry.ts";
import { toMessage, toRequest } from "./_http.ts";

/** What a worker-side service exposes to the main thread. */
export interface WorkerService {
  /** Bound listen address. */
  readonly addr: string;
  /** JSON metrics snapshot. */
  snapshot(): object;
  /** Prometheus families. */
  families(): MetricFamily[];
  /** Extra per-service data (e.g. per-client rows), sent only when a stats request asks for it. */
  extra?(): unknown;
  /** Answer an HTTP request (admin routes the main thread forwards to every worker). */
  fetch?(request: Request): Response | Promise<Response>;
  /** Apply a new configuration (SIGHUP reload, forwarded to every worker). */
  reload?(config: unknown): Promise<unknown>;
  /** Graceful shutdown. */
  shutdown(graceMs: number): Promise<{ total_connections: number; forced: number }>;
}

/** One worker's answer to a stats request. */
export interface WorkerStats {
  /** JSON snapshot. */
  snapshot: Record<string, unknown>;
  /** Prometheus families. */
  families: MetricFamily[];
  /** Extra data (undefined unless asked for with `extra: true`). */
  extra: unknown;
}

/** An HTTP request or response as plain data, to cross the worker boundary. */
export interface HttpMessage {
  /** Method (requests only). */
  method?: string;
  /** Path and query (requests only). */
  url?: string;
  /** Status (responses only). */
  status?: number;
  /** Header pairs. */
  headers: [string, string][];
  /** Body text. */
  body: string;
}

/** A request the main thread sends and a worker answers (the id is added when sent). */
export type WorkerAsk =
  | { type: "stats"; extra?: boolean }
  | { type: "shutdown"; graceMs: number }
  | { type: "http"; request: HttpMessage }
  | { type: "reload"; config: unknown };

/** Every message the main thread sends to a worker. */
export type WorkerRequest = { type: "start"; config: unknown } | (WorkerAsk & { id: number });

/** A shutdown's totals. */
export interface ShutdownSummary {
  /** Connections since start. */
  total_connections: number;
  /** Connections closed at the end of the grace period. */
  forced: number;
}

/** Every message a worker sends to the main thread. */
export type WorkerReply =
  | { type: "started"; addr: string }
  | { type: "failed"; message: string }
  | { type: "crashed"; message: string }
  | { type: "error"; id: number; message: string }
  | { type: "stats"; id: number; stats: WorkerStats }
  | { type: "http"; id: number; response: HttpMessage }
  | { type: "reloaded"; id: number; ok: boolean; result?: unknown; message?: string }
  | { type: "stopped"; id: number; summary: ShutdownSummary; stats: WorkerStats };

interface WorkerScope {
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
  addEventListener(type: "error", listener: (event: ErrorEvent) => void): void;
  addEventListener(
    type: "unhandledrejection",
    listener: (event: PromiseRejectionEvent) => void,
  ): void;
  postMessage(message: WorkerReply): void;
  close(): void;
}

/**
 * Worker side: start the service when asked, answer stats, HTTP, reload and shutdown
 * requests (each exactly once, with `{ type: "error" }` when the service throws), and report
 * an uncaught error as `{ type: "crashed" }` before closing. Call once at the top level of a
 * worker module.
 *
 * @param start Starts the service from the config the main thread sent.
 * @example
 * ```ts
 * // worker.ts
 * import { serveInWorker } from "@monkey/shared/workers";
 * serveInWorker((config) => startMyService(config));
 * ```
 */
export function serveInWorker(
  start: (config: unknown) => WorkerService | Promise<WorkerService>,
): void {
  const scope = globalThis as unknown as WorkerScope;
  let service: WorkerService | undefined;
  const crash = (reason: unknown) => {
    scope.postMessage({ type: "crashed", message: messageOf(reason) });
    scope.close();
  };
  scope.addEventListener("error", (event) => {
    event.preventDefault();
    crash(event.error ?? event.message);
  });
  scope.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    crash(event.reason);
  });
  scope.onmessage = async (event) => {
    const message = event.data;
    if (message.type === "start") {
      try {
        service = await start(message.config);
        scope.postMessage({ type: "started", addr: service.addr });
      } catch (error) {
        scope.postMessage({ type: "failed", message: messageOf(error) });
        scope.close();
      }
      return;
    }
    try {
      const reply = await answer(service, message);
      scope.postMessage(reply);
      if (reply.type === "stopped") scope.close();
    } catch (error) {
      scope.postMessage({ type: "error", id: message.id, message: messageOf(error) });
      if (message.type === "shutdown") scope.close();
    }
  };
}

async function answer(
  service: WorkerService | undefined,
  message: WorkerAsk & { id: number },
): Promise<WorkerReply> {
  const { id } = message;
  if (service === undefined) throw new Error(`service not started (got '${message.type}')`);
  switch (message.type) {
    case "stats":
      return { type: "stats", id, stats: statsOf(service, message.extra === true) };
    case "http": {
      if (!service.fetch) {
        return { type: "http", id, response: { status: 404, headers: [], body: "" } };
      }
      const response = await service.fetch(toRequest(message.request));
      return { type: "http", id, response: await toMessage(response) };
    }
    case "reload":
      if (!service.reload) {
        return { type: "reloaded", id, ok: false, message: "reload not supported" };
      }
      try {
        return { type: "reloaded", id, ok: true, result: await service.reload(message.config) };
      } catch (error) {
        return { type: "reloaded", id, ok: false, message: messageOf(error) };
      }
    case "shutdown": {
      const summary = await service.shutdown(message.graceMs);
      return { type: "stopped", id, summary, stats: statsOf(service, false) };
    }
  }
}

function statsOf(service: WorkerService, extra: boolean): WorkerStats {
  return {
    snapshot: service.snapshot() as Record<string, unknown>,
    families: service.families(),
    extra: extra ? service.extra?.() : undefined,
  };
}

function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0]!;
}
