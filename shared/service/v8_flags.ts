/**
 * The V8 flags our services run with (the `deno task` commands, `deno task compile`, the demo
 * and the bench): a young generation capped at 2 MB per semi-space.
 *
 * Why: V8 grows the young generation from 1 MB up to 16 MB per semi-space when many objects
 * are allocated at once, as in a burst of new connections, and keeps the pages. With the cap,
 * the RSS per idle proxied connection (epoll engine, 2k -> 6k connections) went from 8.4 to
 * 4.3 KiB (medians of 3 interleaved runs). Steady ping-pong allocates almost nothing, so the
 * cap costs about one more young-generation GC a second under 1 KiB ping-pong (0.2-0.6 ms
 * each, 0.07% of the time at 100 connections, and shorter pauses at 500). 1 MB measured
 * worse (6.3 KiB: more objects promoted to the old generation) and 4 MB no better (5.1 KiB).
 *
 * @module
 */

/** `deno run --v8-flags=…` value for every service process. */
export const SERVICE_V8_FLAGS = "--max-semi-space-size=2";
