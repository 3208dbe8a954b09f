/**
 * "Did you mean" for mistyped flags: the known name closest by edit distance.
 *
 * @module
 */

/** A suggestion farther than this many edits (or half the word) is no help. */
const MAX_EDITS = 3;

/**
 * The known name nearest to `typed` (Levenshtein distance), when it is close enough to help.
 *
 * @param typed What the user wrote, without dashes (e.g. `listn`).
 * @param known The names that exist.
 * @returns The nearest name, or undefined when none is close.
 * @example
 * ```ts
 * nearestName("listn", ["listen", "target"]); // "listen"
 * ```
 */
export function nearestName(typed: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const limit = Math.min(MAX_EDITS, Math.max(1, Math.floor(typed.length / 2)));
  for (const name of known) {
    // A prefix ("--metrics-add") is what people type most; count it as one edit.
    const d = name.startsWith(typed) && typed.length >= 3 ? 1 : editDistance(typed, name);
    if (d < bestDistance || (d === bestDistance && best !== undefined && name < best)) {
      best = name;
      bestDistance = d;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

/** Levenshtein distance, two rows. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
    }
    prev = row;
  }
  return prev[b.length]!;
}
