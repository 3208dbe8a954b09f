/**
 * Configuration errors and how rejected values are shown in them (short, printable, secrets
 * redacted).
 *
 * @module
 */

/** A configuration problem: bad file, key, value or flag. `main.ts` prints it and exits 2. */
export class ConfigError extends Error {
  /**
   * A config error with its one-line message.
   *
   * @param message One line naming the file or flag, the key and the bad value.
   */
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/**
 * Not an error: the command line asked for an answer instead of a run (`--version`, `--check`
 * of a valid configuration). `runMain` prints the message on stdout and exits 0.
 */
export class EarlyExit extends Error {
  /**
   * An early exit with what to print.
   *
   * @param message The answer, e.g. the version line.
   */
  constructor(message: string) {
    super(message);
    this.name = "EarlyExit";
  }
}

const MAX_SHOWN = 60;

/**
 * Show a rejected value in an error message: strings in single quotes, others as JSON,
 * cut to a readable length and stripped of control characters.
 *
 * @param value Any value.
 * @returns A short printable representation.
 * @example
 * ```ts
 * showValue("3000"); // "'3000'"
 * ```
 */
export function showValue(value: unknown): string {
  let text = typeof value === "string" ? `'${value}'` : safeJson(value);
  // deno-lint-ignore no-control-regex
  text = text.replace(/[\u0000-\u001f\u007f-\u009f\ufffd]/g, "?");
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}...` : text;
}

function safeJson(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Keys whose values are never echoed in messages (tokens, passwords, typos of them too). */
const SECRET_KEY = /(tok|secret|pass|pwd|api_?key|auth)[^.]*$/i;

/**
 * Show a value in an error message unless its key names a secret.
 *
 * @param key The key, e.g. `admin_token` or `backends[0].addr`.
 * @param value The rejected value.
 * @returns `'<redacted>'` for secrets, else {@linkcode showValue}.
 * @example
 * ```ts
 * showValueOf("admin_token", "hunter2"); // "'<redacted>'"
 * ```
 */
export function showValueOf(key: string, value: unknown): string {
  return SECRET_KEY.test(key) ? "'<redacted>'" : showValue(value);
}

/**
 * The first line of an error's message, trimmed.
 *
 * @param error Any thrown value.
 * @returns One line.
 * @example
 * ```ts
 * firstLine(new Error("a\nb")); // "a"
 * ```
 */
export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0]!.trim();
}
