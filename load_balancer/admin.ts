/**
 * The admin API, a Hono sub-app mounted beside `/metrics`: list, add, re-weight, drain, enable
 * and delete backends at runtime. Mutating routes need `Authorization: Bearer <token>` and
 * bodies of at most 64 KiB (see `admin_guard.ts`); other methods on a known path answer 405,
 * derived from the routes themselves.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { AddressError, formatAddress, type Logger, parseAddress } from "@monkey/shared";
import type { Backend, BackendSettings } from "./backend.ts";
import type { BackendPool } from "./pool.ts";
import { MAX_WEIGHT } from "./config.ts";
import { limitAdminBody, requireAdminToken } from "./admin_guard.ts";
import { answerMethodNotAllowed } from "./_method_not_allowed.ts";

export { MAX_BODY_BYTES, sameSecret } from "./admin_guard.ts";

const MAX_BACKEND_CONNECTIONS = 1_000_000;

/** Options for {@linkcode createAdminApp}. */
export interface AdminOptions {
  /** The backends the routes act on. */
  pool: BackendPool;
  /** The current admin token; undefined or empty refuses every mutating route (403). */
  token: () => string | undefined;
  /** Where to log each change. */
  logger?: Logger;
}

/** The admin routes, for the index page. */
export const ADMIN_ROUTES: readonly (readonly [string, string])[] = [
  ["GET /backends", "backends with state, connections, bytes, errors, last check"],
  ["POST /backends", "add {addr, weight, backup, max_connections} (token)"],
  ["PATCH /backends/:addr", "change {weight, backup, max_connections} (token)"],
  ["POST /backends/:addr/drain", "no new connections; live ones finish (token)"],
  ["POST /backends/:addr/enable", "undo drain or a pending delete (token)"],
  ["DELETE /backends/:addr", "drain, then remove when idle (token)"],
];

/** A rejected request: status and message. */
class HttpProblem extends Error {
  readonly status: 400 | 404 | 409;
  constructor(status: HttpProblem["status"], message: string) {
    super(message);
    this.status = status;
  }
}

/**
 * Build the admin API as a Hono app, to mount with `app.route("/", admin)`.
 *
 * @param options Pool, token and logger.
 * @returns The sub-app.
 * @example
 * ```ts
 * const app = createMetricsApp({ service: "load balancer", prometheus, snapshot, healthy });
 * app.route("/", createAdminApp({ pool, token: () => "secret" }));
 * await app.request("/backends/127.0.0.1:8081/drain", {
 *   method: "POST",
 *   headers: { authorization: "Bearer secret" },
 * });
 * ```
 */
