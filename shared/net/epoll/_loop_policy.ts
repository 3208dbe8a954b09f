/**
 * The epoll loop's timing policy: when it yields to Deno's event loop, how long it may block,
 * how much it does per turn. Each value was measured; the numbers are in the comments.
 *
 * @module
 */

/** Busy time after which the loop yields to Deno's event loop once (measured: costs ~0). */
export const YIELD_AFTER_MS = 5;
/**
 * Time after which the loop yields one macrotask (a message through a `MessageChannel`), busy
 * or not, so the runtime runs its due timers. An op that completes at once may never let the
 * runtime reach its timer phase: with only `epoll_wait` yields (and a 100 µs FFI sleep tried
 * instead), a 100 ms interval once fired 1 to 9 times in 3 s under ping-pong load and progress
 * lines, idle sweeps of Deno-side code and SSE updates stalled. The yield was a
 * `setTimeout(0)` until measured: it waits for the timer's next tick, 2.2 ms median (11% of
 * every 20 ms), the macrotask 15 µs alone and ~0.4 ms with the timers it lets run.
 */
export const PARK_AFTER_MS = 20;
/**
 * How long a synchronous `epoll_wait` may block right after a busy batch, before the loop
 * falls back to the `nonblocking` wait (a thread hop). Measured on the shared 2-core box,
 * interleaved, medians of 3, rps vs HAProxy at 10 / 100 / 500 conns, 1 KiB: straight to the
 * nonblocking wait 0.92 / 1.15 / 0.75x; blocking up to 1 ms first 1.05 / 1.11 / 0.82x; up to
 * 2 ms 0.84 / 1.40 / 0.70x (noisy: other jobs shared the cores).
 */
export const BUSY_WAIT_MS = 1;
/** Synchronous promise-API completions allowed between two turns of the loop. */
export const SYNC_BUDGET = 256;
/** Microtask turns the loop gives woken waiters to wait again before it stops. */
export const SETTLE_TICKS = 4;
/** Events taken per `epoll_wait`. */
export const MAX_EVENTS = 1024;
/** Longest wait while idle (the eventfd cuts it short when the last fd goes). */
export const IDLE_WAIT_MS = 1000;

/**
 * Macrotasks for the loop's park: each {@linkcode Macrotasks.next} resolves in a macrotask of
 * its own (a message through a `MessageChannel`), so the runtime runs its due timers before
 * it, which is all the park is for. A `setTimeout(0)` does the same but waits for the timer's
 * next 1-2 ms tick (measured: 2.2 ms median, against 15 µs here). One channel serves while
 * the loop runs (a fresh one per park measured 20 µs against 5 µs, and showed as 1% of the
 * load tester's CPU); {@linkcode Macrotasks.close} closes it when the loop stops, since an
 * open port would keep the process alive.
 */
export class Macrotasks {
  #channel: MessageChannel | undefined;
  #resolve: (() => void) | undefined;

  /**
   * Resolve in a macrotask of its own.
   *
   * @returns A promise that resolves after the runtime's timer phase.
   */
  next(): Promise<void> {
    let channel = this.#channel;
    if (channel === undefined) {
      channel = this.#channel = new MessageChannel();
      channel.port1.onmessage = () => {
        const resolve = this.#resolve;
        this.#resolve = undefined;
        resolve?.();
      };
    }
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#resolve = resolve;
    channel.port2.postMessage(null);
    return promise;
  }

  /** Close the channel (a pending {@linkcode Macrotasks.next} never resolves: call it after). */
  close(): void {
    if (this.#channel === undefined) return;
    this.#channel.port1.close();
    this.#channel.port2.close();
    this.#channel = undefined;
    this.#resolve = undefined;
  }
}
