/**
 * The epoll loop's idle sweep: connections with an idle deadline (relays and echoes with an
 * idle timeout), checked every quarter of the shortest timeout, 10 ms to 1 s apart.
 *
 * @module
 */

/** Something with an idle deadline, checked by the loop's sweep. */
export interface IdleWatch {
  /** When there was last traffic (`loop.now` units: `performance.now()` ms). */
  last: number;
  /** Idle timeout in ms. */
  readonly idleMs: number;
  /** Called once the timeout passed. */
  onIdle(): void;
}

const MIN_SWEEP_MS = 10;
const MAX_SWEEP_MS = 1000;
const SWEEP_FRACTION = 4;

/** The watches of one loop and when to check them next. */
export class IdleSweep {
  /** When the next sweep is due (`performance.now()` ms); Infinity with nothing watched. */
  next = Infinity;
  #idle = new Set<IdleWatch>();
  #ms = MAX_SWEEP_MS;

  /**
   * Start checking `w`.
   *
   * @param w The watch.
   * @returns The new due time when it moved earlier (a wait in flight must be cut short).
   */
  add(w: IdleWatch): number | undefined {
    this.#idle.add(w);
    const interval = Math.min(
      MAX_SWEEP_MS,
      Math.max(MIN_SWEEP_MS, Math.floor(w.idleMs / SWEEP_FRACTION)),
    );
    if (interval >= this.#ms && this.next !== Infinity) return undefined;
    this.#ms = Math.min(this.#ms, interval);
    const due = performance.now() + this.#ms;
    if (due < this.next) this.next = due;
    return due;
  }

  /**
   * Stop checking `w`.
   *
   * @param w The watch.
   */
  remove(w: IdleWatch): void {
    this.#idle.delete(w);
    if (this.#idle.size === 0) {
      this.#ms = MAX_SWEEP_MS;
      this.next = Infinity;
    }
  }

  /**
   * Check every watch; call `onIdle` on those past their timeout (and stop watching them).
   *
   * @param now The loop's time.
   */
  run(now: number): void {
    // A sweep far past its due time means this thread did not run (a GC pause, a starved
    // process): that time is nobody's idleness, so it is not counted against the connections.
    const late = this.next === Infinity ? 0 : now - this.next;
    const stalled = late > this.#ms ? late : 0;
    this.next = this.#idle.size === 0 ? Infinity : now + this.#ms;
    for (const w of this.#idle) {
      if (stalled > 0) w.last += stalled;
      if (now - w.last >= w.idleMs) {
        this.#idle.delete(w);
        w.onIdle();
      }
    }
  }
}
