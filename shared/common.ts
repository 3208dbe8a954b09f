/**
 * Config keys every service shares, and starting the HTTP endpoint with its address rules.
 *
 * @module
 */

import type { Hono } from "hono";
import { bindError } from "./cli.ts";
import { type HttpEndpoint, serveHttp } from "./http.ts";
import { LOG_LEVELS, type Logger } from "./logger.ts";
import { PROXY_PROTOCOL_MODES } from "./proxy_protocol.ts";
import { RELAY_MODES } from "./relay.ts";

/** Largest idle timeout accepted, in seconds (a week). */
const MAX_IDLE_SECS = 86_400 * 7;
/** Largest connection limit accepted. */
const MAX_CONNECTIONS = 1_000_000;

/** `idle_timeout_secs` and `max_connections`, as every TCP service has them. */
export const LIMIT_FIELDS = {
  idle_timeout_secs: {
    type: "number",
    default: 0,
    min: 0,
    max: MAX_IDLE_SECS,
    description: "Close connections with no traffic either way for this long; 0 = off",
  },
  max_connections: {
    type: "integer",
    default: 10_000,
    min: 0,
    max: MAX_CONNECTIONS,
    description: "Live connections beyond this are closed at once (and counted); 0 = unlimited",
  },
} as const;

/** `relay` and `proxy_protocol`, as the proxy and the load balancer have them. */
export const FORWARDING_FIELDS = {
  relay: {
    type: "enum",
    values: RELAY_MODES,
    default: "loop",
    description: "Relay implementation: 'loop' (read/write) or 'streams' (pipeTo)",
  },
  proxy_protocol: {
    type: "enum",
    values: PROXY_PROTOCOL_MODES,
    default: "off",
    description: "Send the client's address upstream first: off, v1 or v2 (HAProxy send-proxy)",
  },
} as const;

/** Largest grace period accepted, in seconds (one day). */
const MAX_GRACE_SECS = 86_400;

/** The schema fields of {@linkcode commonFields}. */
export type CommonFields = ReturnType<typeof makeCommonFields>;

/**
 * Schema fields every service has: metrics endpoint, grace period, summary interval, log level.
 *
 * @param metricsDefault Default `metrics_addr` of the service.
 * @returns Schema fields to spread into a service schema.
 */
export function commonFields(metricsDefault: string): CommonFields {
  return makeCommonFields(metricsDefault);
}

function makeCommonFields(metricsDefault: string) {
  return {
    metrics_addr: {
      type: "address",
      allowOff: true,
      default: metricsDefault,
      aliases: ["metrics"],
      description: "HTTP metrics endpoint host:port, or 'off'",
    },
    grace_period_secs: {
      type: "number",
      default: 30,
      min: 0,
      max: MAX_GRACE_SECS,
      description: "Seconds live connections get to finish on shutdown",
    },
    metrics_log_interval_secs: {
      type: "number",
      default: 10,
      min: 0,
      max: MAX_GRACE_SECS,
      description: "Seconds between [METRICS] summary lines; 0 disables",
    },
    log_level: {
      type: "enum",
      values: LOG_LEVELS,
      default: "info",
      description: "error, warn, info or debug (debug logs every connection)",
    },
  } as const;
}

/** Options for {@linkcode startEndpoint}. */
export interface StartEndpointOptions {
  /**
   * The endpoint also serves an admin API guarded by this token (undefined: no token, so
   * changes are refused). Omit for services without admin routes.
   */
  admin?: { token: string | undefined };
  /** Serves the app; tests pass a fake to check the exposure warning. @default serveHttp */
  serve?: (app: Hono, addr: string) => HttpEndpoint;
}

/**
 * Serve the metrics app on `metricsAddr` unless it is "off"; warn when it is not loopback
 * (and say what an admin API without a token means there). The warning never shows a token.
 *
 * @param app The Hono app.
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
  app: Hono,
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
 */
export function isLoopbackAddr(addr: string): boolean {
  const host = addr.startsWith("[")
    ? addr.slice(1, addr.indexOf("]"))
    : addr.slice(0, addr.lastIndexOf(":"));
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}
