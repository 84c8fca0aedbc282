import { TEXT_UNIT_GLOBAL } from '../text/scripts.js';

/** ROUGE-L F-measure between two texts: word tokens for alphabetic scripts, characters for CJK. */
export function textUnits(text: string): string[] {
  const out: string[] = [];
  for (const m of text.toLowerCase().matchAll(TEXT_UNIT_GLOBAL)) out.push(m[0]);
  return out;
}

export function rougeL(a: string, b: string): number {
  const x = textUnits(a);
  const y = textUnits(b);
  if (!x.length || !y.length) return 0;
  let prev = new Array<number>(y.length + 1).fill(0);
  for (let i = 1; i <= x.length; i++) {
    const cur = new Array<number>(y.length + 1).fill(0);
    for (let j = 1; j <= y.length; j++) cur[j] = x[i - 1] === y[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, cur[j - 1]!);
    prev = cur;
  }
  const lcs = prev[y.length]!;
  const p = lcs / x.length;
  const r = lcs / y.length;
  return p + r === 0 ? 0 : (2 * p * r) / (p + r);
}

/** How many units two texts share, counted with repetition: an upper bound of their LCS. */
function counts(units: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const u of units) m.set(u, (m.get(u) ?? 0) + 1);
  return m;
}

interface KeptPair {
  q: string;
  a: string;
  qLength: number;
}

/** The kept pairs that name the same numbers, with an index from each unit of their questions to them. */
class Bucket {
  readonly kept: KeptPair[] = [];
  private readonly postings = new Map<string, { pair: number; count: number }[]>();

  add(pair: KeptPair, units: Map<string, number>): void {
    const id = this.kept.push(pair) - 1;
    for (const [u, count] of units) {
      let list = this.postings.get(u);
      if (!list) this.postings.set(u, (list = []));
      list.push({ pair: id, count });
    }
  }

  /**
   * Kept pairs whose question could reach ROUGE-L ≥ threshold with this one. F = 2·LCS / (|x| + |y|), and the
   * LCS is at most the units the two share, so a pair sharing fewer than threshold·(|x| + |y|) / 2 cannot:
   * only the others are compared word by word.
   */
  candidates(units: Map<string, number>, length: number, threshold: number): KeptPair[] {
    const shared = new Map<number, number>();
    for (const [u, count] of units) {
      for (const p of this.postings.get(u) ?? []) shared.set(p.pair, (shared.get(p.pair) ?? 0) + Math.min(count, p.count));
    }
    const out: KeptPair[] = [];
    for (const [id, n] of shared) {
      const pair = this.kept[id]!;
      if (n >= (threshold * (length + pair.qLength)) / 2) out.push(pair);
    }
    return out;
  }
}

/**
 * Near-duplicate filter in Alpaca's manner (ROUGE-L ≥ 0.7). A pair is dropped when its question is already
 * asked word for word, or when both its question and its answer are near-duplicates of a kept pair: template
 * questions ("What does the guidance on "X" say?") share most words while asking about different things.
 * Each new pair is compared only with the kept pairs that could be that close (an index of shared words), so
 * tens of thousands of pairs are filtered in seconds rather than compared all against all.
 */
export class NearDuplicateFilter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly exact = new Set<string>();
  constructor(private readonly threshold = 0.7) {}

  admit(question: string, answer: string): boolean {
    const units = textUnits(question);
    const key = units.join(' ');
    if (this.exact.has(key)) return false;
    // Questions that name different numbers ask about different things, however alike the wording and the
    // answers: 第六十六条 and 第六十七条 of a statute, Type 4 and Type 5, step 2 and step 3.
    const marks = numbersIn(question);
    let bucket = this.buckets.get(marks);
    if (!bucket) this.buckets.set(marks, (bucket = new Bucket()));
    const unitCounts = counts(units);
    for (const k of bucket.candidates(unitCounts, units.length, this.threshold)) {
      if (rougeL(k.q, question) >= this.threshold && rougeL(k.a, answer) >= this.threshold) return false;
    }
    this.exact.add(key);
    bucket.add({ q: question, a: answer, qLength: units.length }, unitCounts);
    return true;
  }
}

function numbersIn(text: string): string {
  return (text.match(/[0-9]+|[一二三四五六七八九十百千零〇]+/gu) ?? []).join(',');
}
