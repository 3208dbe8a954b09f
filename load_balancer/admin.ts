/**
 * The admin API, served by the same Hono app as `/metrics`: list, add, re-weight, drain,
 * enable and delete backends at runtime. Mutating routes need `Authorization: Bearer <token>`
 * (compared in constant time); with no token configured they answer 403.
 *
 * @module
 */

import { createHash, timingSafeEqual } from "node:crypto";
import type { Context, Hono } from "hono";
import { AddressError, formatAddress, type Logger, parseAddress } from "@monkey/shared";
import type { Backend, BackendPool } from "./backends.ts";
import { MAX_WEIGHT } from "./config.ts";

/** Request bodies larger than this are refused with 413. */
export const MAX_BODY_BYTES = 64 * 1024;
const MAX_BACKEND_CONNECTIONS = 1_000_000;

/** Options for {@linkcode addAdminRoutes}. */
export interface AdminOptions {
  /** The backends the routes act on. */
  pool: BackendPool;
  /** The current admin token; undefined or empty refuses every mutating route (403). */
  token: () => string | undefined;
  /** Where to log each change. */
  logger?: Logger;
}

/** The admin routes and their methods, for the index page and 405 answers. */
export const ADMIN_ROUTES: readonly (readonly [string, string])[] = [
  ["GET /backends", "backends with state, connections, bytes, errors, last check"],
  ["POST /backends", "add {addr, weight, backup, max_connections} (token)"],
  ["PATCH /backends/:addr", "change {weight, backup, max_connections} (token)"],
  ["POST /backends/:addr/drain", "no new connections; live ones finish (token)"],
  ["POST /backends/:addr/enable", "undo drain or a pending delete (token)"],
  ["DELETE /backends/:addr", "drain, then remove when idle (token)"],
];

/** Paths and allowed methods, for `methodNotAllowed`. */
export const ADMIN_METHODS: Readonly<Record<string, readonly string[]>> = {
  "/backends": ["GET", "POST"],
  "/backends/:addr": ["PATCH", "DELETE"],
  "/backends/:addr/drain": ["POST"],
  "/backends/:addr/enable": ["POST"],
};

/** A rejected request: status and message. */
class HttpProblem extends Error {
  readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 415;
  constructor(status: HttpProblem["status"], message: string) {
    super(message);
    this.status = status;
  }
}

/**
 * Add the admin routes to an app (usually the one from `createMetricsApp`).
 *
 * @param app The Hono app.
 * @param options Pool, token and logger.
 * @example
 * ```ts
 * addAdminRoutes(app, { pool, token: () => "secret" });
 * await app.request("/backends/127.0.0.1:8081/drain", {
 *   method: "POST",
 *   headers: { authorization: "Bearer secret" },
 * });
 * ```
 */
export function addAdminRoutes(app: Hono, options: AdminOptions): void {
  const { pool } = options;
  const log = (message: string) => options.logger?.info(`admin: ${message}`);

  const guarded = (handler: (c: Context) => Promise<Response> | Response) => async (c: Context) => {
    try {
      authorize(c.req.header("authorization"), options.token());
      return await handler(c);
    } catch (error) {
      if (!(error instanceof HttpProblem)) throw error;
      const headers: Record<string, string> = error.status === 401
        ? { "www-authenticate": 'Bearer realm="monkey-lb"' }
        : {};
      return c.json({ error: error.message }, error.status, headers);
    }
  };
  const find = (c: Context): Backend => {
    const addr = normaliseAddr(c.req.param("addr") ?? "");
    const backend = pool.get(addr);
    if (backend === undefined) throw new HttpProblem(404, `no backend ${addr}`);
    return backend;
  };

  app.get("/backends", (c) => c.json(pool.list().map((b) => b.snapshot())));

  app.post(
    "/backends",
    guarded(async (c) => {
      const body = await readJsonObject(c.req.raw);
      checkKeys(body, ["addr", "weight", "backup", "max_connections"]);
      if (typeof body["addr"] !== "string") {
        throw new HttpProblem(400, "expected 'addr' as a \"host:port\" string");
      }
      const addr = normaliseAddr(body["addr"]);
      const settings = {
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
        existing.removing = false;
        existing.draining = false;
        applySettings(existing, settings);
        log(`re-added ${addr} (was being removed)`);
        return c.json(existing.snapshot(), 200);
      }
      const backend = pool.add({ addr, ...settings });
      log(`added ${addr} (weight ${settings.weight}${settings.backup ? ", backup" : ""})`);
      return c.json(backend.snapshot(), 201);
    }),
  );

  app.patch(
    "/backends/:addr",
    guarded(async (c) => {
      const backend = find(c);
      const body = await readJsonObject(c.req.raw);
      checkKeys(body, ["weight", "backup", "max_connections"]);
      if (Object.keys(body).length === 0) {
        throw new HttpProblem(400, "expected at least one of weight, backup, max_connections");
      }
      applySettings(backend, {
        weight: readWeight(body, backend.weight),
        backup: readBackup(body, backend.backup),
        max_connections: readMaxConnections(body, backend.maxConnections),
      });
      log(`changed ${backend.addr}: ${JSON.stringify(body)}`);
      return c.json(backend.snapshot());
    }),
  );

  app.post(
    "/backends/:addr/drain",
    guarded((c) => {
      const backend = find(c);
      backend.draining = true;
      log(`draining ${backend.addr} (${backend.active} live connections)`);
      return c.json(backend.snapshot());
    }),
  );

  app.post(
    "/backends/:addr/enable",
    guarded((c) => {
      const backend = find(c);
      backend.draining = false;
      backend.removing = false;
      log(`enabled ${backend.addr}`);
      return c.json(backend.snapshot());
    }),
  );

  app.delete(
    "/backends/:addr",
    guarded((c) => {
      const backend = find(c);
      pool.remove(backend.addr);
      const removed = pool.get(backend.addr) === undefined;
      log(
        removed
          ? `removed ${backend.addr}`
          : `removing ${backend.addr} once its ${backend.active} connections finish`,
      );
      return c.json({ ...backend.snapshot(), removed }, removed ? 200 : 202);
    }),
  );
}

/**
 * Check a bearer token in constant time (both sides hashed to equal length first).
 *
 * @throws {HttpProblem} 403 when no token is configured, 401 when missing or wrong.
 */
function authorize(header: string | undefined, token: string | undefined): void {
  if (token === undefined || token === "") {
    throw new HttpProblem(
      403,
      "admin API disabled: set admin_token (or MONKEY_ADMIN_TOKEN) to allow changes",
    );
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  if (match === null) throw new HttpProblem(401, "missing 'Authorization: Bearer <token>'");
  if (!sameSecret(match[1]!, token)) throw new HttpProblem(401, "wrong admin token");
}

/**
 * Compare two secrets without leaking where they differ or their lengths.
 *
 * @param given The presented value.
 * @param expected The configured value.
 * @returns True when equal.
 */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

async function readJsonObject(request: Request): Promise<Record<string, unknown>> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) {
    throw new HttpProblem(413, `request body over ${MAX_BODY_BYTES} bytes`);
  }
  if (request.body === null) throw new HttpProblem(400, "expected a JSON object body");
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel();
      throw new HttpProblem(413, `request body over ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let off = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, off);
    off += chunk.length;
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
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

function applySettings(
  backend: Backend,
  settings: { weight: number; backup: boolean; max_connections: number },
): void {
  backend.weight = settings.weight;
  backend.backup = settings.backup;
  backend.maxConnections = settings.max_connections;
}
