/**
 * `@monkey/load-balancer`: the multi-backend TCP load balancer (placeholder until its issue lands).
 *
 * @module
 */

/** This package's version. */
export const VERSION = "0.1.0";
