/**
 * {@linkcode WorkerGroup}: Deno Workers running one service on one shared port, asked for
 * stats, HTTP answers, reloads and shutdown by message.
 *
 * No request waits forever: every ask has a timeout and drops its pending entry when answered,
 * timed out, or when its worker dies. A worker that dies (uncaught error, unhandled
 * rejection, or a crash Deno reports) is logged once by name and left out from then on.
 *
 * @module
 */

import { Logger, ThrottledLog } from "../service/logger.ts";
import { toMessage, toResponse } from "./_http.ts";
import type {
  ShutdownSummary,
  WorkerAsk,
  WorkerReply,
  WorkerRequest,
  WorkerStats,
} from "./protocol.ts";

/** How long a stats, HTTP or reload request waits for one worker, in ms. */
export const ASK_TIMEOUT_MS = 1500;
/** How much longer than the grace period a shutdown request waits for one worker, in ms. */
export const SHUTDOWN_MARGIN_MS = 2000;

/** Options for {@linkcode WorkerGroup.start}. */
export interface WorkerGroupOptions {
  /** Where worker deaths and slow answers are reported. @default a console logger */
  logger?: Logger;
  /** How long one worker may take to answer a stats, HTTP or reload request. @default ASK_TIMEOUT_MS */
  askTimeoutMs?: number;
}

/** Options for {@linkcode WorkerGroup.stats}. */
export interface WorkerStatsOptions {
  /** Also fetch each worker's `extra()` data (e.g. per-client rows). @default false */
  extra?: boolean;
}

interface Member {
  readonly worker: Worker;
  readonly name: string;
  alive: boolean;
}

interface Pending {
  member: Member;
  resolve: (reply: WorkerReply | undefined) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * Workers running one service on one shared port.
 *
 * @example
 * ```ts
 * const group = await WorkerGroup.start(new URL("./worker.ts", import.meta.url), 2, {
 *   listen_addr: "127.0.0.1:0",
 * });
 * const stats = await group.stats();
 * await group.shutdown(1000);
 * ```
 */
export class WorkerGroup {
  #addr = "";
  #members: Member[] = [];
  #next = 0;
  #final: WorkerStats[] | undefined;
  #pending = new Map<number, Pending>();
  #logger: Logger;
  #throttled: ThrottledLog;
  #timeoutMs: number;

  private constructor(options: WorkerGroupOptions) {
    this.#logger = options.logger ?? new Logger({ name: "workers" });
    this.#throttled = new ThrottledLog(this.#logger);
    this.#timeoutMs = options.askTimeoutMs ?? ASK_TIMEOUT_MS;
  }

  /**
   * Start `count` workers of `module`. The first binds the configured address (port 0 allowed);
   * the others bind the port it got, with SO_REUSEPORT.
   *
   * @param module URL of the worker module (it calls `serveInWorker`).
   * @param count Number of workers (at least 1).
   * @param config The service config; `listen_addr` is rewritten for workers after the first.
   * @param options Logger and ask timeout.
   * @returns The running group.
   * @throws {Error} When a worker fails to start (its message, e.g. address in use).
   */
  static async start(
    module: URL,
    count: number,
    config: { listen_addr: string },
    options: WorkerGroupOptions = {},
  ): Promise<WorkerGroup> {
    const group = new WorkerGroup(options);
    try {
      let addr = config.listen_addr;
      for (let i = 0; i < count; i++) {
        addr = await group.#startOne(module, { ...config, listen_addr: addr });
      }
      group.#addr = addr;
      return group;
    } catch (error) {
      for (const member of group.#members) member.worker.terminate();
      throw error;
    }
  }

  /** Start one more worker; its crash handlers are in place from the first message on. */
  #startOne(module: URL, config: { listen_addr: string }): Promise<string> {
    const name = `worker-${this.#members.length + 1}`;
    const worker = new Worker(module, { type: "module", name });
    const member: Member = { worker, name, alive: true };
    this.#members.push(member);
    const started = Promise.withResolvers<string>();
    let starting = true;
    const fail = (message: string) => {
      if (starting) started.reject(new Error(message));
      else this.#died(member, message);
      starting = false;
    };
    worker.onmessage = (event: MessageEvent<WorkerReply>) => {
      const reply = event.data;
      if (reply.type === "started") {
        starting = false;
        started.resolve(reply.addr);
      } else if (reply.type === "failed" || reply.type === "crashed") fail(reply.message);
      else if ("id" in reply) this.#settle(reply.id, reply);
    };
    worker.onerror = (event) => {
      event.preventDefault();
      fail(event.message);
    };
    worker.onmessageerror = () => fail("unreadable message from the worker");
    worker.postMessage({ type: "start", config } satisfies WorkerRequest);
    return started.promise;
  }

  /** The address every worker listens on. */
  get addr(): string {
    return this.#addr;
  }

  /** Number of workers started. */
  get size(): number {
    return this.#members.length;
  }

  /** Number of workers still running (not crashed). */
  get alive(): number {
    return this.#members.filter((m) => m.alive).length;
  }

  /** Requests sent and not yet answered, timed out or abandoned (for tests). */
  get pending(): number {
    return this.#pending.size;
  }

