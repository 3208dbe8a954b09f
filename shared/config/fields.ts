/**
 * Config keys every service shares: limits, forwarding, endpoint, grace period, logging.
 *
 * @module
 */

import { LOG_LEVELS, type LogLevel } from "../service/logger.ts";
import type { AddressField, EnumField, NumberField, StringField } from "./schema.ts";
import { PROXY_PROTOCOL_MODES } from "../net/proxy_protocol.ts";
import { ENGINE_CHOICES } from "../net/engine.ts";
import { RELAY_MODES } from "../net/relay.ts";

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

/** `engine`, as every service has it. */
export const ENGINE_FIELDS = {
  engine: {
    type: "enum",
    values: ENGINE_CHOICES,
    default: "auto",
    description:
      "I/O engine: 'auto' (epoll on Linux with --allow-ffi, else deno), 'epoll' or 'deno'",
  },
} as const;

/** `workers`: Deno Workers sharing the listen port (the proxy and the load balancer). */
export const WORKERS_FIELDS = {
  workers: {
    type: "integer",
    default: 1,
    min: 1,
    max: 64,
    description: "Deno Workers sharing the listen port (SO_REUSEPORT); 1 = run on the main thread",
  },
} as const;

/** `relay` and `proxy_protocol`, as the proxy and the load balancer have them. */
export const FORWARDING_FIELDS = {
  relay: {
    type: "enum",
    values: RELAY_MODES,
    default: "loop",
    description: "Relay of the deno engine: 'loop' (read/write) or 'streams' (pipeTo)",
  },
  proxy_protocol: {
    type: "enum",
    values: PROXY_PROTOCOL_MODES,
    default: "off",
    description: "Send the client's address upstream first: off, v1 or v2 (HAProxy send-proxy)",
  },
} as const;

/**
 * Keys of `[health_check]`: active checks of a TCP address (the load balancer's backends,
 * the proxy's target). Checks every 2 s by default; the proxy turns them off by default.
 */
export const HEALTH_CHECK_FIELDS = {
  interval_ms: {
    type: "integer",
    default: 2000,
    min: 0,
    max: 3_600_000,
    description: "Milliseconds between active checks; 0 = no active checks",
  },
  timeout_ms: {
    type: "integer",
    default: 1000,
    min: 1,
    max: 600_000,
    description: "A check slower than this fails",
  },
  rise: {
    type: "integer",
    default: 2,
    min: 1,
    max: 1000,
    description: "Consecutive successes that bring a down address up",
  },
  fall: {
    type: "integer",
    default: 3,
    min: 1,
    max: 1000,
    description: "Consecutive failures that take an up address down",
  },
  send: {
    type: "string",
    optional: true,
    description: "Text sent after connecting (TOML escapes like \\r\\n work)",
  },
  expect: {
    type: "string",
    optional: true,
    description: "Text the reply must contain for the check to pass",
  },
} as const;

/** Largest grace period accepted, in seconds (one day). */
const MAX_GRACE_SECS = 86_400;

/** The schema fields of {@linkcode commonFields}. */
export interface CommonFields {
  /** `metrics_addr`: the endpoint's `host:port`, or `off`. */
  readonly metrics_addr: AddressField & { readonly default: string };
  /** `grace_period_secs`: seconds live connections get on shutdown. */
  readonly grace_period_secs: NumberField & { readonly default: number };
  /** `metrics_log_interval_secs`: seconds between `[METRICS]` lines; 0 disables. */
  readonly metrics_log_interval_secs: NumberField & { readonly default: number };
  /** `log_level`: error, warn, info or debug. */
  readonly log_level: EnumField<LogLevel> & { readonly default: LogLevel };
  /** `pid_file`: where the process id is written at start (removed at exit); unset = none. */
  readonly pid_file: StringField & { readonly optional: true };
}

/**
 * Schema fields every service has: metrics endpoint, grace period, summary interval, log level,
 * PID file.
 *
 * @param metricsDefault Default `metrics_addr` of the service.
 * @returns Schema fields to spread into a service schema.
 * @example
 * ```ts
 * const SCHEMA = { ...commonFields("127.0.0.1:9090"), port: { type: "integer", default: 1, description: "a port" } } as const;
 * ```
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
    pid_file: {
      type: "string",
      optional: true,
      description: "Write the process id here at start, remove it at exit (needs --allow-write)",
    },
  } as const;
}
