/**
 * The files a dashboard or report page embeds, read at build time as text modules: uPlot
 * (with its MIT licence), the number formatting (partly the server's own functions, from their
 * source), the dashboard script and the styles. Nothing
 * is fetched at run time, and `deno compile` embeds them.
 *
 * @module
 */

import uplotJs from "uplot/dist/uPlot.iife.min.js" with { type: "text" };
import uplotCss from "uplot/dist/uPlot.min.css" with { type: "text" };
import uplotLicense from "uplot/LICENSE" with { type: "text" };
import formatJs from "./format.js" with { type: "text" };
import clientJs from "./client.js" with { type: "text" };
import styleCss from "./style.css" with { type: "text" };
import { formatBytes, formatMicros } from "../../config/units.ts";

/** A server function as a page script's function named `name`, from its transpiled source. */
function pageFunction(fn: (value: number) => string, name: string): string {
  const source = String(fn);
  const head = `function ${fn.name}(`;
  if (!source.startsWith(head)) throw new Error(`${fn.name} is not a plain function declaration`);
  return `function ${name}(${source.slice(head.length)}`;
}

/** fmtBytes and fmtMicros: the very functions the [METRICS] line formats with. */
const UNITS_JS = `${pageFunction(formatBytes, "fmtBytes")}\n${
  pageFunction(formatMicros, "fmtMicros")
}\n`;

/** uPlot 1.6.32 (IIFE build, defines `uPlot`), preceded by its MIT licence as a comment. */
export const UPLOT_JS: string = `/*! uPlot 1.6.32, https://github.com/leeoniya/uPlot\n${
  uplotLicense.replaceAll("*/", "* /")
}*/\n${uplotJs}`;

/** uPlot's stylesheet. */
export const UPLOT_CSS: string = uplotCss;

/** uPlot's licence text (MIT). */
export const UPLOT_LICENSE: string = uplotLicense;

/** `fmtBytes`, `fmtMicros`, `fmtSecs`, `fmtCount`, `fmtValue` for page scripts. */
export const FORMAT_JS: string = `${UNITS_JS}${formatJs}`;

/** The live dashboard's script (needs `uPlot` and {@linkcode FORMAT_JS} first). */
export const DASHBOARD_JS: string = `${FORMAT_JS}\n${clientJs}`;

/** Dashboard and report styles (light and dark, narrow screens). */
export const DASHBOARD_CSS: string = styleCss;