  #settle(id: number, reply: WorkerReply | undefined): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    pending.resolve(reply);
  }

  #died(member: Member, message: string): void {
    if (!member.alive) return;
    member.alive = false;
    member.worker.terminate();
    this.#logger.error(
      `${member.name} died: ${message.split("\n")[0]} (${this.alive} of ${this.size} workers left)`,
    );
    for (const [id, pending] of this.#pending) {
      if (pending.member === member) this.#settle(id, undefined);
    }
  }

  /** Ask one worker; undefined when it is dead, dies, or does not answer in time. */
  #ask(
    member: Member,
    request: WorkerAsk,
    timeoutMs: number = this.#timeoutMs,
  ): Promise<WorkerReply | undefined> {
    if (!member.alive) return Promise.resolve(undefined);
    const id = ++this.#next;
    const { promise, resolve } = Promise.withResolvers<WorkerReply | undefined>();
    const timer = setTimeout(() => {
      this.#settle(id, undefined);
      this.#throttled.warn(
        `timeout:${member.name}`,
        `${member.name} did not answer '${request.type}' within ${timeoutMs} ms; left out`,
      );
    }, timeoutMs);
    this.#pending.set(id, { member, resolve, timer });
    member.worker.postMessage({ ...request, id } satisfies WorkerRequest);
    return promise;
  }

  #askAll(request: WorkerAsk, timeoutMs?: number): Promise<(WorkerReply | undefined)[]> {
    return Promise.all(this.#members.map((m) => this.#ask(m, request, timeoutMs)));
  }

  #failed(reply: WorkerReply | undefined, member: Member | undefined, what: string): void {
    if (reply?.type !== "error" || member === undefined) return;
    this.#throttled.warn(
      `error:${member.name}:${what}`,
      `${member.name} ${what}: ${reply.message}`,
    );
  }

  /**
   * Every live worker's metrics (after shutdown: their final metrics). Dead workers and
   * workers that do not answer within the ask timeout are left out.
   *
   * @param options Whether to fetch `extra()` data too.
   * @returns One entry per worker that answered.
   */
  async stats(options: WorkerStatsOptions = {}): Promise<WorkerStats[]> {
    if (this.#final) return this.#final;
    const replies = await this.#askAll({ type: "stats", extra: options.extra === true });
    return replies.flatMap((r, i) => {
      this.#failed(r, this.#members[i], "stats failed");
      return r?.type === "stats" ? [r.stats] : [];
    });
  }

  /**
   * Send one HTTP request to every live worker (each answers from its own app). A worker whose
   * handler throws answers 500 with its message; dead or silent workers are left out.
   *
   * @param request The request.
   * @returns At least one response, in worker order (a single 503 when no worker answered).
   */
  async fetchAll(request: Request): Promise<Response[]> {
    const message = await toMessage(request);
    const replies = await this.#askAll({ type: "http", request: message });
    const responses = replies.flatMap((r, i) => {
      if (r?.type === "http") return [toResponse(r.response)];
      if (r?.type === "error") {
        const name = this.#members[i]?.name;
        return [Response.json({ error: `${name}: ${r.message}` }, { status: 500 })];
      }
      return [];
    });
    if (responses.length > 0) return responses;
    return [Response.json({ error: "no worker answered" }, { status: 503 })];
  }

  /**
   * Apply a new configuration in every live worker.
   *
   * @param config The configuration.
   * @returns The first answering worker's result.
   * @throws {Error} When a worker rejects it (its message).
   */
  async reloadAll(config: unknown): Promise<unknown> {
    const replies = (await this.#askAll({ type: "reload", config })).filter((r) => r !== undefined);
    for (const reply of replies) {
      if (reply.type === "error") throw new Error(reply.message);
      if (reply.type === "reloaded" && !reply.ok) throw new Error(reply.message ?? "reload failed");
    }
    const first = replies[0];
    return first?.type === "reloaded" ? first.result : undefined;
  }

  /**
   * Shut every live worker down gracefully, then terminate them all. A worker that fails or
   * does not finish within `graceMs` plus {@linkcode SHUTDOWN_MARGIN_MS} is logged and
   * terminated; its connections are not counted.
   *
   * @param graceMs Grace period for live connections.
   * @returns Summed totals of the workers that stopped.
   */
  async shutdown(graceMs: number): Promise<ShutdownSummary> {
    const replies = await this.#askAll({ type: "shutdown", graceMs }, graceMs + SHUTDOWN_MARGIN_MS);
    const stats: WorkerStats[] = [];
    let total = 0;
    let forced = 0;
    replies.forEach((reply, i) => {
      const member = this.#members[i]!;
      if (reply?.type === "stopped") {
        stats.push(reply.stats);
        total += reply.summary.total_connections;
        forced += reply.summary.forced;
      } else if (reply?.type === "error") {
        this.#logger.error(`${member.name} shutdown failed: ${reply.message}`);
      }
      member.alive = false;
      member.worker.terminate();
    });
    this.#final = stats;
    for (const id of [...this.#pending.keys()]) this.#settle(id, undefined);
    return { total_connections: total, forced };
  }
}
