/**
 * The per-thread epoll event loop: one epoll set, one event buffer, one shared read buffer,
 * and an idle sweep, all module-level state (so one loop per Deno Worker).
 *
 * Level-triggered, chosen by measurement and by the shape of the work: a relay does one
 * `read` and one `send` per readiness event either way, and edge-triggered would need either
 * a read until EAGAIN (one more syscall per chunk on ping-pong) or a short-read heuristic;
 * level-triggered only costs an `EPOLL_CTL_MOD` when backpressure starts or ends.
 *
 * Scheduling: while events keep arriving, a synchronous `epoll_wait(0)` (a V8 fast call),
 * and right after a busy batch a synchronous wait of at most {@linkcode BUSY_WAIT_MS}; after
 * {@linkcode YIELD_AFTER_MS} of busy work, one `nonblocking` `epoll_wait(0)` (a hop to a
 * worker thread), and every {@linkcode PARK_AFTER_MS} a short sleep there instead (so the
 * runtime parks), so timers, signals and the HTTP endpoint get their turn; when nothing is
 * ready, a `nonblocking` `epoll_wait` with a real timeout. The loop stops when no fd is
 * registered, or only passive ones (edge-triggered connections nobody waits on; an eventfd
 * wakes a pending wait), so a process or Worker exits normally; the epoll set is closed with
 * the last fd.
 *
 * @module
 */

import {
  EFD_CLOEXEC,
  EFD_NONBLOCK,
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLL_CTL_DEL,
  EPOLL_CTL_MOD,
  EPOLL_EVENT_SIZE,
  EPOLLIN,
  errno,
  libc,
} from "./_libc.ts";
import { osError } from "./_errors.ts";

/** Something registered in the loop: gets the epoll event bits for its fd. */
export interface Pollable {
  /** The file descriptor. */
  readonly fd: number;
  /** Registration token (set by the loop; 0 while not registered). */
  token: number;
  /** The current interest mask, or -1 while not in the epoll set. */
  mask: number;
  /**
   * Registered but not keeping the loop running (an edge-triggered fd nobody waits on; set
   * through {@linkcode EventLoop.setPassive}).
   */
  passive: boolean;
  /** Called from the loop with the ready event bits. */
  onEvents(events: number): void;
}

/** Something with an idle deadline, checked by the loop's sweep. */
export interface IdleWatch {
  /** When there was last traffic (`loop.now` units: `performance.now()` ms). */
  last: number;
  /** Idle timeout in ms. */
  readonly idleMs: number;
  /** Called once the timeout passed. */
  onIdle(): void;
}

/** Busy time after which the loop yields to Deno's event loop once (measured: costs ~0). */
export const YIELD_AFTER_MS = 5;
/**
 * Time after which the loop yields to Deno's timers with a `setTimeout(0)`, busy or not.
 * An op that completes at once never lets the runtime reach its timer phase: with only
 * `epoll_wait` yields (and a 100 µs FFI sleep tried instead), a 100 ms interval fired 1 to 9
 * times in 3 s under ping-pong load (10 and 100 conns) and progress lines, idle sweeps of
 * Deno-side code and SSE updates stalled. The timer yield stalls the loop ~1-3 ms (timer
 * granularity) once per this period.
 */
export const PARK_AFTER_MS = 20;
/**
 * How long a synchronous `epoll_wait` may block right after a busy batch, before the loop
 * falls back to the `nonblocking` wait (a thread hop). Measured on the shared 2-core box,
 * interleaved, medians of 3, rps vs HAProxy at 10 / 100 / 500 conns, 1 KiB: straight to the
 * nonblocking wait 0.92 / 1.15 / 0.75x; blocking up to 1 ms first 1.05 / 1.11 / 0.82x; up to
 * 2 ms 0.84 / 1.40 / 0.70x (noisy: other jobs shared the cores).
 */
const BUSY_WAIT_MS = 1;
/** Synchronous promise-API completions allowed between two turns of the loop. */
const SYNC_BUDGET = 256;
/** Microtask turns the loop gives woken waiters to wait again before it stops. */
const SETTLE_TICKS = 4;
/** Events taken per `epoll_wait`. */
const MAX_EVENTS = 1024;
/** Longest wait while idle (the eventfd cuts it short when the last fd goes). */
const IDLE_WAIT_MS = 1000;
/** The shared read buffer: one per loop, reused by every relay and echo. */
export const READ_BUFFER_SIZE = 64 * 1024;
const MIN_SWEEP_MS = 10;
const MAX_SWEEP_MS = 1000;
const SWEEP_FRACTION = 4;
const EVENTFD_TOKEN = 0xffffffff;
const TOKEN_LIMIT = 0xfffffff0;

