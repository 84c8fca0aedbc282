/** ROUGE-L F-measure between two texts: word tokens for alphabetic scripts, characters for CJK. */
export function textUnits(text: string): string[] {
  const out: string[] = [];
  for (const m of text.toLowerCase().matchAll(/[\u3400-\u9fff]|[\p{L}\p{N}]+/gu)) out.push(m[0]);
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

/**
 * Near-duplicate filter in Alpaca's manner (ROUGE-L ≥ 0.7). A pair is dropped when its question is already
 * asked word for word, or when both its question and its answer are near-duplicates of a kept pair: template
 * questions ("What does the guidance on "X" say?") share most words while asking about different things.
 */
export class NearDuplicateFilter {
  private readonly kept: { q: string; a: string; marks: string }[] = [];
  private readonly exact = new Set<string>();
  constructor(private readonly threshold = 0.7) {}

  admit(question: string, answer: string): boolean {
    const key = textUnits(question).join(' ');
    if (this.exact.has(key)) return false;
    // Questions that name different numbers ask about different things, however alike the wording and the
    // answers: 第六十六条 and 第六十七条 of a statute, Type 4 and Type 5, step 2 and step 3.
    const marks = numbersIn(question);
    if (this.kept.some((k) => k.marks === marks && rougeL(k.q, question) >= this.threshold && rougeL(k.a, answer) >= this.threshold)) return false;
    this.exact.add(key);
    this.kept.push({ q: question, a: answer, marks });
    return true;
  }
}

function numbersIn(text: string): string {
  return (text.match(/[0-9]+|[一二三四五六七八九十百千零〇]+/gu) ?? []).join(',');
}
