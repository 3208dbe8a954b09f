/**
 * Human units: durations (`500ms`, `10s`, `2m`), sizes (`64KiB`) and byte formatting.
 *
 * @module
 */

const DURATION_UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  k: 1000,
  kb: 1000,
  kib: 1024,
  m: 1e6,
  mb: 1e6,
  mib: 1024 ** 2,
  g: 1e9,
  gb: 1e9,
  gib: 1024 ** 3,
};

/**
 * Parse a duration in seconds: a plain number (`10`, `0.5`) or with a unit (`500ms`, `10s`, `2m`, `1h`).
 *
 * @param text The duration.
 * @returns Seconds, or `undefined` when the text is not a duration.
 * @example
 * ```ts
 * parseDuration("2m"); // 120
 * ```
 */
export function parseDuration(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * DURATION_UNITS[(match[2] ?? "s").toLowerCase()]!;
}

/**
 * Parse a byte size: a plain number or with a unit (`64KiB`, `1MB`, `2k`).
 *
 * @param text The size.
 * @returns Bytes, or `undefined` when the text is not a size.
 * @example
 * ```ts
 * parseSize("1KiB"); // 1024
 * ```
 */
export function parseSize(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (!match) return undefined;
  const factor = SIZE_UNITS[(match[2] || "b").toLowerCase()];
  if (factor === undefined) return undefined;
  return Math.round(Number(match[1]) * factor);
}

/**
 * Format a byte count the way the seed's log lines do: `512B`, `800.0KB`, `1.5MB`, `2.1GB`
 * (binary multiples, one decimal; a fraction under 1 KB is rounded). The dashboards and
 * reports run this very function in the browser (as `fmtBytes`, see
 * `shared/http/dashboard/assets.ts`): it must stay plain JavaScript once types are stripped.
 *
 * @param bytes A byte count.
 * @returns Short text.
 * @example
 * ```ts
 * formatBytes(1600); // "1.6KB"
 * ```
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${Math.round(bytes)}B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)}${units[unit]}`;
}

/**
 * Format a duration given in microseconds: `850µs`, `1.25ms`, `3.20s`. Also run in the browser
 * (as `fmtMicros`), like {@linkcode formatBytes}.
 *
 * @param micros Microseconds.
 * @returns Short text.
 * @example
 * ```ts
 * formatMicros(1500); // "1.50ms"
 * ```
 */
export function formatMicros(micros: number): string {
  if (micros < 1000) return `${Math.round(micros)}µs`;
  if (micros < 1_000_000) return `${(micros / 1000).toFixed(2)}ms`;
  return `${(micros / 1_000_000).toFixed(2)}s`;
}
