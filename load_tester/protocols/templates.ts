/**
 * Request templates: escapes (`\r`, `\n`, `\t`, `\\`, `\xNN`) and placeholders `{{conn}}`,
 * `{{seq}}`, `{{rand:N}}`, `{{bytes:N}}`, rendered straight into a reused {@linkcode ByteBuffer}.
 * A template without placeholders is rendered once; `{{bytes:N}}` copies from a pool of random
 * printable bytes filled once per template (one memcpy per request, no allocation).
 *
 * @module
 */

import { concatBytes, ConfigError } from "@monkey/shared";
import { type ByteBuffer, digitCount } from "./_buffer.ts";

/** What a placeholder is rendered from. */
export interface RenderContext {
  /** Connection number (0-based, per engine). */
  conn: number;
  /** Request number on this connection (0-based). */
  seq: number;
}

type Part =
  | { kind: "literal"; bytes: Uint8Array }
  | { kind: "conn" }
  | { kind: "seq" }
  | { kind: "rand"; n: number }
  | { kind: "bytes"; n: number };

/** Placeholders known, for error messages. */
export const PLACEHOLDERS = "{{conn}}, {{seq}}, {{rand:N}}, {{bytes:N}}";
/** Largest `N` of `{{bytes:N}}`. */
const MAX_BYTES = 64 * 1024 * 1024;
/** Random offsets into the printable pool (so successive payloads differ). */
const POOL_SLACK = 4096;
const PRINTABLE_FIRST = 0x21;
const PRINTABLE_COUNT = 0x7e - 0x21 + 1;

/**
 * Turn escapes into bytes: `\r`, `\n`, `\t`, `\0`, `\\`, `\xNN`; any other backslash stays.
 *
 * @param text Text with escapes.
 * @param origin Where it came from, for the error message.
 * @returns The bytes (text is UTF-8 encoded).
 * @throws {ConfigError} On a malformed `\x` escape.
 * @example
 * ```ts
 * unescapeBytes("PING\\r\\n", "flag --send"); // bytes of "PING\r\n"
 * ```
 */
export function unescapeBytes(text: string, origin: string): Uint8Array {
  const out: number[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== "\\" || i + 1 >= text.length) {
      out.push(...encoder.encode(c));
      continue;
    }
    const next = text[++i]!;
    if (next === "r") out.push(0x0d);
    else if (next === "n") out.push(0x0a);
    else if (next === "t") out.push(0x09);
    else if (next === "0") out.push(0);
    else if (next === "\\") out.push(0x5c);
    else if (next === "x") {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) {
        throw new ConfigError(
          `Cannot parse ${origin}: '\\x' needs two hex digits, got '\\x${hex}' in '${text}'`,
        );
      }
      out.push(parseInt(hex, 16));
      i += 2;
    } else out.push(0x5c, ...encoder.encode(next));
  }
  return new Uint8Array(out);
}

/**
 * A compiled template.
 *
 * @example
 * ```ts
 * const t = Template.parse("SET key:{{rand:100}}", "flag --command");
 * const out = new ByteBuffer();
 * t.render(out, { conn: 0, seq: 0 });
 * ```
 */
export class Template {
  /** The source text. */
  readonly source: string;
  /** The rendered bytes when the template has no placeholder. */
  readonly fixed: Uint8Array | undefined;
  readonly #parts: Part[];
  readonly #pool: Uint8Array | undefined;
  readonly #values: Float64Array;

  private constructor(source: string, parts: Part[]) {
    this.source = source;
    this.#parts = parts;
    this.#values = new Float64Array(parts.length);
    const dynamic = parts.some((p) => p.kind !== "literal");
    this.fixed = dynamic
      ? undefined
      : concatBytes(...parts.map((p) => (p as { bytes: Uint8Array }).bytes));
    const widest = Math.max(0, ...parts.map((p) => (p.kind === "bytes" ? p.n : 0)));
    this.#pool = widest > 0 ? printablePool(widest + POOL_SLACK) : undefined;
  }

