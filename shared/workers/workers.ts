/**
 * Multi-core services: N Deno Workers each run the service and listen on the same port with
 * SO_REUSEPORT (the kernel spreads connections), while the main thread serves one metrics
 * endpoint that adds up the workers' metrics.
 *
 * Needs `--unstable-net` (set for the workspace in deno.json: `"unstable": ["net"]`).
 *
 * @module
 */

import type { Hono } from "hono";
import { ServiceError } from "../service/errors.ts";
import { startEndpoint, type StartEndpointOptions } from "../http/serve.ts";
import { createMetricsApp, type HttpEndpoint } from "../http/app.ts";
import type { Logger } from "../service/logger.ts";
import { mergeFamilies, type MetricFamily, renderFamilies } from "../metrics/registry.ts";

/** What a worker-side service exposes to the main thread. */
export interface WorkerService {
  /** Bound listen address. */
  readonly addr: string;
  /** JSON metrics snapshot. */
  snapshot(): object;
  /** Prometheus families. */
  families(): MetricFamily[];
  /** Extra per-service data (e.g. per-client rows). */
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
  /** Extra data. */
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

type Ask =
  | { type: "stats" }
  | { type: "shutdown"; graceMs: number }
  | { type: "http"; request: HttpMessage }
  | { type: "reload"; config: unknown };

type WorkerRequest = { type: "start"; config: unknown } | (Ask & { id: number });

type Reply =
  | { type: "started"; addr: string }
  | { type: "failed"; message: string }
  | { type: "stats"; id: number; stats: WorkerStats }
  | { type: "http"; id: number; response: HttpMessage }
  | { type: "reloaded"; id: number; ok: boolean; result?: unknown; message?: string }
  | {
    type: "stopped";
    id: number;
    summary: { total_connections: number; forced: number };
    stats: WorkerStats;
  };

interface WorkerScope {
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(message: Reply): void;
  close(): void;
}

/**
 * Worker side: start the service when asked, answer stats requests, shut down when asked.
 * Call once at the top level of a worker module.
 *
 * @param start Starts the service from the config the main thread sent.
 */
export function serveInWorker(
  start: (config: unknown) => WorkerService | Promise<WorkerService>,
): void {
  const scope = globalThis as unknown as WorkerScope;
  let service: WorkerService | undefined;
  scope.onmessage = async (event) => {
    const message = event.data;
    if (message.type === "start") {
      try {
        service = await start(message.config);
        scope.postMessage({ type: "started", addr: service.addr });
      } catch (error) {
        scope.postMessage({ type: "failed", message: (error as Error).message ?? String(error) });
        scope.close();
      }
    } else if (message.type === "stats" && service) {
      scope.postMessage({ type: "stats", id: message.id, stats: statsOf(service) });
    } else if (message.type === "http" && !service?.fetch) {
      const response = { status: 404, headers: [], body: "" };
      scope.postMessage({ type: "http", id: message.id, response });
    } else if (message.type === "http" && service?.fetch) {
      const { method, url, headers, body } = message.request;
      const init: RequestInit = { method: method ?? "GET", headers };
      if (body !== "" && method !== "GET" && method !== "HEAD") init.body = body;
      const response = await service.fetch(new Request(`http://worker${url ?? "/"}`, init));
      scope.postMessage({ type: "http", id: message.id, response: await toMessage(response) });
    } else if (message.type === "reload" && !service?.reload) {
      scope.postMessage({
        type: "reloaded",
        id: message.id,
        ok: false,
        message: "reload not supported",
      });
    } else if (message.type === "reload" && service?.reload) {
      try {
        const result = await service.reload(message.config);
        scope.postMessage({ type: "reloaded", id: message.id, ok: true, result });
      } catch (error) {
        scope.postMessage({
          type: "reloaded",
          id: message.id,
          ok: false,
          message: (error as Error).message,
        });
      }
    } else if (message.type === "shutdown" && service) {
      const summary = await service.shutdown(message.graceMs);
      scope.postMessage({ type: "stopped", id: message.id, summary, stats: statsOf(service) });
      scope.close();
    }
  };
}

function statsOf(service: WorkerService): WorkerStats {
  return {
    snapshot: service.snapshot() as Record<string, unknown>,
    families: service.families(),
    extra: service.extra?.(),
  };
}

/** Workers running one service on one shared port. */
export class WorkerGroup {
  /** The address every worker listens on. */
  readonly addr: string;
  #workers: Worker[];
  #next = 0;
  #final: WorkerStats[] | undefined;
  #pending = new Map<number, (reply: Reply) => void>();

