/**
 * One socket fd in the loop: who gets its events (a relay or echo that took it over, or the
 * promise API's read/write waiters) and its interest mask.
 *
 * Two modes. Level-triggered (listeners, connects, relays and echoes): registered while
 * someone waits, with the mask of what they wait for. Edge-triggered ({@linkcode
 * FdHandle.useEdges}, the promise API of a connection): registered once for both directions
 * until closed or handed to a relay, with the readiness kept here (`readable`, `writable`) so
 * a read or write that would block is not tried at all, and no `epoll_ctl` per wait.
 *
 * @module
 */

import { EPOLLERR, EPOLLET, EPOLLHUP, EPOLLIN, EPOLLOUT, EPOLLRDHUP, libc } from "./_libc.ts";
import { type EventLoop, loop, type Pollable } from "./_loop.ts";

/** Takes over all events of a handle (a relay or an echo). */
export interface Delegate {
  /**
   * Events for one of its handles.
   *
   * @param side Which handle (the value given to {@linkcode FdHandle.delegateTo}).
   * @param events The epoll bits.
   */
  onEvents(side: number, events: number): void;
  /**
   * The handle was closed by someone else (the owner of the connection), after the fd
   * closed. @param side Which handle.
   */
  onClosed?(side: number): void;
}

const READY_IN = EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP;
const HANGUP = EPOLLRDHUP | EPOLLERR | EPOLLHUP;
const READY_OUT = EPOLLOUT | EPOLLERR | EPOLLHUP;
/** The edge-triggered mask: both directions (as a positive number, like the mask field). */
const EDGES = (EPOLLIN | EPOLLRDHUP | EPOLLOUT | EPOLLET) >>> 0;

/** A socket fd registered on demand in this thread's loop. */
export class FdHandle implements Pollable {
  /** The file descriptor. */
  readonly fd: number;
  /** Loop registration token. */
  token = 0;
  /** Interest mask, -1 while not in the epoll set. */
  mask = -1;
  /** Not keeping the loop running (edge-triggered, nobody waiting). */
  passive = false;
  /** True once closed. */
  closed = false;
  /**
   * Edge-triggered mode: a read may find data (set by each readiness event; cleared by the
   * reader when a read would block or drained the socket).
   */
  readable = true;
  /**
   * The peer shut down or the socket failed (sticky): a short read no longer means drained,
   * since the end of input after it brings no new event.
   */
  hangup = false;
  /** Edge-triggered mode: a write may find room (cleared by the writer on EAGAIN). */
  writable = true;
  #edges = false;
  /** The loop (created on first handle). */
  readonly loop: EventLoop = loop();
  #delegate: Delegate | undefined;
  #side = 0;
  #onReadable: (() => void) | undefined;
  #onWritable: (() => void) | undefined;

  /**
   * @param fd A non-blocking socket this handle now owns.
   */
  constructor(fd: number) {
    this.fd = fd;
  }

  /** Whether a relay or echo owns the events. */
  get delegated(): boolean {
    return this.#delegate !== undefined;
  }

  /**
   * Hand every event to `delegate` (a relay or echo), which then sets the mask itself.
   *
   * @param delegate The new owner.
   * @param side Passed back with each event.
   */
  delegateTo(delegate: Delegate, side: number): void {
    this.#delegate = delegate;
    this.#side = side;
    if (!this.#edges) return;
    // Back to level-triggered: the delegate sets its own mask (a change, so an EPOLL_CTL_MOD;
    // data already there is reported at once).
    this.#edges = false;
    this.loop.setPassive(this, false);
  }

  /**
   * Switch to edge-triggered mode: register for both directions now, until closed or
   * delegated; waiters then only set callbacks.
   *
   * @throws {Error} When epoll_ctl fails (e.g. ENOMEM).
   */
  useEdges(): void {
    if (this.#edges) return;
    this.loop.watch(this, EDGES, !this.waiting);
    this.#edges = true;
  }

  /**
   * Wait for readability: `callback` runs on each readiness event until cleared.
   *
   * @param callback Retries the read; calls {@linkcode FdHandle.clearReadable} when done.
   */
  onReadable(callback: () => void): void {
    this.#onReadable = callback;
    this.#update();
  }

  /**
   * Wait for writability: `callback` runs on each readiness event until cleared.
   *
   * @param callback Retries the write; calls {@linkcode FdHandle.clearWritable} when done.
   */
  onWritable(callback: () => void): void {
    this.#onWritable = callback;
    this.#update();
  }

  /** Stop waiting for readability. */
  clearReadable(): void {
    this.#onReadable = undefined;
    if (!this.closed) this.#update();
  }

  /** Stop waiting for writability. */
  clearWritable(): void {
    this.#onWritable = undefined;
    if (!this.closed) this.#update();
  }

  /** True while a promise-API read or write waits. */
  get waiting(): boolean {
    return this.#onReadable !== undefined || this.#onWritable !== undefined;
  }

  #update(): void {
    if (this.#edges) return this.loop.setPassive(this, !this.waiting);
    const mask = (this.#onReadable ? EPOLLIN : 0) | (this.#onWritable ? EPOLLOUT : 0);
    if (mask === 0) this.loop.unwatch(this);
    else this.loop.watch(this, mask);
  }

  /**
   * Set the interest mask directly (for delegates). 0 takes the fd out of the epoll set:
   * level-triggered, a hang-up on an fd nobody reads would otherwise be reported forever.
   *
   * @param mask EPOLLIN/EPOLLOUT bits.
   */
  setMask(mask: number): void {
    if (mask === 0) this.loop.unwatch(this);
    else if (mask !== this.mask) this.loop.watch(this, mask);
  }

  /**
   * Dispatch from the loop.
   *
   * @param events The epoll bits.
   */
  onEvents(events: number): void {
    if (this.#delegate !== undefined) return this.#delegate.onEvents(this.#side, events);
    if ((events & READY_IN) !== 0) {
      if ((events & HANGUP) !== 0) this.hangup = true;
      this.readable = true;
      this.#onReadable?.();
    }
    if ((events & READY_OUT) !== 0 && !this.closed) {
      this.writable = true;
      this.#onWritable?.();
    }
  }

  /**
   * Close the fd and leave the loop; the waiters are dropped (their owners reject them).
   *
   * @returns False when it was already closed.
   */
  close(): boolean {
    if (this.closed) return false;
    this.closed = true;
    this.loop.unwatch(this, true);
    this.#onReadable = undefined;
    this.#onWritable = undefined;
    const delegate = this.#delegate;
    this.#delegate = undefined;
    libc().close(this.fd);
    delegate?.onClosed?.(this.#side);
    return true;
  }
}
