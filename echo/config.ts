/**
 * The echo server's configuration schema.
 *
 * @module
 */

import { commonFields, type ConfigOf, ENGINE_FIELDS, LIMIT_FIELDS } from "@monkey/shared";

/** Keys of `echo.toml`; each is also a flag. */
export const ECHO_SCHEMA = {
  listen_addr: {
    type: "address",
    default: "127.0.0.1:8081",
    aliases: ["listen"],
    description: "TCP address to echo on",
  },
  ...commonFields("127.0.0.1:9091"),
  ...ENGINE_FIELDS,
  ...LIMIT_FIELDS,
} as const;

/** The echo server's validated configuration. */
export type EchoConfig = ConfigOf<typeof ECHO_SCHEMA>;
