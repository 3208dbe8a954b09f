/**
 * The per-thread epoll event loop: one epoll set, one event buffer, one shared read buffer,
 * and an idle sweep, all module-level state (so one loop per Deno Worker).
 *
 * Level-triggered for relays, echoes, listeners and connects (one `read` and one `send` per
 * event either way; only an `EPOLL_CTL_MOD` when backpressure starts or ends); edge-triggered
 * for connections used through their promise API, with a short-read rule (`_handle.ts`).
 *
 * Scheduling: while events keep arriving, a synchronous `epoll_wait(0)` (a V8 fast call),
 * and right after a busy batch a synchronous wait of at most {@linkcode BUSY_WAIT_MS}; after
 * {@linkcode YIELD_AFTER_MS} of busy work, one `nonblocking` `epoll_wait(0)` (a hop to a
 * worker thread), and every {@linkcode PARK_AFTER_MS} a short sleep there instead (so the
 * runtime parks), so timers, signals and the HTTP endpoint get their turn; when nothing is
 * ready, a `nonblocking` `epoll_wait` with a real timeout. The loop stops when no fd is
 * registered or only passive ones (edge-triggered, nobody waiting; an eventfd wakes a pending
 * wait), so a process or Worker exits normally; the epoll set closes with the last fd.
 *
 * @module
 */

