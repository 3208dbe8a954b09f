/**
 * {@linkcode SplicePipe}: the loop's pipe for `splice(2)`. A bulk relay moves each chunk
 * socket → pipe → socket in the kernel, so its bytes are never copied into (and out of) the
 * loop's read buffer. One pipe per loop, shared by every relay, and empty between two calls:
 * whatever the destination does not take at once is copied out into the relay's pending
 * buffer (the same bounded backpressure as the read/send path).
 *
 * Where splice cannot work (a kernel without it, fd types it does not support: EINVAL,
 * ENOSYS, EPERM) a transfer says so ({@linkcode SplicePipe.unsupported}) and the relay copies
 * through its read buffer from then on; where the pipe cannot be opened, the loop's relays copy.
 *
 * @module
 */

import {
  errno,
  F_SETPIPE_SZ,
  libc,
  O_CLOEXEC,
  O_NONBLOCK,
  SPLICE_F_MOVE,
  SPLICE_F_NONBLOCK,
} from "./_libc.ts";

/** Most bytes one splice moves (the pipe is sized to it when the kernel allows). */
export const SPLICE_CHUNK = 256 * 1024;
const FLAGS = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;
const EIO = 5;
const EPERM = 1;
const EINVAL = 22;
const ENOSYS = 38;
/** errnos meaning splice cannot work here (this kernel, these fd types): copy instead. */
const UNSUPPORTED = new Set([EPERM, EINVAL, ENOSYS]);

/**
 * Bytes moved through splice pipes in this thread, bytes copied back out, and relay
 * directions that went back to copying because splice is unsupported (for tests).
 */
export const spliceCounts = { moved: 0, copiedOut: 0, fallbacks: 0 };

/**
 * Test hooks: an errno that `pipe2`, the splice from the source or the splice to the
 * destination fails with instead of being called (0: call it). Tests only.
 */
export const spliceFaults = { pipe2: 0, source: 0, destination: 0 };

/** A non-blocking pipe that relays splice through. */
export class SplicePipe {
  /** Bytes the destination did not take in the last {@linkcode SplicePipe.transfer}, or null. */
  rest: Uint8Array | null = null;
  /**
   * errno of the failed read (result -1) or send (`rest` set; 0: partial, EAGAIN: full) in the
   * last transfer.
   */
  code = 0;
  /**
   * The last transfer failed because splice cannot work on these fds or this kernel: copy
   * instead. A failed read then moved nothing; a failed send left its bytes in `rest` (code 0).
   */
  unsupported = false;
  #r = -1;
  #w = -1;

  /**
   * Open the pipe.
   *
   * @returns False when pipe2 failed (EMFILE...): the caller copies instead.
   */
  open(): boolean {
    const lib = libc();
    const fds = new Int32Array(2);
    if (spliceFaults.pipe2 !== 0) return false;
    if (lib.pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) return false;
    this.#r = fds[0]!;
    this.#w = fds[1]!;
    lib.fcntl(this.#w, F_SETPIPE_SZ, SPLICE_CHUNK); // best effort: 64 KiB otherwise
    return true;
  }

  /** Whether the pipe is open. */
  get isOpen(): boolean {
    return this.#r >= 0;
  }

  /** Close both ends. */
  close(): void {
    if (this.#r < 0) return;
    libc().close(this.#r);
    libc().close(this.#w);
    this.#r = this.#w = -1;
  }

  /**
   * Move one chunk from `src` to `dst`. When the destination takes less than was read, the
   * rest is copied out of the pipe into {@linkcode SplicePipe.rest} (and the send's errno
   * into {@linkcode SplicePipe.code}), so the pipe is empty again for the next relay.
   *
   * @param src Socket to read.
   * @param dst Socket to write.
   * @returns Bytes read from `src` (> 0), 0 at end of input, or -1 (errno in `code`).
   */
  transfer(src: number, dst: number): number {
    const lib = libc();
    this.rest = null;
    this.unsupported = false;
    const faults = spliceFaults;
    const n = faults.source !== 0 ? -1 : lib.splice(src, null, this.#w, null, SPLICE_CHUNK, FLAGS);
    if (n < 0) {
      this.code = faults.source !== 0 ? faults.source : errno();
      this.unsupported = UNSUPPORTED.has(this.code);
      return n;
    }
    if (n === 0) return n;
    spliceCounts.moved += n;
    const w = faults.destination !== 0 ? -1 : lib.splice(this.#r, null, dst, null, n, FLAGS);
    if (w === n) return n;
    this.code = w >= 0 ? 0 : faults.destination !== 0 ? faults.destination : errno();
    if (UNSUPPORTED.has(this.code)) {
      // Nothing was sent: the rest goes out with send() once the destination is writable.
      this.unsupported = true;
      this.code = 0;
    }
    const rest = new Uint8Array(n - (w < 0 ? 0 : w));
    for (let got = 0; got < rest.length;) {
      const r = lib.read(this.#r, rest.subarray(got), rest.length - got);
      if (r <= 0) {
        // Cannot happen (the bytes are in the pipe); never hand a half-full pipe to another
        // relay, and fail this one rather than lose bytes silently.
        this.close();
        this.code = EIO;
        break;
      }
      got += r;
    }
    spliceCounts.copiedOut += rest.length;
    this.rest = rest;
    return n;
  }
}
