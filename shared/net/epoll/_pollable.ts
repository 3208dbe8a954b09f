/**
 * What the epoll loop dispatches to: one registered fd.
 *
 * @module
 */

/** Something registered in the loop: gets the epoll event bits for its fd. */
export interface Pollable {
  /** The file descriptor. */
  readonly fd: number;
  /** Registration token (set by the loop; 0 while not registered). */
  token: number;
  /** The current interest mask, or -1 while not in the epoll set. */
  mask: number;
  /** Registered but not keeping the loop running (the loop's `setPassive`). */
  passive: boolean;
  /** Called from the loop with the ready event bits. */
  onEvents(events: number): void;
}
