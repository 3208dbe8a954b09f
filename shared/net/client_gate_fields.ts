/**
 * The config keys of the PROXY protocol receive side and of the per-client limits, as the
 * proxy and the load balancer have them, and the gate built from them.
 *
 * @module
 */

import type { ConfigOf } from "../config/schema.ts";
import type { ThrottledLog } from "../service/logger.ts";
import { cidrItem } from "./cidr.ts";
import {
  ClientGate,
  type ClientGateCounters,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
} from "./client_gate.ts";
import type { TlsUpgrade } from "./tls_engine.ts";
import { ClientLimiter } from "./rate_limit.ts";

/** The `accept_proxy` values. */
export const ACCEPT_PROXY_MODES = ["off", "v1", "v2", "any"] as const;
/** The `proxy_fallback` values. */
export const PROXY_FALLBACKS = ["reject", "plain"] as const;

/** Spread into a service schema: `accept_proxy`, `trusted_proxies`, limits per client, ... */
export const CLIENT_GATE_FIELDS = {
  accept_proxy: {
    type: "enum",
    values: ACCEPT_PROXY_MODES,
    default: "off",
    description: "Read a PROXY protocol header from trusted_proxies: off, v1, v2 or any",
  },
  trusted_proxies: {
    type: "strings",
    default: [],
    item: cidrItem,
    flag: "trusted-proxy",
    description: "CIDR blocks whose connections must start with a PROXY header (repeatable)",
  },
  proxy_fallback: {
    type: "enum",
    values: PROXY_FALLBACKS,
    default: "reject",
    description: "With accept_proxy on, clients outside trusted_proxies: reject (close) or plain",
  },
  handshake_timeout_ms: {
    type: "integer",
    default: DEFAULT_HANDSHAKE_TIMEOUT_MS,
    min: 1,
    max: 600_000,
    description: "Milliseconds a trusted proxy has to send the PROXY header",
  },
  max_connections_per_client: {
    type: "integer",
    default: 0,
    min: 0,
    max: 1_000_000,
    description: "Live connections per client address (IPv6: /64), per worker; 0 = unlimited",
  },
  max_conn_rate_per_client: {
    type: "number",
    default: 0,
    min: 0,
    max: 1_000_000,
    description: "New connections per second per client address, per worker; 0 = unlimited",
  },
  max_conn_burst_per_client: {
    type: "integer",
    default: 0,
    min: 0,
    max: 1_000_000,
    description: "Connections a client may open at once above the rate, per worker; 0 = the rate",
  },
  rate_limit_exempt: {
    type: "strings",
    default: [],
    item: cidrItem,
    description: "CIDR blocks never limited per client (repeatable)",
  },
} as const;

/** The keys of {@linkcode CLIENT_GATE_FIELDS} as a validated config has them. */
export type ClientGateConfig = ConfigOf<typeof CLIENT_GATE_FIELDS>;

/**
 * Build the gate a service runs from its configuration.
 *
 * @param config The gate's keys.
 * @param admits Allow/deny of an address (read per connection).
 * @param wiring Counters, the throttled log, and the TLS start after the header (a
 *   service's `ServiceTls.upgrade`).
 * @returns The gate.
 * @example
 * ```ts
 * const gate = clientGateFromConfig(cfg, (ip) => access.admits(ip), { counters, throttled });
 * ```
 */
export function clientGateFromConfig(
  config: ClientGateConfig,
  admits: (ip: string) => boolean,
  wiring: {
    counters: ClientGateCounters;
    throttled: ThrottledLog;
    upgrade?: TlsUpgrade | undefined;
  },
): ClientGate {
  return new ClientGate({
    acceptProxy: config.accept_proxy,
    trustedProxies: config.trusted_proxies,
    proxyFallback: config.proxy_fallback,
    handshakeTimeoutMs: config.handshake_timeout_ms,
    admits,
    limiter: new ClientLimiter({
      maxConnectionsPerClient: config.max_connections_per_client,
      ratePerSec: config.max_conn_rate_per_client,
      burst: config.max_conn_burst_per_client,
      exempt: config.rate_limit_exempt,
    }),
    counters: wiring.counters,
    throttled: wiring.throttled,
    upgrade: wiring.upgrade,
  });
}
