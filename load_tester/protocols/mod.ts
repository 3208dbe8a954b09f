/**
 * The protocols the load tester speaks, and building one connection's client from settings.
 *
 * @module
 */

import { ConfigError } from "@monkey/shared";
import { HttpClient } from "./http.ts";
import { RawClient } from "./raw.ts";
import { RedisClient } from "./redis.ts";
import type { ProtocolClient, ProtocolSpec } from "./types.ts";

export * from "./types.ts";
export { ByteBuffer, escapeSample } from "./_buffer.ts";
export { type RenderContext, Template, unescapeBytes } from "./templates.ts";
export { DEFAULT_HTTP_REQUEST, HttpClient, parseExpectStatus, statusClasses } from "./http.ts";
export { DEFAULT_REDIS_COMMAND, RedisClient, splitCommand } from "./redis.ts";
export { RawClient } from "./raw.ts";

/**
 * Build one connection's client for a request/reply protocol.
 *
 * @param spec The protocol settings (not `echo`).
 * @returns The client.
 * @throws {ConfigError} On bad settings (bad template, missing `--expect`, ...).
 * @example
 * ```ts
 * const client = createClient({ ...ECHO_PROTOCOL, protocol: "redis", commands: ["PING"] });
 * ```
 */
export function createClient(spec: ProtocolSpec): ProtocolClient {
  switch (spec.protocol) {
    case "redis":
      return new RedisClient(spec.commands, spec.first_send);
    case "http":
      return new HttpClient({
        requests: spec.requests,
        headers: spec.headers,
        body: spec.body,
        expectStatus: spec.expect_status,
        host: spec.host,
      });
    case "raw":
      return new RawClient({
        send: spec.send,
        sendBytes: spec.send_bytes,
        firstSend: spec.first_send,
        expect: spec.expect,
        expectEnd: spec.expect_end,
      });
    case "echo":
      throw new Error("the echo protocol has no request/reply client");
  }
}

/**
 * Check protocol settings at startup: a bad template, regex or request fails here with one
 * line, before any connection.
 *
 * @param spec The settings.
 * @param where The scenario, for the message.
 * @throws {ConfigError} On bad settings.
 */
export function validateProtocol(spec: ProtocolSpec, where = ""): void {
  const suffix = where ? ` (scenario '${where}')` : "";
  if (spec.protocol === "echo") {
    if (spec.pipeline > 1) {
      throw new ConfigError(
        `Cannot parse flag --pipeline: protocol echo sends one message at a time${suffix}; ` +
          `use --protocol raw, redis or http to pipeline, got '${spec.pipeline}'`,
      );
    }
    return;
  }
  createClient(spec);
}
