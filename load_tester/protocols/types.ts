/**
 * What the engine needs from a protocol: render the next request into a buffer, and find (and
 * judge) one reply in the received bytes. The settings cross to Workers, so they are plain data.
 *
 * @module
 */

import type { ErrorKind } from "../errors.ts";
import type { ByteBuffer } from "./_buffer.ts";
import type { RenderContext } from "./templates.ts";

/** Protocols the load tester speaks. */
export const PROTOCOLS = ["echo", "redis", "http", "raw"] as const;
/** A protocol: `echo` (every byte verified), `redis` (RESP), `http` (HTTP/1.1), `raw`. */
export type Protocol = typeof PROTOCOLS[number];

/** A protocol's settings (plain data: it is posted to Workers). */
export interface ProtocolSpec {
  /** The protocol. */
  protocol: Protocol;
  /** Requests in flight per connection. */
  pipeline: number;
  /** redis: commands, rotated (`SET key:{{rand:100}} {{bytes:64}}`). */
  commands: string[];
  /** http: `METHOD PATH` requests, rotated. */
  requests: string[];
  /** http: extra `Name: value` headers. */
  headers: string[];
  /** http: request body. */
  body: Uint8Array | undefined;
  /** raw: the request template. */
  send: string | undefined;
  /** raw: the request as bytes (from `--send-file`, no templates). */
  send_bytes: Uint8Array | undefined;
  /** redis, raw: sent once per connection (`AUTH secret`). */
  first_send: string | undefined;
  /** raw: how a reply ends and what it must be (`line`, `bytes:N`, `regex:RE`, ...). */
  expect: string | undefined;
  /** raw: where a `prefix:` or `regex:` reply ends (`line`, `until:TEXT`, `bytes:N`). */
  expect_end: string;
  /** http: accepted statuses (`2xx,3xx`, `200,404`). */
  expect_status: string;
  /** http: the `Host` header. */
  host: string;
}

/** The echo protocol with no extra settings. */
export const ECHO_PROTOCOL: ProtocolSpec = {
  protocol: "echo",
  pipeline: 1,
  commands: [],
  requests: [],
  headers: [],
  body: undefined,
  send: undefined,
  send_bytes: undefined,
  first_send: undefined,
  expect: undefined,
  expect_end: "line",
  expect_status: "2xx,3xx",
  host: "",
};

/**
 * The last reply's verdict, the part of a {@linkcode ProtocolClient} that every request/reply
 * client keeps the same way: the clients extend it.
 *
 * @example
 * ```ts
 * class PongJudge extends ReplyVerdict {
 *   judge(reply: string): void {
 *     this.error = reply === "+PONG" ? undefined : "unexpected_reply";
 *     this.sample = reply;
 *   }
 * }
 * ```
 */
export class ReplyVerdict {
  /** The last parsed reply's error kind, or undefined when it was good. */
  error: ErrorKind | undefined = undefined;
  /**
   * With `error`: a short sample (redis: the server's message; http: the status line; raw: the
   * escaped reply).
   */
  sample = "";
  /** http: the last reply's status; 0 otherwise. */
  status = 0;
  /**
   * http: the last reply asked to close the connection (`Connection: close`, or HTTP/1.0
   * without keep-alive); always false otherwise.
   */
  close = false;
}

/** One connection's protocol state (request/reply protocols: redis, http, raw). */
export interface ProtocolClient extends ReplyVerdict {
  /** Labels of the request mix (commands or requests), in rotation order. */
  readonly mix: readonly string[];
  /**
   * Bytes to send once after connecting (`--first-send`), or undefined.
   *
   * @param ctx Connection number.
   * @returns The bytes.
   */
  firstSend(ctx: RenderContext): Uint8Array | undefined;
  /**
   * Append the next request.
   *
   * @param out Where to write.
   * @param ctx Connection and sequence numbers.
   * @returns Its index in {@linkcode ProtocolClient.mix}.
   */
  write(out: ByteBuffer, ctx: RenderContext): number;
  /**
   * Find one reply at `buf[start, end)` and judge it (sets `error`, `sample`, `status`, `close`).
   *
   * @param buf Received bytes.
   * @param start Where the reply starts.
   * @param end End of the received bytes.
   * @param mix The request's mix index; -1 for the first send's reply.
   * @returns Index after the reply, or -1 when it is not complete yet.
   * @throws {LoadError} When the bytes cannot be a reply (the connection is then dropped).
   */
  parse(buf: Uint8Array, start: number, end: number, mix: number): number;
}
