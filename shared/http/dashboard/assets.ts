/**
 * The files a dashboard or report page embeds, read at build time as text modules: uPlot
 * (with its MIT licence), the number formatting, the dashboard script and the styles. Nothing
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

/** uPlot 1.6.32 (IIFE build, defines `uPlot`), preceded by its MIT licence as a comment. */
export const UPLOT_JS: string = `/*! uPlot 1.6.32, https://github.com/leeoniya/uPlot\n${
  uplotLicense.replaceAll("*/", "* /")
}*/\n${uplotJs}`;

/** uPlot's stylesheet. */
export const UPLOT_CSS: string = uplotCss;

/** uPlot's licence text (MIT). */
export const UPLOT_LICENSE: string = uplotLicense;

/** `fmtBytes`, `fmtMicros`, `fmtSecs`, `fmtCount`, `fmtValue` for page scripts. */
export const FORMAT_JS: string = formatJs;

/** The live dashboard's script (needs `uPlot` and {@linkcode FORMAT_JS} first). */
export const DASHBOARD_JS: string = `${formatJs}\n${clientJs}`;

/** Dashboard and report styles (light and dark, narrow screens). */
export const DASHBOARD_CSS: string = styleCss;
