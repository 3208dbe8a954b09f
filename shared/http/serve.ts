/**
 * Starting the HTTP endpoint on `metrics_addr`, with its address rules and exposure warning.
 *
 * @module
 */

import { bindError } from "../service/errors.ts";
import type { Logger } from "../service/logger.ts";
import { type HttpApp, type HttpEndpoint, serveHttp } from "./app.ts";

/** Options for {@linkcode startEndpoint}. */
export interface StartEndpointOptions {
  /**
   * The endpoint also serves an admin API guarded by this token (undefined: no token, so
   * changes are refused). Omit for services without admin routes.
   */
  admin?: { token: string | undefined };
  /** Serves the app; tests pass a fake to check the exposure warning. @default serveHttp */
  serve?: (app: HttpApp, addr: string) => HttpEndpoint;
}

/**
 * Serve the metrics app on `metricsAddr` unless it is "off"; warn when it is not loopback
 * (and say what an admin API without a token means there). The warning never shows a token.
 *
 * @param app The app (from `createMetricsApp()`).
 * @param metricsAddr `host:port` or "off".
 * @param logger For the exposure warning.
 * @param options Admin token presence; a fake server for tests.
 * @returns The endpoint, or undefined when off.
 * @throws {ServiceError} When the address cannot be bound.
 * @example
 * ```ts
 * const endpoint = startEndpoint(app, "127.0.0.1:9090", logger);
 * await endpoint?.shutdown();
 * ```
 */
export function startEndpoint(
  app: HttpApp,
  metricsAddr: string,
  logger: Logger,
  options: StartEndpointOptions = {},
): HttpEndpoint | undefined {
  if (metricsAddr === "off") return undefined;
  let endpoint: HttpEndpoint;
  try {
    endpoint = (options.serve ?? serveHttp)(app, metricsAddr);
  } catch (error) {
    throw bindError("metrics_addr", metricsAddr, error);
  }
  const warning = exposureWarning(endpoint.addr, options.admin);
  if (warning !== undefined) logger.warn(warning);
  return endpoint;
}

/**
 * The warning for an HTTP endpoint bound beyond loopback, or undefined on loopback.
 *
 * @param addr The bound `host:port`.
 * @param admin Present when the endpoint serves an admin API, with its token (or undefined).
 * @returns One line, or undefined.
 * @example
 * ```ts
 * exposureWarning("0.0.0.0:9090"); // a warning line: metrics reachable beyond loopback
 * ```
 */
export function exposureWarning(
  addr: string,
  admin?: { token: string | undefined },
): string | undefined {
  if (isLoopbackAddr(addr)) return undefined;
  const base = `metrics endpoint ${addr} is reachable beyond this machine`;
  if (admin === undefined) return `${base}; bind it to 127.0.0.1 or firewall it`;
  if (admin.token === undefined || admin.token === "") {
    return `${base} and no admin_token is set: admin changes are refused, but anyone who ` +
      `can reach it reads metrics and backends`;
  }
  return `${base}: admin changes need the admin_token; metrics and backends are readable by ` +
    `anyone who can reach it`;
}

/**
 * Whether a `host:port` string names a loopback host.
 *
 * @param addr The address.
 * @returns True for 127.0.0.0/8, ::1 and localhost.
 * @example
 * ```ts
 * isLoopbackAddr("127.0.0.1:9090"); // true
 * ```
 */
export function isLoopbackAddr(addr: string): boolean {
  const host = addr.startsWith("[")
    ? addr.slice(1, addr.indexOf("]"))
    : addr.slice(0, addr.lastIndexOf(":"));
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}
