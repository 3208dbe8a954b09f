/**
 * What the epoll relay and echo share: one result promise resolved once, the abort signal, the
 * idle watch, the way a session starts and ends, and the non-blocking send and shutdown steps.
 *
 * @module
 */

import { type Abortable, unwatchAbort, watchAbort } from "./_abort.ts";
import { EAGAIN, EINTR, isPeerGone, osError } from "./_errors.ts";
import { errno, libc, SEND_FLAGS, SHUT_WR } from "./_libc.ts";
import type { FdHandle } from "./_handle.ts";
import type { EventLoop, IdleWatch } from "./_loop.ts";
import type { EpollEnd } from "./relay.ts";

/** Idle timeout and abort signal, as the relay's and the echo's options give them. */
export interface SessionOptions {
  /** Close after this many ms without a byte; 0 disables. */
  idleTimeoutMs?: number;
  /** Aborting closes at once. */
  signal?: AbortSignal;
}

/** A relay or echo session inside the epoll loop; `promise` resolves once, never rejects. */
export abstract class LoopSession<R extends { reason: EpollEnd; error?: unknown }>
  implements IdleWatch, Abortable {
  last: number;
  readonly idleMs: number;
  readonly promise: Promise<R>;
  /** True once finished: the hot paths check it after every step that may end the session. */
  protected done = false;
  #loop: EventLoop;
  #signal: AbortSignal | undefined;
  #resolve: (result: R) => void;

  constructor(loop: EventLoop, options: SessionOptions) {
    this.#loop = loop;
    this.idleMs = options.idleTimeoutMs ?? 0;
    // Not loop.now: that is the last batch's time, maybe long ago if the loop was idle.
    this.last = performance.now();
    this.#signal = options.signal;
    const { promise, resolve } = Promise.withResolvers<R>();
    this.promise = promise;
    this.#resolve = resolve;
  }

  /** Take the fds over: an fd closed already or an aborted signal ends it at once. */
  begin(): void {
    if (this.closedAlready()) return this.finish("error", osError(9));
    if (this.#signal?.aborted) return this.finish("aborted");
    if (this.#signal !== undefined) watchAbort(this.#signal, this);
    try {
      this.start();
    } catch (error) {
      return this.finish("error", error);
    }
    if (this.idleMs > 0) this.#loop.addIdle(this);
  }

  onIdle(): void {
    this.finish("idle_timeout");
  }

  onAbort(): void {
    this.finish("aborted");
  }

  /** True when a connection was closed before the session began. */
  protected abstract closedAlready(): boolean;
  /** Delegate the fds to this session and set their first interest masks. */
  protected abstract start(): void;
  /** Close the connections. */
  protected abstract close(): void;
  /** The result, without `error`. */
  protected abstract result(reason: EpollEnd): R;

  /** End on an errno: a peer gone is "reset", anything else "error". */
  protected fail(code: number): void {
    if (isPeerGone(code)) this.finish("reset");
    else this.finish("error", osError(code));
  }

  /** End on an errno unless it only says "not now" (EAGAIN, EINTR). */
  protected failUnlessAgain(code: number = errno()): void {
    if (code !== EAGAIN && code !== EINTR) this.fail(code);
  }

  /**
   * Send the first `n` bytes just read into the loop's `buffer`: null when all went out, else a
   * copy of the unsent rest to park (a hard error also ends the session).
   */
  protected sendRead(fd: number, buffer: Uint8Array, n: number): Uint8Array | null {
    const w = libc().send(fd, buffer, n, SEND_FLAGS);
    if (w === n) return null;
    if (w < 0) this.failUnlessAgain();
    return buffer.slice(w < 0 ? 0 : w, n);
  }

  /**
   * Send parked bytes once `fd` is writable: null when all went out, else what is still
   * unsent (`pending` itself when nothing went; a hard error also ends the session).
   */
  protected sendPending(fd: number, pending: Uint8Array): Uint8Array | null {
    const w = libc().send(fd, pending, pending.length, SEND_FLAGS);
    if (w < 0) {
      this.failUnlessAgain();
      return pending;
    }
    this.last = this.#loop.now;
    return w < pending.length ? pending.subarray(w) : null;
  }

  /** Set `h`'s interest mask unless finished; a failure (e.g. ENOMEM) ends the session. */
  protected watchOnly(h: FdHandle, mask: number): void {
    if (this.done) return;
    try {
      h.setMask(mask);
    } catch (error) {
      this.finish("error", error);
    }
  }

  /** Shut `fd` down for writing (the FIN); false when that failed and ended the session. */
  protected shutdownWrite(fd: number): boolean {
    if (libc().shutdown(fd, SHUT_WR) >= 0) return true;
    this.fail(errno());
    return false;
  }

  /** End once: stop watching, close, resolve. */
  protected finish(reason: EpollEnd, error?: unknown): void {
    if (this.done) return;
    this.done = true;
    if (this.#signal !== undefined) unwatchAbort(this.#signal, this);
    if (this.idleMs > 0) this.#loop.removeIdle(this);
    this.close();
    const result = this.result(reason);
    if (error !== undefined) result.error = error;
    this.#resolve(result);
  }
}
