/**
 * Reading a service's metrics endpoint in tests: the Prometheus text parsed into samples, or
 * the JSON snapshot, from a Hono app (no socket) or a running endpoint.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parsePrometheus } from "@monkey/shared";
import type { RequestableApp } from "./bad_http.ts";

/** Where metrics come from: a service's Hono app, or the `host:port` of a running endpoint. */
export type MetricsSource = RequestableApp | string;

async function get(source: MetricsSource, path: string): Promise<Response> {
  const res = typeof source === "string"
    ? await fetch(`http://${source}${path}`)
    : await source.request(path);
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`GET ${path} answered ${res.status}, expected 200`);
  }
  return res;
}

/**
 * `GET /metrics` parsed into samples: `name{labels}` → value.
 *
 * @param source The app or `host:port`.
 * @returns Every sample.
 * @throws {Error} When the endpoint does not answer 200.
 * @example
 * ```ts
 * const samples = await scrapeMetrics(proxy.app);
 * assert.equal(samples.get("monkey_proxy_connections_total"), 1);
 * ```
 */
export async function scrapeMetrics(source: MetricsSource): Promise<Map<string, number>> {
  return parsePrometheus(await (await get(source, "/metrics")).text());
}

/**
 * `GET /metrics?format=json`: the service's snapshot.
 *
 * @param source The app or `host:port`.
 * @returns The parsed JSON.
 * @throws {Error} When the endpoint does not answer 200.
 * @example
 * ```ts
 * const snapshot = await metricsJson<{ accept_errors: number }>("127.0.0.1:9090");
 * ```
 */
export async function metricsJson<T = Record<string, unknown>>(source: MetricsSource): Promise<T> {
  return await (await get(source, "/metrics?format=json")).json() as T;
}

/**
 * Assert several samples at once (one failure lists every value that differs).
 *
 * @param samples Parsed samples, e.g. from {@linkcode scrapeMetrics}.
 * @param expected `name{labels}` → value.
 * @param message Shown on failure.
 * @example
 * ```ts
 * assertSamples(await scrapeMetrics(echo.app), { monkey_echo_connections_total: 2 });
 * ```
 */
export function assertSamples(
  samples: ReadonlyMap<string, number>,
  expected: Readonly<Record<string, number>>,
  message?: string,
): void {
  const got = Object.fromEntries(Object.keys(expected).map((key) => [key, samples.get(key)]));
  assert.deepEqual(got, expected, message);
}