  private constructor(addr: string, workers: Worker[]) {
    this.addr = addr;
    this.#workers = workers;
    for (const worker of workers) {
      worker.onmessage = (event: MessageEvent<Reply>) => {
        const reply = event.data;
        if ("id" in reply) {
          this.#pending.get(reply.id)?.(reply);
          this.#pending.delete(reply.id);
        }
      };
    }
  }

  /**
   * Start `count` workers of `module`. The first binds the configured address (port 0 allowed);
   * the others bind the port it got, with SO_REUSEPORT.
   *
   * @param module URL of the worker module (it calls {@linkcode serveInWorker}).
   * @param count Number of workers (at least 1).
   * @param config The service config; `listen_addr` is rewritten for workers after the first.
   * @returns The running group.
   * @throws {Error} When a worker fails to start (its message, e.g. address in use).
   */
  static async start(
    module: URL,
    count: number,
    config: { listen_addr: string },
  ): Promise<WorkerGroup> {
    const workers: Worker[] = [];
    try {
      let addr = config.listen_addr;
      for (let i = 0; i < count; i++) {
        const worker = new Worker(module, { type: "module", name: `worker-${i + 1}` });
        workers.push(worker);
        addr = await startOne(worker, { ...config, listen_addr: addr });
      }
      return new WorkerGroup(addr, workers);
    } catch (error) {
      for (const worker of workers) worker.terminate();
      throw error;
    }
  }

  /** Number of workers. */
  get size(): number {
    return this.#workers.length;
  }

  #ask(
    worker: Worker,
    request: Ask,
  ): Promise<Reply> {
    const id = ++this.#next;
    const { promise, resolve } = Promise.withResolvers<Reply>();
    this.#pending.set(id, resolve);
    worker.postMessage({ ...request, id });
    return promise;
  }