/** The event loop of this thread. Use {@linkcode loop}. */
export class EventLoop {
  /** `performance.now()` as of the current batch (cheap timestamp for activity marks). */
  now = performance.now();
  /** The shared read buffer. */
  readonly buffer = new Uint8Array(READ_BUFFER_SIZE);
  #lib = libc();
  #ep = -1;
  #eventFd = -1;
  #events = new Uint8Array(MAX_EVENTS * EPOLL_EVENT_SIZE);
  #words = new Uint32Array(this.#events.buffer);
  #stride = EPOLL_EVENT_SIZE / 4;
  #ctl = new Uint8Array(16);
  #ctlWords = new Uint32Array(this.#ctl.buffer);
  #eventBuf = new BigUint64Array(1);
  #handlers: (Pollable | undefined)[] = [];
  #count = 0;
  #passive = 0;
  #deferred: (() => void)[] = [];
  #deferredNext: (() => void)[] = [];
  #nextToken = 1;
  #running = false;
  #waitingUntil = -1;
  #idle = new Set<IdleWatch>();
  #sweepMs = MAX_SWEEP_MS;
  #nextSweep = Infinity;
  #stopped: PromiseWithResolvers<void> | undefined;
  #busy = false;
  #lastPark = 0;
  /**
   * Promise-API reads that may still complete synchronously before the loop runs again. A
   * reader whose data is always there already (a fast peer) would otherwise chain resolved
   * promises forever: the loop, timers and every other connection starve in the microtasks.
   */
  syncBudget = SYNC_BUDGET;

