// deno-lint-ignore-file no-unused-vars
// Number formatting shared by the dashboards and the load test report, as the [METRICS]
// line writes them: 1.5MB, 850µs, 1.25ms. fmtBytes and fmtMicros are formatBytes and
// formatMicros of shared/config/units.ts themselves, put before this file by assets.ts.

/** Seconds as 42s, 3m05s, 2h03m. */
function fmtSecs(secs) {
  const s = Math.floor(secs);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** A count: integers grouped (12 345), fractions with up to 1 decimal. */
function fmtCount(n) {
  const rounded = Math.abs(n) >= 100 || Number.isInteger(n) ? Math.round(n) : n.toFixed(1);
  return String(rounded).replace(/\B(?=(\d{3})+(?!\d))/g, "\u202f");
}

/** Any value by unit (see DashUnit in view.ts). */
function fmtValue(value, unit) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value !== "number") return String(value);
  switch (unit) {
    case "bytes":
      return fmtBytes(value);
    case "us":
      return fmtMicros(value);
    case "ms":
      return fmtMicros(value * 1000);
    case "secs":
      return fmtSecs(value);
    case "percent":
      return `${(value * 100).toFixed(2)}%`;
    case "text":
      return String(value);
    default:
      return fmtCount(value);
  }
}

/** Axis splits of a logarithmic uPlot axis: the powers of ten in [min, max]. */
function logSplits(_u, _axis, min, max) {
  const splits = [];
  for (let e = Math.floor(Math.log10(Math.max(min, 1e-9))); 10 ** e <= max * 1.0001; e++) {
    if (10 ** e >= min * 0.9999) splits.push(10 ** e);
  }
  return splits.length > 0 ? splits : [min, max];
}
