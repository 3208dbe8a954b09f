/**
 * The proxy's configuration schema: the seed's keys plus timeouts, limits and relay choice.
 *
 * @module
 */

import {
  ACCESS_FIELDS,
  CLIENT_GATE_FIELDS,
  commonFields,
  type ConfigOf,
  ENGINE_FIELDS,
  FORWARDING_FIELDS,
  HEALTH_CHECK_FIELDS,
  LIMIT_FIELDS,
  TLS_LISTEN_FIELDS,
  UPSTREAM_TLS_FIELDS,
  WORKERS_FIELDS,
} from "@monkey/shared";

/** Keys of the proxy's `[health_check]`: the load balancer's, off by default. */
export const PROXY_HEALTH_SCHEMA = {
  ...HEALTH_CHECK_FIELDS,
  interval_ms: {
    ...HEALTH_CHECK_FIELDS.interval_ms,
    default: 0,
    description: "Milliseconds between active checks of the target; 0 = no checks (default)",
  },
} as const;

/** Keys of `proxy.toml`; each is also a flag (`--listen-addr`, or `--listen`). */
export const PROXY_SCHEMA = {
  listen_addr: {
    type: "address",
    default: "127.0.0.1:3000",
    aliases: ["listen"],
    description: "TCP address clients connect to",
  },
  target_addr: {
    type: "address",
    default: "127.0.0.1:8081",
    aliases: ["target"],
    description: "TCP address connections are forwarded to",
  },
  ...commonFields("127.0.0.1:9090"),
  connect_timeout_ms: {
    type: "integer",
    default: 5000,
    min: 1,
    max: 600_000,
    description: "Milliseconds to wait for the target to accept",
  },
  ...WORKERS_FIELDS,
  ...ENGINE_FIELDS,
  ...LIMIT_FIELDS,
  ...FORWARDING_FIELDS,
  ...ACCESS_FIELDS,
  health_check: {
    type: "table",
    fields: PROXY_HEALTH_SCHEMA,
    description: "Active checks of the target: /health answers 503 while it fails them",
  },
  ...TLS_LISTEN_FIELDS,
  ...UPSTREAM_TLS_FIELDS,
  ...CLIENT_GATE_FIELDS,
  channel_buffer_size: {
    type: "ignored",
    flag: false,
    notice:
      "accepted for compatibility with the seed and ignored (metrics are plain counters, no channel)",
    description: "Seed key, ignored",
  },
} as const;

/** The proxy's validated configuration. */
export type ProxyConfig = ConfigOf<typeof PROXY_SCHEMA>;
