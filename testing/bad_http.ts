/**
 * Hostile and malformed HTTP requests for a service's Hono app, and the check that each gets
 * the expected status with a JSON error body: 404 for unknown routes, 405 for wrong methods,
 * 400 for malformed input, 413 for oversized bodies, and never a 500 or a stack trace.
 * Test support: imported as `@monkey/shared/bad-http`, never by a service.
 *
 * @module
 */

/** Anything with Hono's `request()`. */
export interface RequestableApp {
  /** Answer a request without a socket. */
  request(path: string, init?: RequestInit): Response | Promise<Response>;
}

/** One request and the status it must get. */
export interface HttpProbe {
  /** What is wrong with it, for the report. */
  name: string;
  /** Path and query. */
  path: string;
  /** Method, headers, body. @default GET */
  init?: RequestInit;
  /** The status it must get. */
  status: number;
}

/** Requests every service's metrics app must survive (routes from `createMetricsApp`). */
export const GENERIC_HTTP_PROBES: readonly HttpProbe[] = [
  { name: "unknown route", path: "/admin", status: 404 },
  { name: "unknown sub-route", path: "/metrics/extra", status: 404 },
  { name: "lone percent sign", path: "/%", status: 404 },
  { name: "invalid percent-encoding", path: "/%ff%fe", status: 404 },
  { name: "encoded NUL", path: "/metrics%00", status: 404 },
  { name: "dot segments", path: "/metrics/../../etc/passwd", status: 404 },
  { name: "very long path", path: `/${"a".repeat(16 * 1024)}`, status: 404 },
  { name: "bad query encoding", path: "/metrics?format=%zz", status: 200 },
  { name: "unknown format", path: "/metrics?format=xml", status: 200 },
  { name: "POST /metrics", path: "/metrics", init: { method: "POST", body: "{}" }, status: 405 },
  { name: "DELETE /health", path: "/health", init: { method: "DELETE" }, status: 405 },
  { name: "PUT /", path: "/", init: { method: "PUT", body: "x" }, status: 405 },
  { name: "PATCH /metrics", path: "/metrics", init: { method: "PATCH" }, status: 405 },
  {
    name: "oversized body to a GET route",
    path: "/metrics",
    init: { method: "POST", body: "x".repeat(1024 * 1024) },
    status: 405,
  },
];

const STACK = /\bat .*\.(ts|js):\d+|Error: .*\n\s+at /;

/**
 * Send every probe to an app and list what went wrong: an unexpected status, a 500, an error
 * answer without a JSON `error` field, or a stack trace anywhere in a body.
 *
 * @param app The service's Hono app.
 * @param probes The requests.
 * @returns One line per problem; empty when every probe was answered properly.
 * @example
 * ```ts
 * assert.deepEqual(await httpProbeProblems(proxy.app, GENERIC_HTTP_PROBES), []);
 * ```
 */
export async function httpProbeProblems(
  app: RequestableApp,
  probes: readonly HttpProbe[],
): Promise<string[]> {
  const problems: string[] = [];
  for (const probe of probes) {
    let res: Response;
    try {
      res = await app.request(probe.path, probe.init);
    } catch (error) {
      problems.push(`${probe.name}: request threw ${String(error)}`);
      continue;
    }
    const body = await res.text();
    const what = `${probe.name} (${probe.init?.method ?? "GET"} ${probe.path.slice(0, 40)})`;
    if (res.status !== probe.status) {
      problems.push(
        `${what}: status ${res.status}, expected ${probe.status}: ${body.slice(0, 200)}`,
      );
    }
    if (STACK.test(body)) problems.push(`${what}: stack trace in the body`);
    if (res.status >= 400) {
      let error: unknown;
      try {
        error = (JSON.parse(body) as { error?: unknown }).error;
      } catch {
        error = undefined;
      }
      if (typeof error !== "string" || error === "") {
        problems.push(`${what}: error answer without a JSON 'error' field: ${body.slice(0, 200)}`);
      }
    }
  }
  return problems;
}
