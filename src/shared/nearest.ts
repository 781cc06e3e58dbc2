/** "Did you mean …?" for misspelt names: the closest candidate within a small edit distance. */

/** Levenshtein distance, case-insensitive (`maxcompressed` is one typo from `maxCompressed`). */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      row.push(Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + cost));
    }
    previous = row;
  }
  return previous[y.length]!;
}

/**
 * The candidate nearest to `name`, if it is close enough to be a typo: at most a third of the
 * name's length in edits (at least 1, at most 3). Names are bounded first (they come from files).
 */
export function nearestName(name: string, candidates: Iterable<string>): string | undefined {
  if (name.length > 64) return undefined;
  const limit = Math.min(3, Math.max(1, Math.floor(name.length / 3)));
  let best: { name: string; d: number } | undefined;
  for (const c of candidates) {
    if (c.length > 64) continue;
    const d = distance(name, c);
    if (d <= limit && (best === undefined || d < best.d)) best = { name: c, d };
  }
  return best?.name;
}
