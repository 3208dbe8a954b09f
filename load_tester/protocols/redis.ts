/**
 * Redis: commands sent as RESP arrays of bulk strings, replies parsed as RESP2/RESP3 (simple
 * strings, errors, integers, bulk strings, arrays, maps, sets, nested). A top-level error
 * reply (`-ERR ...`, `!<len>`) is an error of kind `reply_error` carrying the server's message.
 *
 * @module
 */

import { ConfigError } from "@monkey/shared";
import { LoadError } from "../errors.ts";
import { ByteBuffer, escapeSample, indexOfByte } from "./_buffer.ts";
import { type RenderContext, Template } from "./templates.ts";
import { type ProtocolClient, ReplyVerdict } from "./types.ts";

const CR = 0x0d;
const LF = 0x0a;
const DOLLAR = 0x24;
const STAR = 0x2a;
/** Deepest nesting parsed. */
const MAX_DEPTH = 64;
/** The command when none is given. */
export const DEFAULT_REDIS_COMMAND = "PING";

/**
 * Split a command line into arguments: whitespace separates, `"..."` and `'...'` quote.
 *
 * @param line The command, e.g. `SET "a key" {{bytes:8}}`.
 * @param origin Where it came from, for the error message.
 * @returns The arguments.
 * @throws {ConfigError} On an empty command or an unclosed quote.
 * @example
 * ```ts
 * splitCommand('SET "a b" 1', "flag --command"); // ["SET", "a b", "1"]
 * ```
 */
