/**
 * {@linkcode epollRelay}: the proxy's data path, run synchronously inside the epoll loop with
 * no promise per chunk.
 *
 * @module
 */

import {
  EPOLLERR,
  EPOLLHUP,
  EPOLLIN,
  EPOLLOUT,
  errno,
  libc,
  READY_IN,
  READY_OUT,
  SEND_FLAGS,
} from "./_libc.ts";
import type { Delegate, FdHandle } from "./_handle.ts";
import { type EpollConn, handleOf } from "./conn.ts";
import { spliceCounts } from "./_splice.ts";
import { LoopSession } from "./_session.ts";

/** Why a relay or echo ended. */
export type EpollEnd = "done" | "reset" | "idle_timeout" | "aborted" | "error";

/** Byte counters (`up`: client to upstream, `down`: back). */
export interface EpollStats {
  /** Bytes read from the client and forwarded. */
  up: number;
  /** Bytes read from the upstream and forwarded. */
  down: number;
}

/** Options for {@linkcode epollRelay}. */
export interface EpollRelayOptions {
  /** Close both sides after this many ms without a byte either way; 0 disables. @default 0 */
  idleTimeoutMs?: number;
  /** Counters incremented per chunk. @default a new object */
  stats?: EpollStats;
  /** Aborting closes both sides at once. */
  signal?: AbortSignal;
}

/** What {@linkcode epollRelay} resolves to. */
export interface EpollRelayResult {
  /** Bytes copied from the client to the upstream. */
  up: number;
  /** Bytes copied from the upstream to the client. */
  down: number;
  /** Why it ended. */
  reason: EpollEnd;
  /** The error, when `reason` is "error". */
  error?: unknown;
}

const UP = 0;
const DOWN = 1;
/** A spliced chunk smaller than this ends bulk mode: back to read/send. */
const BULK_MIN = 16 * 1024;

/** One direction: reads `src`, writes `dst`. */
interface Flow {
  src: FdHandle;
  dst: FdHandle;
  /** Bytes read but not yet written (allocated only on a partial write). */
  pending: Uint8Array | null;
  /** `src` reached end of input. */
  eof: boolean;
  /** EOF seen, pending flushed, `dst` shut down for writing. */
  ended: boolean;
  /** Moving bulk: chunks go through the loop's splice pipe. */
  bulk: boolean;
  /** Splice failed as unsupported on these fds: always copy through the read buffer. */
  copy: boolean;
}

class Relay extends LoopSession<EpollRelayResult> implements Delegate {
  #client: EpollConn;
  #upstream: EpollConn;
  #flows: [Flow, Flow];
  #stats: EpollStats;
  #startUp: number;
  #startDown: number;

