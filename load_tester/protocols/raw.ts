/**
 * Raw TCP: a request template (`--send`, or bytes from `--send-file`), and `--expect` saying
 * where a reply ends and what it must be: `bytes:N`, `line`, `until:TEXT` (framing only), or
 * `exact:TEXT`, `prefix:TEXT`, `regex:RE` (checked; a failed check is an error of kind
 * `unexpected_reply` with an escaped sample). `prefix:` and `regex:` replies end where
 * `--expect-end` says (`line` by default).
 *
 * @module
 */

import { ConfigError } from "@monkey/shared";
import { ByteBuffer, escapeSample, indexOfByte, indexOfBytes } from "./_buffer.ts";
import { type RenderContext, Template, unescapeBytes } from "./templates.ts";
import { type ProtocolClient, ReplyVerdict } from "./types.ts";

const LF = 0x0a;

/** Where a reply ends. */
type End = { kind: "bytes"; n: number } | { kind: "until"; text: Uint8Array };
/** What a reply is checked against. */
type Check =
  | { kind: "none" }
  | { kind: "exact"; text: Uint8Array }
  | { kind: "prefix"; text: Uint8Array }
  | { kind: "regex"; re: RegExp };

/** What {@linkcode RawClient} is built from. */
export interface RawSettings {
  /** Request template. */
  send: string | undefined;
  /** Request bytes (from a file; no templates). */
  sendBytes: Uint8Array | undefined;
  /** Sent once per connection. */
  firstSend: string | undefined;
  /** `bytes:N`, `line`, `until:TEXT`, `exact:TEXT`, `prefix:TEXT` or `regex:RE`. */
  expect: string | undefined;
  /** Where `prefix:`/`regex:` replies end: `line`, `until:TEXT` or `bytes:N`. */
  expectEnd: string;
}

function parseEnd(text: string, origin: string): End {
  if (text === "line") return { kind: "until", text: new Uint8Array([LF]) };
  const m = /^(bytes|until):([\s\S]+)$/.exec(text);
  if (m?.[1] === "bytes" && /^\d+$/.test(m[2]!) && Number(m[2]) >= 1) {
    return { kind: "bytes", n: Number(m[2]) };
  }
  if (m?.[1] === "until") return { kind: "until", text: unescapeBytes(m[2]!, origin) };
  throw new ConfigError(
    `Cannot parse ${origin}: expected line, bytes:N or until:TEXT, got '${text}'`,
  );
}

function parseExpect(text: string | undefined, endText: string): { end: End; check: Check } {
  if (text === undefined) {
    throw new ConfigError(
      "Cannot parse flag --expect: protocol raw needs it (bytes:N, line, until:TEXT, exact:TEXT, prefix:TEXT or regex:RE), got nothing",
    );
  }
  const origin = "flag --expect";
  const colon = text.indexOf(":");
  const kind = colon < 0 ? text : text.slice(0, colon);
  const arg = colon < 0 ? "" : text.slice(colon + 1);
  switch (kind) {
    case "bytes":
    case "line":
    case "until":
      return { end: parseEnd(text, origin), check: { kind: "none" } };
    case "exact": {
      const bytes = unescapeBytes(arg, origin);
      if (bytes.length === 0) break;
      return { end: { kind: "bytes", n: bytes.length }, check: { kind: "exact", text: bytes } };
    }
    case "prefix": {
      const bytes = unescapeBytes(arg, origin);
      if (bytes.length === 0) break;
      return {
        end: parseEnd(endText, "flag --expect-end"),
        check: { kind: "prefix", text: bytes },
      };
    }
    case "regex": {
      let re: RegExp;
      try {
        re = new RegExp(arg);
      } catch (error) {
        throw new ConfigError(
          `Cannot parse ${origin}: the regex does not compile (${
            (error as Error).message
          }), got '${text}'`,
        );
      }
      return { end: parseEnd(endText, "flag --expect-end"), check: { kind: "regex", re } };
    }
  }
  throw new ConfigError(
    `Cannot parse ${origin}: expected bytes:N, line, until:TEXT, exact:TEXT, prefix:TEXT or regex:RE, got '${text}'`,
  );
}

/**
 * One connection's raw protocol state.
 *
 * @example
 * ```ts
 * const client = new RawClient({ send: "PING\\r\\n", sendBytes: undefined, firstSend: undefined,
 *   expect: "exact:+PONG\\r\\n", expectEnd: "line" });
 * ```
 */
export class RawClient extends ReplyVerdict implements ProtocolClient {
  /** The request. */
  readonly mix: readonly string[];
  readonly #send: Template | undefined;
  readonly #sendBytes: Uint8Array | undefined;
  readonly #first: Template | undefined;
  readonly #end: End;
  readonly #check: Check;
  readonly #decoder = new TextDecoder("latin1");

  /**
   * Compile the request and the reply rule.
   *
   * @param settings What to send and expect.
   * @throws {ConfigError} On a bad template, a missing or bad `--expect`, a regex that does not
   *   compile.
   */
  constructor(settings: RawSettings) {
    super();
    if (settings.send === undefined && settings.sendBytes === undefined) {
      throw new ConfigError(
        "Cannot parse flag --send: protocol raw needs --send TEXT or --send-file PATH, got neither",
      );
    }
    this.#send = settings.send !== undefined
      ? Template.parse(settings.send, "flag --send")
      : undefined;
    this.#sendBytes = settings.sendBytes;
    this.mix = [settings.send ?? "(send-file)"];
    this.#first = settings.firstSend !== undefined
      ? Template.parse(settings.firstSend, "flag --first-send")
      : undefined;
    const { end, check } = parseExpect(settings.expect, settings.expectEnd);
    this.#end = end;
    this.#check = check;
  }

  /** {@inheritDoc ProtocolClient.firstSend} */
  firstSend(ctx: RenderContext): Uint8Array | undefined {
    const first = this.#first;
    if (first === undefined) return undefined;
    if (first.fixed !== undefined) return first.fixed;
    const buffer = new ByteBuffer(first.prepare(ctx));
    first.writePrepared(buffer);
    return buffer.view();
  }

  /** {@inheritDoc ProtocolClient.write} */
  write(out: ByteBuffer, ctx: RenderContext): number {
    if (this.#sendBytes !== undefined) out.push(this.#sendBytes);
    else this.#send!.render(out, ctx);
    return 0;
  }

  /** {@inheritDoc ProtocolClient.parse} */
  parse(buf: Uint8Array, start: number, end: number, _mix: number): number {
    const rule = this.#end;
    let after: number;
    if (rule.kind === "bytes") after = start + rule.n <= end ? start + rule.n : -1;
    else {
      const at = rule.text.length === 1
        ? indexOfByte(buf, rule.text[0]!, start, end)
        : indexOfBytes(buf, rule.text, start, end);
      after = at < 0 || at + rule.text.length > end ? -1 : at + rule.text.length;
    }
    if (after < 0) return -1;
    const check = this.#check;
    let ok = true;
    if (check.kind === "exact" || check.kind === "prefix") {
      const text = check.text;
      if (after - start < text.length) ok = false;
      else for (let i = 0; ok && i < text.length; i++) ok = buf[start + i] === text[i];
    } else if (check.kind === "regex") {
      check.re.lastIndex = 0;
      ok = check.re.test(this.#decoder.decode(buf.subarray(start, after)));
    }
    if (ok) this.error = undefined;
    else {
      this.error = "unexpected_reply";
      this.sample = escapeSample(buf.subarray(start, after));
    }
    return after;
  }
}
