/**
 * What stands before every mutating admin route: the bearer token (Hono's `bearerAuth`, with a
 * constant-time compare of SHA-256 digests, so neither content nor length leaks) and the body
 * limit (Hono's `bodyLimit`, which counts a body without a declared length while reading it).
 *
 * Answers: 403 when no token is configured, 401 (with `WWW-Authenticate: Bearer
 * realm="monkey-lb"`) for a missing, malformed or wrong token, 413 for a body over
 * {@linkcode MAX_BODY_BYTES}; every body is JSON `{"error": "..."}`.
 *
 * @module
 */

import { createHash, timingSafeEqual } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { bodyLimit } from "hono/body-limit";

/** Request bodies larger than this are refused with 413. */
export const MAX_BODY_BYTES = 64 * 1024;

/** The realm named in 401 answers. */
export const ADMIN_REALM = "monkey-lb";

const DISABLED = "admin API disabled: set admin_token (or MONKEY_ADMIN_TOKEN) to allow changes";
const MISSING = "missing 'Authorization: Bearer <token>'";
const WRONG = "wrong admin token";

/**
 * Compare two secrets without leaking where they differ or their lengths.
 *
 * @param given The presented value.
 * @param expected The configured value.
 * @returns True when equal.
 * @example
 * ```ts
 * sameSecret("s3cret", "s3cret"); // true
 * sameSecret("s3cre", "s3cret"); // false
 * ```
 */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * Middleware: refuse the request unless it carries the current admin token. The token is read
 * per request, so a reload that changes it applies at once.
 *
 * @param token The configured token; undefined or empty refuses every request (403).
 * @returns The middleware.
 * @example
 * ```ts
 * app.post("/backends", requireAdminToken(() => config.admin_token), handler);
 * ```
 */
export function requireAdminToken(token: () => string | undefined): MiddlewareHandler {
  const challenge = `Bearer realm="${ADMIN_REALM}"`;
  const refuse = (message: string) => ({
    wwwAuthenticateHeader: challenge,
    message: (c: Context) => c.json({ error: message }, 401),
  });
  const bearer = bearerAuth({
    verifyToken: (given) => {
      const expected = token();
      return expected !== undefined && expected !== "" && sameSecret(given, expected);
    },
    realm: ADMIN_REALM,
    noAuthenticationHeader: refuse(MISSING),
    // bearerAuth answers 400 to a malformed header; the API has always answered 401.
    invalidAuthenticationHeader: refuse(MISSING),
    invalidToken: refuse(WRONG),
  });
  return async (c, next) => {
    const expected = token();
    if (expected === undefined || expected === "") return c.json({ error: DISABLED }, 403);
    return await bearer(c, next);
  };
}

/**
 * Middleware: refuse bodies over {@linkcode MAX_BODY_BYTES} with 413, whether the length is
 * declared or not (a chunked body is counted while read and never held past the limit).
 *
 * @returns The middleware.
 * @example
 * ```ts
 * app.post("/backends", limitAdminBody(), handler);
 * ```
 */
export function limitAdminBody(): MiddlewareHandler {
  return bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => c.json({ error: `request body over ${MAX_BODY_BYTES} bytes` }, 413),
  });
}
