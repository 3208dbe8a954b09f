/**
 * `@monkey/load-tester`: the load generator (placeholder until its issue lands).
 *
 * @module
 */

/** This package's version. */
export const VERSION = "0.1.0";
