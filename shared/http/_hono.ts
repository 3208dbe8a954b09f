/**
 * The Hono app behind an `HttpApp` (private: Hono's types stay out of the public API).
 *
 * @module
 */

import type { Hono } from "hono";
import type { HttpApp } from "./app.ts";

/**
 * The Hono app behind an {@linkcode HttpApp}: every HttpApp is one, made by `createMetricsApp()`
 * or `new Hono()`.
 *
 * @param app The app.
 * @returns The same object, typed as Hono.
 */
export function honoOf(app: HttpApp): Hono {
  return app as unknown as Hono;
}
