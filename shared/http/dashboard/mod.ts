/**
 * Live dashboards for the services' HTTP endpoints: the page, its event stream, the view
 * types a service fills, and the embedded chart library for pages such as the load test
 * report.
 *
 * @example
 * ```ts
 * import { mountDashboard } from "@monkey/shared/http";
 * mountDashboard(app, "echo", { view: () => ({ title: "echo", stats: [], charts: [], tables: [] }) });
 * ```
 *
 * @module
 */

export * from "./assets.ts";
export * from "./mount.ts";
export * from "./page.ts";
export * from "./ticker.ts";
export * from "./view.ts";