export function createAdminApp(options: AdminOptions): Hono {
  const { pool } = options;
  const log = (message: string) => options.logger?.info(`admin: ${message}`);
  const admin = new Hono();
  const guard = [requireAdminToken(options.token), limitAdminBody()] as const;
  const find = (c: Context): Backend => {
    const addr = normaliseAddr(c.req.param("addr") ?? "");
    const backend = pool.get(addr);
    if (backend === undefined) throw new HttpProblem(404, `no backend ${addr}`);
    return backend;
  };

  admin.get("/backends", (c) => c.json(pool.snapshot()));

  admin.post("/backends", ...guard, async (c) => {
    const body = await readJsonObject(c);
    checkKeys(body, ["addr", "weight", "backup", "max_connections"]);
    if (typeof body["addr"] !== "string") {
      throw new HttpProblem(400, "expected 'addr' as a \"host:port\" string");
    }
    const addr = normaliseAddr(body["addr"]);
    const settings: BackendSettings = {
      weight: readWeight(body, 1),
      backup: readBackup(body, false),
      max_connections: readMaxConnections(body, 0),
    };
    const existing = pool.get(addr);
    if (existing !== undefined && !existing.removing) {
      throw new HttpProblem(409, `backend ${addr} already exists`);
    }
    if (existing !== undefined) {
      // Re-adding a backend that is still draining out: keep it, with the new settings.
      pool.restore(addr, settings);
      log(`re-added ${addr} (was being removed)`);
      return c.json(existing.snapshot(), 200);
    }
    const backend = pool.add({ addr, ...settings, source: "admin" });
    log(`added ${addr} (weight ${settings.weight}${settings.backup ? ", backup" : ""})`);
    return c.json(backend.snapshot(), 201);
  });

  admin.patch("/backends/:addr", ...guard, async (c) => {
    const backend = find(c);
    const body = await readJsonObject(c);
    checkKeys(body, ["weight", "backup", "max_connections"]);
    if (Object.keys(body).length === 0) {
      throw new HttpProblem(400, "expected at least one of weight, backup, max_connections");
    }
    pool.update(backend.addr, {
      weight: readWeight(body, backend.weight),
      backup: readBackup(body, backend.backup),
      max_connections: readMaxConnections(body, backend.maxConnections),
    });
    log(`changed ${backend.addr}: ${JSON.stringify(body)}`);
    return c.json(backend.snapshot());
  });

  admin.post("/backends/:addr/drain", ...guard, (c) => {
    const backend = find(c);
    pool.drain(backend.addr);
    log(`draining ${backend.addr} (${backend.active} live connections)`);
    return c.json(backend.snapshot());
  });

  admin.post("/backends/:addr/enable", ...guard, (c) => {
    const backend = find(c);
    pool.enable(backend.addr);
    log(`enabled ${backend.addr}`);
    return c.json(backend.snapshot());
  });

  admin.delete("/backends/:addr", ...guard, (c) => {
    const backend = find(c);
    const removed = pool.remove(backend.addr) === "removed";
    log(
      removed
        ? `removed ${backend.addr}`
        : `removing ${backend.addr} once its ${backend.active} connections finish`,
    );
    return c.json({ ...backend.snapshot(), removed }, removed ? 200 : 202);
  });

  answerMethodNotAllowed(admin);
  admin.onError((error, c) => {
    if (error instanceof HttpProblem) return c.json({ error: error.message }, error.status);
    if (error instanceof HTTPException) return error.getResponse();
    return c.json({ error: "internal error" }, 500);
  });
  return admin;
}

/**
 * Mount the admin API on an app (usually the one from `createMetricsApp`).
 *
 * @param app The Hono app.
 * @param options Pool, token and logger.
 * @example
 * ```ts
 * addAdminRoutes(app, { pool, token: () => "secret" });
 * ```
 */
export function addAdminRoutes(app: Hono, options: AdminOptions): void {
  app.route("/", createAdminApp(options));
}

async function readJsonObject(c: Context): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  if (text === "") throw new HttpProblem(400, "expected a JSON object body");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpProblem(400, "malformed JSON body");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HttpProblem(400, "expected a JSON object body");
  }
  return value as Record<string, unknown>;
}

function checkKeys(body: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) {
      throw new HttpProblem(400, `unknown field '${key}' (allowed: ${allowed.join(", ")})`);
    }
  }
}

function normaliseAddr(text: string): string {
  try {
    const parsed = parseAddress(text);
    if (parsed.port === 0) throw new AddressError(text, "expected a port 1-65535");
    return formatAddress(parsed);
  } catch (error) {
    if (!(error instanceof AddressError)) throw error;
    throw new HttpProblem(400, `bad backend address: ${error.message}`);
  }
}

function readInteger(
  body: Record<string, unknown>,
  key: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (!Object.hasOwn(body, key)) return fallback;
  const value = body[key];
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new HttpProblem(
      400,
      `expected '${key}' as an integer ${min}-${max}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function readWeight(body: Record<string, unknown>, fallback: number): number {
  return readInteger(body, "weight", fallback, 1, MAX_WEIGHT);
}

function readMaxConnections(body: Record<string, unknown>, fallback: number): number {
  return readInteger(body, "max_connections", fallback, 0, MAX_BACKEND_CONNECTIONS);
}

function readBackup(body: Record<string, unknown>, fallback: boolean): boolean {
  if (!Object.hasOwn(body, "backup")) return fallback;
  if (typeof body["backup"] !== "boolean") {
    throw new HttpProblem(400, `expected 'backup' as true or false`);
  }
  return body["backup"];
}