  /**
   * Every worker's metrics (after shutdown: their final metrics).
   *
   * @returns One entry per worker.
   */
  async stats(): Promise<WorkerStats[]> {
    if (this.#final) return this.#final;
    const replies = await Promise.all(this.#workers.map((w) => this.#ask(w, { type: "stats" })));
    return replies.flatMap((r) => (r.type === "stats" ? [r.stats] : []));
  }

  /**
   * Send one HTTP request to every worker (each answers from its own app).
   *
   * @param request The request.
   * @returns One response per worker, in worker order.
   */
  async fetchAll(request: Request): Promise<Response[]> {
    const message = await toMessage(request);
    const replies = await Promise.all(
      this.#workers.map((w) => this.#ask(w, { type: "http", request: message })),
    );
    return replies.flatMap((r) =>
      r.type === "http"
        ? [
          new Response(r.response.body === "" ? null : r.response.body, {
            status: r.response.status ?? 200,
            headers: r.response.headers,
          }),
        ]
        : []
    );
  }

  /**
   * Apply a new configuration in every worker.
   *
   * @param config The configuration.
   * @returns The first worker's result.
   * @throws {Error} When a worker rejects it (its message).
   */
  async reloadAll(config: unknown): Promise<unknown> {
    const replies = await Promise.all(
      this.#workers.map((w) => this.#ask(w, { type: "reload", config })),
    );
    const failed = replies.find((r) => r.type === "reloaded" && !r.ok);
    if (failed && failed.type === "reloaded") throw new Error(failed.message ?? "reload failed");
    const first = replies[0];
    return first?.type === "reloaded" ? first.result : undefined;
  }

  /**
   * Shut every worker down gracefully, then terminate them.
   *
   * @param graceMs Grace period for live connections.
   * @returns Summed totals.
   */
  async shutdown(graceMs: number): Promise<{ total_connections: number; forced: number }> {
    const replies = await Promise.all(
      this.#workers.map((w) => this.#ask(w, { type: "shutdown", graceMs })),
    );
    for (const worker of this.#workers) worker.terminate();
    this.#final = replies.flatMap((r) => (r.type === "stopped" ? [r.stats] : []));
    let total = 0;
    let forced = 0;
    for (const reply of replies) {
      if (reply.type !== "stopped") continue;
      total += reply.summary.total_connections;
      forced += reply.summary.forced;
    }
    return { total_connections: total, forced };
  }
}

async function toMessage(message: Request | Response): Promise<HttpMessage> {
  const out: HttpMessage = { headers: [...message.headers], body: await message.text() };
  if (message instanceof Request) {
    const url = new URL(message.url);
    out.method = message.method;
    out.url = url.pathname + url.search;
  } else {
    out.status = message.status;
  }
  return out;
}

function startOne(worker: Worker, config: unknown): Promise<string> {
  const { promise, resolve, reject } = Promise.withResolvers<string>();
  worker.onmessage = (event: MessageEvent<Reply>) => {
    if (event.data.type === "started") resolve(event.data.addr);
    else if (event.data.type === "failed") reject(new Error(event.data.message));
  };
  worker.onerror = (event) => {
    event.preventDefault();
    reject(new Error(event.message));
  };
  worker.postMessage({ type: "start", config });
  return promise;
}

/**
 * Add up JSON snapshots of several workers: numbers are summed (`uptime_secs` takes the
 * largest), booleans are or-ed, anything else is taken from the first.
 *
 * @param snapshots One per worker.
 * @returns The merged snapshot.
 */
export function mergeSnapshots(
  snapshots: readonly Record<string, unknown>[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const snapshot of snapshots) {
    for (const [key, value] of Object.entries(snapshot)) {
      const prev = out[key];
      if (typeof value === "number" && typeof prev === "number") {
        out[key] = key.endsWith("uptime_secs") ? Math.max(prev, value) : prev + value;
      } else if (typeof value === "boolean" && typeof prev === "boolean") {
        out[key] = prev || value;
      } else if (!(key in out)) {
        out[key] = value;
      }
    }
  }
  return out;
}

/** Options for {@linkcode startWorkerCluster}. */
export interface WorkerClusterOptions {
  /** Service name for messages and the index page, e.g. "proxy". */
  name: string;
  /** The worker module (it calls {@linkcode serveInWorker}). */
  module: URL;
  /** The service config: how many workers, where they listen, where the endpoint goes. */
  config: { listen_addr: string; workers: number; metrics_addr: string; grace_period_secs: number };
  /** Logger for the endpoint. */
  logger: Logger;
  /** Merge the workers' JSON snapshots. @default mergeSnapshots */
  merge?: (snapshots: Record<string, unknown>[]) => Record<string, unknown>;
  /** Extra routes listed on `/`. @default [] */
  routes?: readonly (readonly [string, string])[];
  /** Add service routes (admin API, /clients) to the endpoint app. */
  addRoutes?: (app: Hono, group: WorkerGroup) => void;
  /** Endpoint options (e.g. the admin token, for the exposure warning). @default {} */
  endpoint?: StartEndpointOptions;
}

/** Workers on one port plus the main-thread endpoint adding up their metrics. */
export interface WorkerCluster {
  /** The shared listen address. */
  readonly addr: string;
  /** Bound metrics address, or undefined when off. */
  readonly metricsAddr: string | undefined;
  /** Workers running. */
  readonly workers: number;
  /** The workers. */
  readonly group: WorkerGroup;
  /** The endpoint app. */
  readonly app: Hono;
  /** Merged JSON metrics, with `draining` and `workers`. */
  snapshot(): Promise<Record<string, unknown>>;
  /** Drain every worker for `graceMs` (default: the config's grace period), stop the endpoint. */
  shutdown(
    graceMs?: number,
  ): Promise<{ total_connections: number; forced: number; uptime_secs: number }>;
}

/**
 * Start `config.workers` workers of a service on one port and serve one endpoint for them.
 *
 * @param options Service, worker module, config, logger, routes.
 * @returns The running cluster.
 * @throws {ServiceError} When the workers or the endpoint cannot bind.
 */
export async function startWorkerCluster(options: WorkerClusterOptions): Promise<WorkerCluster> {
  const { config } = options;
  const started = performance.now();
  let group: WorkerGroup;
  try {
    group = await WorkerGroup.start(options.module, config.workers, config);
  } catch (error) {
    throw new ServiceError(
      `Cannot start ${config.workers} ${options.name} workers on ${config.listen_addr}: ${
        (error as Error).message
      }`,
    );
  }
  const merge = options.merge ?? mergeSnapshots;
  let draining = false;
  const snapshot = async () => ({
    ...merge((await group.stats()).map((s) => s.snapshot)),
    draining,
    workers: group.size,
  });
  const app = createMetricsApp({
    service: `${options.name} (${group.size} workers)`,
    prometheus: async () =>
      renderFamilies(mergeFamilies((await group.stats()).map((s) => s.families))),
    snapshot,
    healthy: () => !draining,
    routes: options.routes ?? [],
  });
  options.addRoutes?.(app, group);
  let endpoint: HttpEndpoint | undefined;
  try {
    endpoint = startEndpoint(app, config.metrics_addr, options.logger, options.endpoint);
  } catch (error) {
    await group.shutdown(0);
    throw error;
  }
  return {
    addr: group.addr,
    metricsAddr: endpoint?.addr,
    workers: group.size,
    group,
    app,
    snapshot,
    async shutdown(graceMs = config.grace_period_secs * 1000) {
      draining = true;
      const summary = await group.shutdown(graceMs);
      await endpoint?.shutdown();
      return { ...summary, uptime_secs: (performance.now() - started) / 1000 };
    },
  };
}
