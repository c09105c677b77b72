/**
 * A confusion matrix of many classes, folded to the `keep - 1` classes with the most
 * true examples plus one "other" class that sums the rest, so a 1022-class target
 * draws 144 cells instead of a million. Counts are preserved: every cell of the
 * original lands in exactly one folded cell.
 */
export function foldConfusion(labels: string[], matrix: number[][], keep: number): { labels: string[]; matrix: number[][]; hidden: number } {
  if (labels.length <= keep) return { labels, matrix, hidden: 0 }
  const support = matrix.map((row, i) => ({ i, n: row.reduce((a, b) => a + b, 0) }))
  const top = support
    .sort((a, b) => b.n - a.n || a.i - b.i)
    .slice(0, keep - 1)
    .map((s) => s.i)
    .sort((a, b) => a - b)
  const slot = new Map(top.map((original, folded) => [original, folded]))
  const other = top.length
  const out = Array.from({ length: top.length + 1 }, () => new Array<number>(top.length + 1).fill(0))
  matrix.forEach((row, i) => row.forEach((n, j) => (out[slot.get(i) ?? other]![slot.get(j) ?? other]! += n)))
  return { labels: [...top.map((i) => labels[i]!), 'other'], matrix: out, hidden: labels.length - top.length }
}
