/**
 * One `abort` listener per signal for all the relays and echoes it may end. A listener per
 * connection costs a record, an options object and a closure on the signal (the proxy's
 * shutdown signal is shared by every connection); a Set entry is a few words.
 *
 * @module
 */

/** Something an abort ends. */
export interface Abortable {
  /** Called once when the signal aborts. */
  onAbort(): void;
}

const groups = new WeakMap<AbortSignal, Set<Abortable>>();

/**
 * Call `member.onAbort()` when `signal` aborts (once), until {@linkcode unwatchAbort}.
 *
 * @param signal The signal.
 * @param member What it ends.
 */
export function watchAbort(signal: AbortSignal, member: Abortable): void {
  let members = groups.get(signal);
  if (members === undefined) {
    const group = new Set<Abortable>();
    members = group;
    groups.set(signal, group);
    signal.addEventListener("abort", () => {
      groups.delete(signal);
      for (const m of group) m.onAbort();
      group.clear();
    }, { once: true });
  }
  members.add(member);
}

/**
 * Stop watching `signal` for `member`.
 *
 * @param signal The signal.
 * @param member The member.
 */
export function unwatchAbort(signal: AbortSignal, member: Abortable): void {
  groups.get(signal)?.delete(member);
}