import {
  clockMs,
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
import { SplicePipe } from "./_splice.ts";
import { IdleSweep, type IdleWatch } from "./_idle_sweep.ts";

import {
  BUSY_WAIT_MS,
  IDLE_WAIT_MS,
  Macrotasks,
  MAX_EVENTS,
  PARK_AFTER_MS,
  SETTLE_TICKS,
  SYNC_BUDGET,
  YIELD_AFTER_MS,
} from "./_loop_policy.ts";
import type { Pollable } from "./_pollable.ts";

export type { IdleWatch } from "./_idle_sweep.ts";
export type { Pollable } from "./_pollable.ts";

/** The shared read buffer: one per loop, reused by every relay and echo. */
export const READ_BUFFER_SIZE = 64 * 1024;
const EVENTFD_TOKEN = 0xffffffff;
const TOKEN_LIMIT = 0xfffffff0;

/** The event loop of this thread. Use {@linkcode loop}. */
export class EventLoop {
  /**
   * `performance.now()` as of the current batch (cheap timestamp for activity marks), read with
   * the cheaper {@linkcode clockMs} (the same clock).
   */
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
  #nextToken = 1;
  #running = false;
  #waitingUntil = -1;
  #sweeps = new IdleSweep();
  #stopped: PromiseWithResolvers<void> | undefined;
  #pipe = new SplicePipe();
  #pipeFailed = false;
  #busy = false;
  #lastPark = 0;
  #parks = new Macrotasks();
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
    this.#pipe.close();
    this.#pipeFailed = false;
    if (this.#ep < 0) return;
    this.#lib.close(this.#eventFd);
    this.#lib.close(this.#ep);
    this.#ep = -1;
    this.#eventFd = -1;
  }

  /**
   * Resolve once the loop is stopped (at once when it is; its fds stay open while passive fds
   * are registered).
   *
   * @returns A promise.
   */
  stopped(): Promise<void> {
    if (!this.#running) return Promise.resolve();
    this.#stopped ??= Promise.withResolvers<void>();
    return this.#stopped.promise;
  }

  /**
   * The loop's splice pipe, opened on first use (closed with the loop's other fds).
   *
   * @returns The pipe, or null when it cannot be opened (then relays copy).
   */
  pipe(): SplicePipe | null {
    if (this.#pipe.isOpen) return this.#pipe;
    if (this.#pipeFailed || !this.#pipe.open()) this.#pipeFailed = true;
    return this.#pipeFailed ? null : this.#pipe;
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
   * Mark a registered `p` passive (still in the epoll set and dispatched, but not keeping the
   * loop, or the process, running) or active again.
   *
   * @param p A registered pollable.
   * @param passive The new state.
   */
  setPassive(p: Pollable, passive: boolean): void {
    if (p.mask < 0 || p.passive === passive) return;
    p.passive = passive;
    if (passive) {
      this.#passive++;
      if (!this.#active && this.#waitingUntil >= 0) this.#wake();
    } else {
      this.#passive--;
      if (!this.#running) this.#start();
    }
  }

  /**
   * Run `callback` after the loop's next `epoll_wait`, which then does not block: for work that
   * must wait a turn with no event coming (an edge-triggered fd whose data is already there).
   *
   * @param callback Called once.
   */
  defer(callback: () => void): void {
    this.#deferred.push(callback);
    if (this.#waitingUntil >= 0) this.#wake();
  }

  #runDeferred(): void {
    const due = this.#deferred;
    this.#deferred = [];
    for (const callback of due) callback();
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
    const due = this.#sweeps.add(w);
    if (due !== undefined && this.#waitingUntil >= 0 && due < this.#waitingUntil) this.#wake();
  }

  /**
   * Stop checking `w`.
   *
   * @param w The watch.
   */
  removeIdle(w: IdleWatch): void {
    this.#sweeps.remove(w);
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
      // An open channel would keep the process alive; the next start opens one again.
      this.#parks.close();
      if (this.#active) return this.#start();
      if (this.#count === 0) this.#closeFds();
      this.#stopped?.resolve();
      this.#stopped = undefined;
    });
  }

  async #run(): Promise<void> {
    const lib = this.#lib;
    const events = this.#events;
    let sliceStart = clockMs();
    while (this.#count > 0) {
      if (!this.#active) {
        // Woken waiters usually wait again a microtask or two later (after a write): give them
        // those before stopping (a restart's first wait would be the thread hop).
        for (let i = 0; i < SETTLE_TICKS && !this.#active; i++) await undefined;
        // Nothing waits and the last turn found nothing: stop (the next waiter starts it).
        if (!this.#active && !this.#busy) break;
      }
      const active = this.#active;
      this.syncBudget = SYNC_BUDGET;
      const deferred = this.#deferred.length > 0;
      // Right after a busy batch, block here briefly before the thread hop: the reply is
      // usually a few µs away, and a direct wake-up is one context switch instead of two.
      // Counted toward the busy slice, so the yield below still comes every few ms. (With
      // events ready it returns at once, as a zero timeout would.)
      const n = lib.epoll_wait(
        this.#ep,
        events,
        MAX_EVENTS,
        this.#busy && active && !deferred ? BUSY_WAIT_MS : 0,
      );
      this.#busy = n > 0 || deferred;
      if (this.#busy) {
        const now = clockMs();
        this.now = now;
        this.#dispatch(n);
        if (deferred) this.#runDeferred();
        // Let promise callbacks (the promise API, finished relays) run before the next batch.
        await undefined;
        if (now - sliceStart >= YIELD_AFTER_MS && this.#active) {
          this.#waitingUntil = now;
          const m = await lib.epoll_wait_nb(this.#ep, events, MAX_EVENTS, 0);
          this.#waitingUntil = -1;
          this.now = clockMs();
          if (m > 0) this.#dispatch(m);
          sliceStart = this.now;
        }
      } else if (active) {
        const now = clockMs();
        let timeout = IDLE_WAIT_MS;
        const nextSweep = this.#sweeps.next;
        if (nextSweep !== Infinity) {
          timeout = Math.max(0, Math.min(timeout, Math.ceil(nextSweep - now)));
        }
        this.#waitingUntil = now + timeout;
        const m = await lib.epoll_wait_nb(this.#ep, events, MAX_EVENTS, timeout);
        this.#waitingUntil = -1;
        this.now = clockMs();
        sliceStart = this.now;
        if (m > 0) this.#dispatch(m);
      }
      if (this.now >= this.#sweeps.next) this.#sweeps.run(this.now);
      if (clockMs() - this.#lastPark >= PARK_AFTER_MS && this.#active) {
        // A macrotask: only the runtime's timer phase runs timers (intervals, the HTTP
        // endpoint's keep-alive, the load tester's progress); FFI ops that complete at once,
        // busy or idle, never get the runtime there.
        await this.#parks.next();
        this.#lastPark = this.now = clockMs();
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
