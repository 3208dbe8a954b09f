/**
 * The dashboard's HTML page and the security headers every dashboard response carries.
 *
 * @module
 */

/**
 * Content-Security-Policy of the dashboard: scripts, styles and the event stream from the
 * endpoint itself only; no inline script, no frames, no forms posting elsewhere.
 */
export const DASHBOARD_CSP: string = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** Headers of every dashboard response: CSP, nosniff, no referrer. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": DASHBOARD_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

/**
 * The dashboard page: a shell the script fills from `events` (relative URLs, so it works on
 * `/` and on `/dashboard`).
 *
 * @param service The service name, e.g. "proxy".
 * @returns The HTML document.
 * @example
 * ```ts
 * const html = dashboardHtml("echo");
 * ```
 */
export function dashboardHtml(service: string): string {
  const name = escapeHtml(service);
  return `${htmlStart(`monkey-d-tcp ${service}`)}<link rel="stylesheet" href="dashboard/uplot.css">
<link rel="stylesheet" href="dashboard/style.css">
</head>
<body data-service="${name}">
<header><h1 id="title">monkey-d-tcp ${name}</h1><span id="status">connecting…</span></header>
<section id="stats" class="stats"></section>
<section id="admin" class="panel" hidden>
  <strong>Admin</strong>
  <form id="token-form" autocomplete="off">
    <label for="token">token</label>
    <input id="token" type="password" placeholder="admin token" autocomplete="off">
    <button type="submit">Unlock actions</button>
  </form>
  <span id="admin-tools" hidden>
    <form id="weight-form">
      <select id="weight-backend" aria-label="backend"></select>
      <input id="weight" type="number" min="1" value="1" aria-label="weight">
      <button type="submit">Set weight</button>
      <button type="button" id="forget">Forget token</button>
    </form>
  </span>
  <span id="admin-status"></span>
</section>
<section id="charts" class="charts"></section>
<section id="tables"></section>
<details id="config" hidden><summary>Configuration</summary><div class="scroll"><table><tbody id="config-body"></tbody></table></div></details>
<footer>Live over server-sent events, one update per second; charts keep the last 5 minutes.
Charts by uPlot (MIT licence, in dashboard/uplot.js).</footer>
<script src="dashboard/uplot.js"></script>
<script src="dashboard/app.js"></script>
</body>
</html>
`;
}

/**
 * The start of an HTML page, up to and including its title (the head stays open): UTF-8,
 * viewport, light and dark colour schemes, no favicon request.
 *
 * @param title The page title (escaped here).
 * @returns The HTML, ending in a newline.
 * @example
 * ```ts
 * const html = `${htmlStart("report")}</head><body></body></html>`;
 * ```
 */
export function htmlStart(title: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<link rel="icon" href="data:,">
<title>${escapeHtml(title)}</title>
`;
}

/**
 * Escape text for HTML.
 *
 * @param text Any text.
 * @returns The text with `& < > " '` escaped.
 * @example
 * ```ts
 * escapeHtml("<b>"); // "&lt;b&gt;"
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`).replace(
    /&#60;|&#62;|&#38;/g,
    (e) => ({ "&#60;": "&lt;", "&#62;": "&gt;", "&#38;": "&amp;" })[e]!,
  );
}
