/**
 * 405 answers derived from an app's own routes: no hand-kept list of paths and methods.
 *
 * @module
 */

import type { Hono } from "hono";

/**
 * For every path the app serves, answer other methods with 405 and an `Allow` header listing
 * the methods its routes registered. Call after every route is added (middleware registered
 * for all methods with `use()` is not a route and is skipped).
 *
 * @param app The app whose routes to protect.
 * @example
 * ```ts
 * const app = new Hono();
 * app.get("/backends", list);
 * app.post("/backends", add);
 * answerMethodNotAllowed(app); // PUT /backends -> 405, Allow: GET, POST
 * ```
 */
export function answerMethodNotAllowed(app: Hono): void {
  const byPath = new Map<string, Set<string>>();
  for (const { method, path } of app.routes) {
    if (method === "ALL") continue;
    const methods = byPath.get(path) ?? new Set<string>();
    methods.add(method);
    byPath.set(path, methods);
  }
  for (const [path, methods] of byPath) {
    const allow = [...methods].join(", ");
    app.all(
      path,
      (c) => c.json({ error: `method ${c.req.method} not allowed on ${path}` }, 405, { allow }),
    );
  }
}
