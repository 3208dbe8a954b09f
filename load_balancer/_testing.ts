/**
 * Load-balancer test helpers: tagged echo backends (they say who they are) and clients that
 * read which backend answered, and a load balancer for one test (`withLb`). Generic helpers (`waitFor`, `readLine`, `closedPortAddr`,
 * `splitAddr`) come from `@monkey/testing`.
 *
 * @module
 */

import { type EngineName, Logger, memorySink } from "@monkey/shared";
import { acceptLoop, dial, echoUntilEof, readLine, writeAll } from "@monkey/testing";
import { type LoadBalancer, startLoadBalancer } from "./balancer.ts";
import { type LbConfig, type LbConfigInput, loadLbConfig } from "./config.ts";

/** Echo buffer of a tagged backend. */
const ECHO_BUFFER = 16 * 1024;

/** A backend that writes `<tag>\n` on every connection, then echoes. */
export interface TaggedBackend {
  /** Its `host:port`. */
  readonly addr: string;
  /** Its tag. */
  readonly tag: string;
  /** Connections open now. */
  readonly open: number;
  /** Close the listener and every connection; resolves when all handlers ended. */
  close(): Promise<void>;
}

/**
 * Start a tagged echo backend on 127.0.0.1 (port 0 unless given).
 *
 * @param tag What it says on connect.
 * @param port Port to bind. @default 0
 * @returns The running backend.
 * @example
 * ```ts
 * const a = startTagged("a");
 * assert.equal(await tagOf(a.addr), "a");
 * ```
 */
export function startTagged(tag: string, port = 0): TaggedBackend {
  const greeting = new TextEncoder().encode(`${tag}\n`);
  const loop = acceptLoop(async (conn) => {
    await writeAll(conn, greeting);
    await echoUntilEof(conn, { bufferSize: ECHO_BUFFER });
  }, { port });
  return {
    addr: loop.addr,
    tag,
    get open() {
      return loop.live.size;
    },
    close: () => loop.close(),
  };
}

/**
 * Connect to a balancer in front of tagged backends and read which backend answered.
 *
 * @param addr The balancer's address.
 * @returns The connection and the tag (null when the balancer closed it).
 * @example
 * ```ts
 * const { conn, tag } = await connectTagged(lb.addr);
 * ```
 */
export async function connectTagged(
  addr: string,
): Promise<{ conn: Deno.TcpConn; tag: string | null }> {
  const conn = await dial(addr);
  return { conn, tag: await readLine(conn) };
}

/**
 * Open a connection, read the tag, close it.
 *
 * @param addr The balancer's address.
 * @returns The tag, or null when the balancer closed the client.
 * @example
 * ```ts
 * const tags = await Promise.all([tagOf(lb.addr), tagOf(lb.addr)]);
 * ```
 */
export async function tagOf(addr: string): Promise<string | null> {
  const { conn, tag } = await connectTagged(addr);
  conn.close();
  return tag;
}

/**
 * Send a line and read it back.
 *
 * @param conn A connection to an echo.
 * @param text The line (no newline).
 * @returns What came back.
 * @example
 * ```ts
 * assert.equal(await echoLine(conn, "ping"), "ping");
 * ```
 */
export async function echoLine(conn: Deno.Conn, text: string): Promise<string | null> {
  await writeAll(conn, new TextEncoder().encode(`${text}\n`));
  return await readLine(conn);
}

/**
 * Run `body` against a load balancer on port 0 with no endpoint and no active checks (unless
 * `config` says otherwise), logging at debug level into `lines`; shut down after.
 *
 * @param engine The I/O engine.
 * @param config Keys on top of the test defaults.
 * @param body The test.
 * @example
 * ```ts
 * await withLb("deno", { backends: [{ addr: a.addr }] }, async (lb) => {
 *   assert.equal(await tagOf(lb.addr), "a");
 * });
 * ```
 */
export async function withLb(
  engine: EngineName,
  config: LbConfigInput,
  body: (lb: LoadBalancer, lines: string[]) => Promise<void>,
): Promise<void> {
  const { sink, lines } = memorySink();
  const lb = startLoadBalancer({
    listen_addr: "127.0.0.1:0",
    metrics_addr: "off",
    health_check: { interval_ms: 0 },
    engine,
    ...config,
  }, { logger: new Logger({ sink, level: "debug" }) });
  try {
    await body(lb, lines);
  } finally {
    await lb.shutdown(0);
  }
}

