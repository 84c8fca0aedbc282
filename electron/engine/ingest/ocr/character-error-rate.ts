/**
 * Character error rate: the edit distance (insertions, deletions, substitutions) from the reference text to
 * the recognised one, over the reference's length, after normalising what a text layer and OCR legitimately
 * write differently (Unicode compatibility forms, dashes, quotes, runs of whitespace).
 */
function normalise(s: string): string[] {
  return [...s.normalize('NFKC').replace(/[\u2010-\u2015]/g, '-').replace(/[\u201c\u201d]/g, '"').replace(/[\u2018\u2019]/g, "'").replace(/\s+/g, ' ').trim()];
}

export function characterErrorRate(reference: string, recognised: string): number {
  const a = normalise(reference);
  const b = normalise(recognised);
  if (a.length === 0) return b.length === 0 ? 0 : 1;
  let prev = new Uint32Array(b.length + 1).map((_, j) => j);
  let cur = new Uint32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]! / a.length;
}