  /**
   * Compile a template.
   *
   * @param text The template.
   * @param origin Where it came from (`flag --send`), for the error message.
   * @param escapes Turn `\r`, `\n`, `\xNN` in the literal text into bytes. @default true
   * @returns The template.
   * @throws {ConfigError} On an unknown placeholder or a bad count.
   */
  static parse(text: string, origin: string, escapes = true): Template {
    const parts: Part[] = [];
    const literal = (s: string) => {
      if (s.length === 0) return;
      parts.push({
        kind: "literal",
        bytes: escapes ? unescapeBytes(s, origin) : new TextEncoder().encode(s),
      });
    };
    let at = 0;
    for (const match of text.matchAll(/\{\{(.*?)\}\}/g)) {
      literal(text.slice(at, match.index));
      at = match.index + match[0].length;
      parts.push(placeholder(match[1]!.trim(), match[0], origin));
    }
    literal(text.slice(at));
    return new Template(text, parts);
  }

  /**
   * Draw this request's values and return its length; {@linkcode Template.writePrepared}
   * then writes exactly that many bytes.
   *
   * @param ctx Connection and sequence numbers.
   * @returns Bytes the rendering takes.
   */
  prepare(ctx: RenderContext): number {
    const parts = this.#parts;
    const values = this.#values;
    let length = 0;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      switch (p.kind) {
        case "literal":
          length += p.bytes.length;
          break;
        case "conn":
          values[i] = ctx.conn;
          length += digitCount(ctx.conn);
          break;
        case "seq":
          values[i] = ctx.seq;
          length += digitCount(ctx.seq);
          break;
        case "rand": {
          const v = Math.floor(Math.random() * p.n);
          values[i] = v;
          length += digitCount(v);
          break;
        }
        case "bytes":
          values[i] = Math.floor(Math.random() * POOL_SLACK);
          length += p.n;
          break;
      }
    }
    return length;
  }

  /**
   * Write the values drawn by the last {@linkcode Template.prepare}.
   *
   * @param out Where to append.
   */
  writePrepared(out: ByteBuffer): void {
    const parts = this.#parts;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (p.kind === "literal") out.push(p.bytes);
      else if (p.kind === "bytes") {
        out.pushRange(this.#pool!, this.#values[i]!, p.n);
      } else out.pushInt(this.#values[i]!);
    }
  }

  /**
   * Render one request.
   *
   * @param out Where to append.
   * @param ctx Connection and sequence numbers.
   */
  render(out: ByteBuffer, ctx: RenderContext): void {
    if (this.fixed !== undefined) {
      out.push(this.fixed);
      return;
    }
    this.prepare(ctx);
    this.writePrepared(out);
  }
}

function placeholder(inner: string, whole: string, origin: string): Part {
  if (inner === "conn") return { kind: "conn" };
  if (inner === "seq") return { kind: "seq" };
  const match = /^(rand|bytes):(\d+)$/.exec(inner);
  if (match) {
    const n = Number(match[2]);
    const max = match[1] === "bytes" ? MAX_BYTES : Number.MAX_SAFE_INTEGER;
    if (n >= 1 && n <= max) return { kind: match[1] as "rand" | "bytes", n };
    throw new ConfigError(
      `Cannot parse ${origin}: ${match[1]}:N needs 1 <= N <= ${max}, got '${whole}'`,
    );
  }
  throw new ConfigError(
    `Cannot parse ${origin}: unknown template '${whole}' (known: ${PLACEHOLDERS})`,
  );
}

function printablePool(size: number): Uint8Array {
  const pool = new Uint8Array(size);
  crypto.getRandomValues(pool.subarray(0, Math.min(size, 65_536)));
  for (let i = 65_536; i < size; i++) pool[i] = pool[i % 65_536]! ^ (i >> 16);
  for (let i = 0; i < size; i++) pool[i] = PRINTABLE_FIRST + (pool[i]! % PRINTABLE_COUNT);
  return pool;
}