export function splitCommand(line: string, origin: string): string[] {
  const args: string[] = [];
  const re = /\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([^\s"']+))/gy;
  let at = 0;
  while (at < line.length) {
    if (/^\s*$/.test(line.slice(at))) break;
    re.lastIndex = at;
    const m = re.exec(line);
    if (m === null) {
      throw new ConfigError(`Cannot parse ${origin}: unclosed quote in '${line}'`);
    }
    args.push(m[1] ?? m[2] ?? m[3]!);
    at = re.lastIndex;
  }
  if (args.length === 0) throw new ConfigError(`Cannot parse ${origin}: empty command`);
  return args;
}

interface Command {
  fixed: Uint8Array | undefined;
  args: Template[];
}

function compile(line: string, origin: string): Command {
  const args = splitCommand(line, origin).map((a) => Template.parse(a, origin));
  if (args.every((a) => a.fixed !== undefined)) {
    const out = new ByteBuffer(64);
    writeCommand(out, args, { conn: 0, seq: 0 });
    return { fixed: out.view().slice(), args };
  }
  return { fixed: undefined, args };
}

function writeCommand(out: ByteBuffer, args: readonly Template[], ctx: RenderContext): void {
  out.pushByte(STAR);
  out.pushInt(args.length);
  out.pushCrlf();
  for (const arg of args) {
    const fixed = arg.fixed;
    const length = fixed !== undefined ? fixed.length : arg.prepare(ctx);
    out.pushByte(DOLLAR);
    out.pushInt(length);
    out.pushCrlf();
    if (fixed !== undefined) out.push(fixed);
    else arg.writePrepared(out);
    out.pushCrlf();
  }
}

/**
 * Check redis settings without connecting (bad templates fail here, at startup).
 *
 * @param commands Commands (empty: `PING`).
 * @param firstSend The once-per-connection command.
 * @throws {ConfigError} On a bad command.
 */
export function validateRedis(commands: readonly string[], firstSend: string | undefined): void {
  void new RedisClient(commands, firstSend);
}

/**
 * One connection's Redis state.
 *
 * @example
 * ```ts
 * const client = new RedisClient(["PING"], undefined);
 * ```
 */
export class RedisClient extends ReplyVerdict implements ProtocolClient {
  /** Commands in rotation order. */
  readonly mix: readonly string[];
  readonly #commands: Command[];
  readonly #first: Command | undefined;
  #next = 0;

  /**
   * Compile the commands.
   *
   * @param commands Commands (empty: `PING`).
   * @param firstSend Sent once per connection.
   * @throws {ConfigError} On a bad command or template.
   */
  constructor(commands: readonly string[], firstSend: string | undefined) {
    super();
    const list = commands.length > 0 ? commands : [DEFAULT_REDIS_COMMAND];
    this.mix = list;
    this.#commands = list.map((c) => compile(c, "flag --command"));
    this.#first = firstSend !== undefined ? compile(firstSend, "flag --first-send") : undefined;
  }

  /** {@inheritDoc ProtocolClient.firstSend} */
  firstSend(ctx: RenderContext): Uint8Array | undefined {
    const first = this.#first;
    if (first === undefined) return undefined;
    if (first.fixed !== undefined) return first.fixed;
    const out = new ByteBuffer(256);
    writeCommand(out, first.args, ctx);
    return out.view();
  }

  /** {@inheritDoc ProtocolClient.write} */
  write(out: ByteBuffer, ctx: RenderContext): number {
    const index = this.#next;
    this.#next = index + 1 === this.#commands.length ? 0 : index + 1;
    const command = this.#commands[index]!;
    if (command.fixed !== undefined) out.push(command.fixed);
    else writeCommand(out, command.args, ctx);
    return index;
  }

  /** {@inheritDoc ProtocolClient.parse} */
  parse(buf: Uint8Array, start: number, end: number, _mix: number): number {
    const after = skipValue(buf, start, end, 0);
    if (after < 0) return -1;
    const type = buf[start];
    if (type === 0x2d /* - */) {
      this.error = "reply_error";
      this.sample = latin1(buf, start + 1, after - 2);
    } else if (type === 0x21 /* ! */) {
      this.error = "reply_error";
      const body = buf.indexOf(LF, start) + 1;
      this.sample = latin1(buf, body, after - 2);
    } else this.error = undefined;
    return after;
  }
}

/** Index after the RESP value at `pos`, or -1 when incomplete. */
function skipValue(buf: Uint8Array, pos: number, end: number, depth: number): number {
  if (pos >= end) return -1;
  if (depth > MAX_DEPTH) throw new LoadError("unexpected_reply", "RESP nested too deep");
  const type = buf[pos]!;
  const cr = lineEnd(buf, pos + 1, end);
  if (cr < 0) return -1;
  const afterLine = cr + 2;
  switch (type) {
    case 0x2b: // + simple string
    case 0x2d: // - error
    case 0x3a: // : integer
    case 0x5f: // _ null
    case 0x2c: // , double
    case 0x23: // # boolean
    case 0x28: // ( big number
      return afterLine;
    case 0x24: // $ bulk string
    case 0x21: // ! bulk error
    case 0x3d: { // = verbatim string
      const length = readInt(buf, pos + 1, cr);
      if (length < 0) return afterLine;
      const after = afterLine + length + 2;
      return after <= end ? after : -1;
    }
    case 0x2a: // * array
    case 0x7e: // ~ set
    case 0x3e: // > push
    case 0x25: // % map
    case 0x7c: { // | attribute (followed by the value it annotates)
      let count = readInt(buf, pos + 1, cr);
      if (count < 0) return afterLine;
      if (type === 0x25 || type === 0x7c) count *= 2;
      let at = afterLine;
      for (let i = 0; i < count; i++) {
        at = skipValue(buf, at, end, depth + 1);
        if (at < 0) return -1;
      }
      return type === 0x7c ? skipValue(buf, at, end, depth + 1) : at;
    }
    default:
      throw new LoadError(
        "unexpected_reply",
        `not a RESP reply: '${escapeSample(buf.subarray(pos, Math.min(end, pos + 48)))}'`,
      );
  }
}

/** Index of the `\r` of the `\r\n` ending the line that starts at `from`, or -1. */
function lineEnd(buf: Uint8Array, from: number, end: number): number {
  const lf = indexOfByte(buf, LF, from, end);
  if (lf < 0) return -1;
  if (buf[lf - 1] !== CR) {
    throw new LoadError(
      "unexpected_reply",
      `RESP line without \\r\\n: '${escapeSample(buf.subarray(from - 1, lf + 1))}'`,
    );
  }
  return lf - 1;
}

function readInt(buf: Uint8Array, from: number, to: number): number {
  let negative = false;
  let i = from;
  if (buf[i] === 0x2d) {
    negative = true;
    i++;
  }
  let n = 0;
  for (; i < to; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) {
      throw new LoadError(
        "unexpected_reply",
        `bad RESP length: '${escapeSample(buf.subarray(from - 1, to))}'`,
      );
    }
    n = n * 10 + d;
  }
  return negative ? -n : n;
}

function latin1(buf: Uint8Array, from: number, to: number): string {
  return new TextDecoder().decode(buf.subarray(from, Math.max(from, to)));
}
