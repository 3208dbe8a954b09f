/**
 * The echo server's configuration schema.
 *
 * @module
 */

import { commonFields, type ConfigOf } from "@monkey/shared";

/** Keys of `echo.toml`; each is also a flag. */
export const ECHO_SCHEMA = {
  listen_addr: {
    type: "address",
    default: "127.0.0.1:8081",
    aliases: ["listen"],
    description: "TCP address to echo on",
  },
  ...commonFields("127.0.0.1:9091"),
  max_connections: {
    type: "integer",
    default: 10_000,
    min: 0,
    max: 1_000_000,
    description: "Connections beyond this are closed at once; 0 = unlimited",
  },
  idle_timeout_secs: {
    type: "number",
    default: 0,
    min: 0,
    max: 86_400,
    description: "Close a connection silent this long; 0 = off",
  },
} as const;

/** The echo server's validated configuration. */
export type EchoConfig = ConfigOf<typeof ECHO_SCHEMA>;
