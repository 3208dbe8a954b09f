/**
 * The network plane: addresses, CIDR rules, connecting, the accept loop, the client-facing
 * frontend, the relay and its copy loop, the PROXY protocol, TLS (termination, origination,
 * certificate reload) and ClientHello inspection for SNI routing.
 *
 * @example
 * ```ts
 * import { parseAddress } from "@monkey/shared/net";
 * const { hostname, port } = parseAddress("[::1]:3000");
 * ```
 *
 * @module
 */

export * from "./address.ts";
export * from "./cidr.ts";
export * from "./connect.ts";
export * from "./copy.ts";
export * from "./echo.ts";
export * from "./engine.ts";
export * from "./frontend.ts";
export * from "./proxy_protocol.ts";
export * from "./relay.ts";
export * from "./server.ts";
export * from "./epoll/mod.ts";
export * from "./client_hello.ts";
export * from "./tls.ts";
export * from "./tls_engine.ts";
export * from "./tls_service.ts";
export * from "./proxy_protocol_parse.ts";
export * from "./rate_limit.ts";
export * from "./dns_wire.ts";
export * from "./dns.ts";
export * from "./discovery.ts";
export * from "./client_gate.ts";
export * from "./client_gate_fields.ts";
export * from "./bytes.ts";