  constructor(client: EpollConn, upstream: EpollConn, options: EpollRelayOptions) {
    const c = handleOf(client);
    const u = handleOf(upstream);
    super(c.loop, options);
    this.#client = client;
    this.#upstream = upstream;
    this.#flows = [
      { src: c, dst: u, pending: null, eof: false, ended: false, bulk: false, copy: false },
      { src: u, dst: c, pending: null, eof: false, ended: false, bulk: false, copy: false },
    ];
    this.#stats = options.stats ?? { up: 0, down: 0 };
    this.#startUp = this.#stats.up;
    this.#startDown = this.#stats.down;
  }

  protected closedAlready(): boolean {
    return this.#flows[UP].src.closed || this.#flows[DOWN].src.closed;
  }

  protected start(): void {
    const [up, down] = this.#flows;
    // Like the deno relay: no Nagle delay on either side (a peer may already be gone).
    noDelay(this.#client);
    noDelay(this.#upstream);
    up.src.delegateTo(this, UP);
    down.src.delegateTo(this, DOWN);
    up.src.setMask(EPOLLIN);
    down.src.setMask(EPOLLIN);
  }

  protected close(): void {
    closeQuietly(this.#client);
    closeQuietly(this.#upstream);
  }

  protected result(reason: EpollEnd): EpollRelayResult {
    return {
      up: this.#stats.up - this.#startUp,
      down: this.#stats.down - this.#startDown,
      reason,
    };
  }

  /** Events for the client (side UP: it is the `up` source) or the upstream (DOWN). */
  onEvents(side: number, events: number): void {
    const flows = this.#flows;
    const inbound = flows[side]!; // reads this fd
    const outbound = flows[side ^ 1]!; // writes this fd
    if ((events & READY_OUT) !== 0 && outbound.pending !== null) this.#flush(outbound, side ^ 1);
    if (this.done) return;
    if ((events & READY_IN) !== 0 && !inbound.eof && inbound.pending === null) {
      this.#pump(inbound, side);
    } else if ((events & (EPOLLERR | EPOLLHUP)) !== 0 && outbound.pending === null) {
      // An error or hang-up on an fd we neither read nor write: level-triggered, it would be
      // reported again and again.
      this.finish("reset");
    }
  }

  #pump(flow: Flow, dir: number): void {
    const lib = libc();
    const loop = flow.src.loop;
    const buffer = loop.buffer;
    const pipe = flow.bulk && !flow.copy ? loop.pipe() : null;
    const n = pipe !== null
      ? pipe.transfer(flow.src.fd, flow.dst.fd)
      : lib.read(flow.src.fd, buffer, buffer.length);
    if (pipe?.unsupported) {
      // Splice cannot work on these fds (or this kernel): copy from now on. A failed read
      // moved nothing, so read now; a failed send left its bytes in `rest` (handled below).
      flow.copy = true;
      flow.bulk = false;
      spliceCounts.fallbacks++;
      if (n < 0) return this.#pump(flow, dir);
    }
    if (n > 0) {
      if (dir === UP) this.#stats.up += n;
      else this.#stats.down += n;
      this.last = loop.now;
      if (pipe !== null) {
        flow.bulk = !flow.copy && n >= BULK_MIN;
        if (pipe.rest === null) return;
        flow.pending = pipe.rest;
        if (pipe.code !== 0) this.failUnlessAgain(pipe.code);
      } else {
        flow.pending = this.sendRead(flow.dst.fd, buffer, n);
        // A read that fills the buffer is bulk: splice the next chunks (no copy through JS).
        if (flow.pending === null) {
          flow.bulk = !flow.copy && n === buffer.length;
          return;
        }
      }
      if (this.done) return;
      this.#blocked(flow);
      return;
    }
    if (n === 0) {
      // Linux may report a peer's RST as end of input, like a FIN. While the other direction
      // still writes to this socket, a zero-length send tells them apart (as the deno relay
      // does): it fails on a reset socket and succeeds on a half-closed one.
      if (!this.#flows[dir ^ 1]!.ended && lib.send(flow.src.fd, buffer, 0, SEND_FLAGS) < 0) {
        return this.fail(errno());
      }
      flow.eof = true;
      this.#masks();
      this.#endIfFlushed(flow);
      return;
    }
    this.failUnlessAgain(pipe !== null ? pipe.code : errno());
  }

  #flush(flow: Flow, _dir: number): void {
    flow.pending = this.sendPending(flow.dst.fd, flow.pending!);
    if (flow.pending !== null) return;
    this.#masks();
    this.#endIfFlushed(flow);
  }

  /** Stop reading the source, wait for room on the destination. */
  #blocked(_flow: Flow): void {
    this.#masks();
  }

  #endIfFlushed(flow: Flow): void {
    if (!flow.eof || flow.pending !== null || flow.ended || this.done) return;
    flow.ended = true;
    if (!this.shutdownWrite(flow.dst.fd)) return;
    const [up, down] = this.#flows;
    if (up.ended && down.ended) this.finish("done");
  }

  /** Recompute both interest masks from the flows' state. */
  #masks(): void {
    if (this.done) return;
    const [up, down] = this.#flows;
    const c = (!up.eof && up.pending === null ? EPOLLIN : 0) |
      (down.pending !== null ? EPOLLOUT : 0);
    const u = (!down.eof && down.pending === null ? EPOLLIN : 0) |
      (up.pending !== null ? EPOLLOUT : 0);
    this.watchOnly(up.src, c);
    this.watchOnly(down.src, u);
  }
}

/**
 * Set TCP_NODELAY, ignoring a socket whose peer is already gone.
 *
 * @param conn The connection.
 * @example
 * ```ts
 * noDelay(conn);
 * ```
 */
export function noDelay(conn: EpollConn): void {
  try {
    conn.setNoDelay(true);
  } catch {
    // The first read or write reports it.
  }
}

/**
 * Close a connection unless it is already closed.
 *
 * @param conn The connection.
 * @example
 * ```ts
 * closeQuietly(conn);
 * closeQuietly(conn); // no BadResource the second time
 * ```
 */
export function closeQuietly(conn: EpollConn): void {
  if (!conn.closed) conn.close();
}

/**
 * Relay bytes both ways inside the epoll loop until both directions end, then close both.
 * A direction whose read fills the loop's buffer is bulk: its next chunks (up to 256 KiB)
 * go through the loop's pipe with `splice(2)`, never copied into JS memory, until a chunk
 * is under 16 KiB; where splice is unsupported (EINVAL, ENOSYS, EPERM) or the pipe cannot be
 * opened, that direction copies instead, and the relay goes on. A partial write parks the rest in a per-direction buffer and stops
 * reading that source until the destination drains (bounded memory). A FIN becomes `shutdown(SHUT_WR)` on the
 * other side once its pending bytes are out; a reset closes both ("reset").
 *
 * @param client The accepted connection (`up` reads from it).
 * @param upstream The connection to the target.
 * @param options Idle timeout, counters and abort signal.
 * @returns Byte counts and why it ended; never rejects.
 * @example
 * ```ts
 * const result = await epollRelay(client, upstream, { idleTimeoutMs: 60_000 });
 * console.log(result.up, result.down, result.reason);
 * ```
 */
export function epollRelay(
  client: EpollConn,
  upstream: EpollConn,
  options: EpollRelayOptions = {},
): Promise<EpollRelayResult> {
  const relay = new Relay(client, upstream, options);
  relay.begin();
  return relay.promise;
}