/** The admin token {@linkcode withAdminLb} sets and {@linkcode adminRequest} sends. */
export const TEST_TOKEN = "test-token";

/**
 * {@linkcode withLb} with the admin token set to {@linkcode TEST_TOKEN}.
 *
 * @param engine The I/O engine.
 * @param config Keys on top of the test defaults.
 * @param body The test.
 * @returns Resolves after the balancer shut down.
 * @example
 * ```ts
 * await withAdminLb("deno", { backends: [] }, async (lb) => {
 *   assert.equal((await adminRequest(lb, "GET", "/backends")).status, 200);
 * });
 * ```
 */
export function withAdminLb(
  engine: EngineName,
  config: LbConfigInput,
  body: (lb: LoadBalancer, lines: string[]) => Promise<void>,
): Promise<void> {
  return withLb(engine, { admin_token: TEST_TOKEN, ...config }, body);
}

/**
 * An admin API request in process, with the test token.
 *
 * @param lb The balancer.
 * @param method HTTP method.
 * @param path The path.
 * @param body JSON body, if any.
 * @returns The response.
 * @example
 * ```ts
 * await adminRequest(lb, "POST", "/backends", { addr: b.addr });
 * ```
 */
export function adminRequest(
  lb: LoadBalancer,
  method: string,
  path: string,
  body?: unknown,
): Response | Promise<Response> {
  const init: RequestInit = { method, headers: { authorization: `Bearer ${TEST_TOKEN}` } };
  if (body !== undefined) init.body = JSON.stringify(body);
  return lb.app.request(path, init);
}

/**
 * Close tagged backends.
 *
 * @param backends The backends.
 * @returns Resolves when all are closed.
 * @example
 * ```ts
 * await closeAll([a, b]);
 * ```
 */
export async function closeAll(backends: TaggedBackend[]): Promise<void> {
  await Promise.all(backends.map((b) => b.close()));
}

/**
 * A load balancer for one test: port 0, no endpoint, no active checks, errors-only logging
 * (unless `config` says otherwise); `await using` shuts it down at the end of the scope.
 *
 * @param config Keys on top of the test defaults.
 * @returns The running balancer, disposable.
 * @example
 * ```ts
 * await using lb = startTestLb({ backends: [{ addr: a.addr }] });
 * ```
 */
export function startTestLb(config: LbConfigInput): LoadBalancer & AsyncDisposable {
  const lb = startLoadBalancer({
    listen_addr: "127.0.0.1:0",
    metrics_addr: "off",
    health_check: { interval_ms: 0 },
    ...config,
  }, { logger: new Logger({ name: "lb", level: "error" }) });
  return Object.assign(lb, { [Symbol.asyncDispose]: () => lb.shutdown(0).then(() => {}) });
}

/**
 * {@linkcode withAdminLb} in front of tagged backends started for the test (one per tag, all
 * in the default pool unless `config` says otherwise); the backends close after.
 *
 * @param engine The I/O engine.
 * @param tags One backend per tag.
 * @param config Keys on top of the test defaults, or a function of the started backends giving them.
 * @param body The test, given the balancer, the backends and the log lines.
 * @returns Resolves when everything is closed.
 * @example
 * ```ts
 * await withTaggedLb("deno", ["a", "b"], {}, async (lb) => {
 *   assert.equal(await tagOf(lb.addr), "a");
 * });
 * ```
 */
export async function withTaggedLb(
  engine: EngineName,
  tags: readonly string[],
  config: LbConfigInput | ((backends: TaggedBackend[]) => LbConfigInput),
  body: (lb: LoadBalancer, backends: TaggedBackend[], lines: string[]) => Promise<void>,
): Promise<void> {
  const backends = tags.map((tag) => startTagged(tag));
  try {
    const list = backends.map((b) => ({ addr: b.addr }));
    await withAdminLb(
      engine,
      { backends: list, ...(typeof config === "function" ? config(backends) : config) },
      (lb, lines) => body(lb, backends, lines),
    );
  } finally {
    await closeAll(backends);
  }
}

/**
 * The configuration a command line gives, written as in a shell (no file: defaults under it).
 *
 * @param commandLine Flags and values separated by single spaces.
 * @returns The normalised configuration.
 * @example
 * ```ts
 * assert.deepEqual(lbConfigFromFlags("--allow 10.0.0.0/8 --allow ::1").allow, ["10.0.0.0/8", "::1"]);
 * ```
 */
export function lbConfigFromFlags(commandLine: string): LbConfig {
  return loadLbConfig(commandLine.split(" ")).config;
}
