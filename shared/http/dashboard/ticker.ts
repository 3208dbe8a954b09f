/**
 * One shared ticker for every dashboard subscriber: it computes the update once per interval
 * and hands it to each subscriber, and runs only while at least one is subscribed.
 *
 * @module
 */

/** Options for {@linkcode Ticker}. */
export interface TickerOptions<T> {
  /** Computes one update (called once per tick, whatever the number of subscribers). */
  produce: () => T | Promise<T>;
  /** Milliseconds between updates. @default 1000 */
  intervalMs?: number;
}

/** A subscriber's callback, given each update. */
export type TickListener<T> = (update: T) => void;

/** Default interval between updates: one per second. */
export const DEFAULT_TICK_MS = 1000;

/**
 * A timer that exists only while someone listens: the first subscriber starts it, the last
 * one to leave stops it, so an unwatched dashboard costs nothing.
 *
 * @example
 * ```ts
 * const ticker = new Ticker({ produce: () => Date.now() });
 * const stop = ticker.subscribe((t) => console.log(t));
 * stop(); // the timer is gone again
 * ```
 */
export class Ticker<T> {
  readonly #produce: () => T | Promise<T>;
  readonly #intervalMs: number;
  readonly #listeners = new Set<TickListener<T>>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #ticks = 0;

  /**
   * A ticker that has not started: it starts with its first subscriber.
   *
   * @param options What to produce and how often.
   * @throws {RangeError} When `intervalMs` is not a positive number.
   */
  constructor(options: TickerOptions<T>) {
    const intervalMs = options.intervalMs ?? DEFAULT_TICK_MS;
    if (!(intervalMs > 0)) {
      throw new RangeError(
        `Cannot start a dashboard ticker: intervalMs must be > 0, got ${intervalMs}`,
      );
    }
    this.#produce = options.produce;
    this.#intervalMs = intervalMs;
  }

  /** Subscribers now. */
  get subscribers(): number {
    return this.#listeners.size;
  }

  /** Whether the timer is running (true exactly while there are subscribers). */
  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** Updates produced since creation (tests check that none happen unwatched). */
  get ticks(): number {
    return this.#ticks;
  }

  /**
   * Add a subscriber; it gets the next update at once, then one per interval.
   *
   * @param listener Called with each update.
   * @returns A function that removes the subscriber (idempotent).
   */
  subscribe(listener: TickListener<T>): () => void {
    this.#listeners.add(listener);
    void this.#deliver([listener]);
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => void this.#deliver([...this.#listeners]), this.#intervalMs);
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0 && this.#timer !== undefined) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    };
  }

  async #deliver(listeners: TickListener<T>[]): Promise<void> {
    if (listeners.length === 0) return;
    this.#ticks++;
    let update: T;
    try {
      update = await this.#produce();
    } catch {
      return; // a failed snapshot skips one update; the next tick tries again
    }
    for (const listener of listeners) {
      if (this.#listeners.has(listener)) listener(update);
    }
  }
}