  /** Create the epoll set and its eventfd (again after the loop stopped and closed them). */
  #open(): void {
    const lib = this.#lib;
    const ep = lib.epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) throw osError(errno());
    const eventFd = lib.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (eventFd < 0) {
      const code = errno();
      lib.close(ep);
      throw osError(code);
    }
    this.#ctlWords[0] = EPOLLIN;
    this.#ctlWords[1] = EVENTFD_TOKEN;
    this.#ctlWords[2] = EVENTFD_TOKEN;
    this.#ctlWords[3] = EVENTFD_TOKEN;
    if (lib.epoll_ctl(ep, EPOLL_CTL_ADD, eventFd, this.#ctl) < 0) {
      const code = errno();
      lib.close(ep);
      lib.close(eventFd);
      throw osError(code);
    }
    this.#ep = ep;
    this.#eventFd = eventFd;
  }

  /** Close the epoll set and eventfd once nothing is registered (no fd outlives its use). */
  #closeFds(): void {
    if (this.#ep < 0) return;
    this.#lib.close(this.#eventFd);
    this.#lib.close(this.#ep);
    this.#ep = -1;
    this.#eventFd = -1;
  }

  /**
   * Resolve once the loop is stopped (at once when it is); its own fds are closed then too,
   * unless passive fds are still registered.
   *
   * @returns A promise.
   */
  stopped(): Promise<void> {
    if (!this.#running) return Promise.resolve();
    this.#stopped ??= Promise.withResolvers<void>();
    return this.#stopped.promise;
  }

  /** Registered fds (the eventfd not counted). */
  get registered(): number {
    return this.#count;
  }

  /** Whether something registered keeps the loop running (not every fd is passive). */
  get #active(): boolean {
    return this.#count > this.#passive;
  }

  /**
   * Mark a registered `p` passive (it stays in the epoll set, its events are still dispatched,
   * but it does not keep the loop running: an idle connection does not keep a process alive)
   * or active again.
   *
   * @param p A registered pollable.
   * @param passive The new state.
   */
  setPassive(p: Pollable, passive: boolean): void {
    if (p.mask < 0 || p.passive === passive) return;
    p.passive = passive;
    if (passive) {
      this.#passive++;
      // Nothing active left while a wait is in flight: let it return so the loop stops.
      if (!this.#active && this.#waitingUntil >= 0) this.#wake();
    } else {
      this.#passive--;
      if (!this.#running) this.#start();
    }
  }

  /**
   * Run `callback` on the loop's next turn (after its next `epoll_wait`), without blocking in
   * that wait: for work that must wait for the loop but has no event coming (an edge-triggered
   * fd whose data is already there).
   *
   * @param callback Called once.
   */
  defer(callback: () => void): void {
    this.#deferred.push(callback);
    if (this.#waitingUntil >= 0) this.#wake();
  }

  #runDeferred(): void {
    const now = this.#deferred;
    this.#deferred = this.#deferredNext;
    this.#deferredNext = now;
    for (let i = 0; i < now.length; i++) now[i]!();
    now.length = 0;
  }

  /**
   * Set the interest mask of `p`, adding it to the epoll set if needed. A mask of 0 keeps it
   * in the set (errors and hang-ups are still reported).
   *
   * @param p The pollable.
   * @param mask EPOLLIN/EPOLLOUT bits.
   * @param passive Whether it is passive from now on (see {@linkcode EventLoop.setPassive}).
   * @throws {Error} When epoll_ctl fails (e.g. ENOMEM).
   */
  watch(p: Pollable, mask: number, passive = false): void {
    if (p.mask === mask) return;
    const add = p.mask < 0;
    if (this.#ep < 0) this.#open();
    if (add) {
      p.token = this.#nextToken;
      this.#nextToken = this.#nextToken >= TOKEN_LIMIT ? 1 : this.#nextToken + 1;
    }
    const words = this.#ctlWords;
    words[0] = mask;
    // x86_64 packs the struct: data starts at byte 4; elsewhere at byte 8.
    if (EPOLL_EVENT_SIZE === 12) {
      words[1] = p.fd;
      words[2] = p.token;
    } else {
      words[2] = p.fd;
      words[3] = p.token;
    }
    if (this.#lib.epoll_ctl(this.#ep, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, p.fd, this.#ctl) < 0) {
      throw osError(errno());
    }
    p.mask = mask;
    if (!add) return this.setPassive(p, passive);
    this.#handlers[p.fd] = p;
    this.#count++;
    p.passive = passive;
    if (passive) this.#passive++;
    else if (!this.#running) this.#start();
  }

  /**
   * Remove `p` from the epoll set.
   *
   * @param p The pollable.
   * @param closing True when the fd is about to be closed (close removes it; no syscall).
   */
  unwatch(p: Pollable, closing = false): void {
    if (p.mask < 0) return;
    if (!closing) this.#lib.epoll_ctl(this.#ep, EPOLL_CTL_DEL, p.fd, this.#ctl);
    p.mask = -1;
    p.token = 0;
    if (p.passive) {
      p.passive = false;
      this.#passive--;
    }
    if (this.#handlers[p.fd] === p) this.#handlers[p.fd] = undefined;
    this.#count--;
    if (this.#count > 0) {
      if (!this.#active && this.#waitingUntil >= 0) this.#wake();
      return;
    }
    // A wait in flight on another thread must return before the fds can go: wake it (the
    // loop closes them when it returns). Otherwise close them now, so none outlives its use.
    if (this.#waitingUntil >= 0) this.#wake();
    else this.#closeFds();
  }

  /**
   * Start checking `w` for idleness.
   *
   * @param w The watch.
   */
  addIdle(w: IdleWatch): void {
    this.#idle.add(w);
    const interval = Math.min(
      MAX_SWEEP_MS,
      Math.max(MIN_SWEEP_MS, Math.floor(w.idleMs / SWEEP_FRACTION)),
    );
    if (interval < this.#sweepMs || this.#nextSweep === Infinity) {
      this.#sweepMs = Math.min(this.#sweepMs, interval);
      const due = performance.now() + this.#sweepMs;
      if (due < this.#nextSweep) this.#nextSweep = due;
      if (this.#waitingUntil >= 0 && due < this.#waitingUntil) this.#wake();
    }
  }

  /**
   * Stop checking `w`.
   *
   * @param w The watch.
   */
  removeIdle(w: IdleWatch): void {
    this.#idle.delete(w);
    if (this.#idle.size === 0) {
      this.#sweepMs = MAX_SWEEP_MS;
      this.#nextSweep = Infinity;
    }
  }

  #wake(): void {
    this.#eventBuf[0] = 1n;
    this.#lib.write(this.#eventFd, this.#eventBuf, 8);
  }

  #start(): void {
    this.#running = true;
    this.#run().catch((error) => {
      // A bug in a handler must not stop every connection of the thread silently.
      console.error("epoll loop failed:", error);
    }).finally(() => {
      this.#running = false;
      if (this.#active) return this.#start();
      if (this.#count === 0) this.#closeFds();
      this.#stopped?.resolve();
      this.#stopped = undefined;
    });
  }

  async #run(): Promise<void> {
    const lib = this.#lib;
    const events = this.#events;
    let sliceStart = performance.now();
    while (this.#count > 0) {
      if (!this.#active) {
        // The waiters the last batch woke usually wait again a microtask or two later (after
        // a write): give them those before stopping, or every batch would restart the loop
        // (and its first wait would be the thread hop).
        for (let i = 0; i < SETTLE_TICKS && !this.#active; i++) await undefined;
        // Nothing waits and the last turn found nothing: stop (the next waiter starts it).
        if (!this.#active && !this.#busy) break;
      }
      const active = this.#active;
      this.syncBudget = SYNC_BUDGET;
      const deferred = this.#deferred.length > 0;
      let n = lib.epoll_wait(this.#ep, events, MAX_EVENTS, 0);
      // Right after a busy batch, block here briefly before the thread hop: the reply is
      // usually a few µs away, and a direct wake-up is one context switch instead of two.
      // Counted toward the busy slice, so the yield below still comes every few ms.
      if (n === 0 && this.#busy && active && !deferred) {
        n = lib.epoll_wait(this.#ep, events, MAX_EVENTS, BUSY_WAIT_MS);
      }
      this.#busy = n > 0 || deferred;
      if (this.#busy) {
        const now = performance.now();
        this.now = now;
        this.#dispatch(n);
        if (deferred) this.#runDeferred();
        // Let promise callbacks (the promise API, finished relays) run before the next batch.
        await undefined;
        if (now - sliceStart >= YIELD_AFTER_MS && this.#active) {
          this.#waitingUntil = now;
          const m = await lib.epoll_wait_nb(this.#ep, events, MAX_EVENTS, 0);
          this.#waitingUntil = -1;
          this.now = performance.now();
          if (m > 0) this.#dispatch(m);
          sliceStart = this.now;
        }
      } else if (active) {
        const now = performance.now();
        let timeout = IDLE_WAIT_MS;
        if (this.#nextSweep !== Infinity) {
          timeout = Math.max(0, Math.min(timeout, Math.ceil(this.#nextSweep - now)));
        }
        this.#waitingUntil = now + timeout;
        const m = await lib.epoll_wait_nb(this.#ep, events, MAX_EVENTS, timeout);
        this.#waitingUntil = -1;
        this.now = performance.now();
        sliceStart = this.now;
        if (m > 0) this.#dispatch(m);
      }
      if (this.now >= this.#nextSweep) this.#sweep();
      if (performance.now() - this.#lastPark >= PARK_AFTER_MS && this.#active) {
        // A macrotask: only the runtime's timer phase runs timers (intervals, the HTTP
        // endpoint's keep-alive, the load tester's progress); FFI ops that complete at once,
        // busy or idle, never get the runtime there.
        await new Promise((resolve) => setTimeout(resolve, 0));
        this.#lastPark = this.now = performance.now();
      }
    }
    if (this.#count === 0) this.#closeFds();
  }

  #dispatch(n: number): void {
    const words = this.#words;
    const stride = this.#stride;
    const dataAt = EPOLL_EVENT_SIZE === 12 ? 1 : 2;
    const handlers = this.#handlers;
    for (let i = 0; i < n; i++) {
      const base = i * stride;
      const token = words[base + dataAt + 1]!;
      if (token === EVENTFD_TOKEN) {
        this.#lib.read(this.#eventFd, this.#eventBuf, 8);
        continue;
      }
      const p = handlers[words[base + dataAt]!];
      // The token guards against an fd closed and reused earlier in the same batch.
      if (p !== undefined && p.token === token) p.onEvents(words[base]!);
    }
  }

  #sweep(): void {
    const now = this.now;
    // A sweep far past its due time means this thread did not run (a GC pause, a starved
    // process): that time is nobody's idleness, so it is not counted against the connections.
    const late = this.#nextSweep === Infinity ? 0 : now - this.#nextSweep;
    const stalled = late > this.#sweepMs ? late : 0;
    this.#nextSweep = this.#idle.size === 0 ? Infinity : now + this.#sweepMs;
    for (const w of this.#idle) {
      if (stalled > 0) w.last += stalled;
      if (now - w.last >= w.idleMs) {
        this.#idle.delete(w);
        w.onIdle();
      }
    }
  }
}

let current: EventLoop | undefined;

/**
 * This thread's event loop, created on first use.
 *
 * @returns The loop.
 * @throws {Error} When libc or epoll is unavailable.
 * @example
 * ```ts
 * console.log(loop().registered);
 * ```
 */
export function loop(): EventLoop {
  return current ??= new EventLoop();
}
