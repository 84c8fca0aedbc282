import { describe, expect, it } from 'vitest';
import { rng } from '../testing/random-model.js';
import { NearDuplicateFilter, rougeL, textUnits } from './rouge.js';

/** The filter as first written: every new pair against every kept one (the reference for the indexed one). */
function bruteForce(pairs: [string, string][], threshold = 0.7): boolean[] {
  const kept: { q: string; a: string; marks: string }[] = [];
  const exact = new Set<string>();
  const marksOf = (t: string): string => (t.match(/[0-9]+|[一二三四五六七八九十百千零〇]+/gu) ?? []).join(',');
  return pairs.map(([q, a]) => {
    const key = textUnits(q).join(' ');
    if (exact.has(key)) return false;
    const marks = marksOf(q);
    if (kept.some((k) => k.marks === marks && rougeL(k.q, q) >= threshold && rougeL(k.a, a) >= threshold)) return false;
    exact.add(key);
    kept.push({ q, a, marks });
    return true;
  });
}

describe('the near-duplicate filter', () => {
  it('admits exactly what comparing every pair with every kept one admits, on many near-duplicates in two languages', () => {
    const next = rng(5);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
    const subjects = ['lockout devices', 'tagout devices', 'energy isolation', 'the fire extinguisher', 'a ladder', 'the incident commander', 'a tornado warning'];
    const verbs = ['must be inspected', 'should be checked', 'is removed', 'is applied', 'is signed'];
    const zh = ['第六十六条', '第六十七条', '应急预案', '治安管理', '突发事件'];
    const pairs: [string, string][] = [];
    for (let i = 0; i < 600; i++) {
      if (next() < 0.3) {
        const z = pick(zh);
        pairs.push([`${z}规定了什么${pick(['？', '内容？', '要求？'])}`, `${z}规定${pick(['单位应当', '个人应当', '政府应当'])}${pick(['报告', '处置', '公布'])}。`]);
      } else {
        const s = pick(subjects);
        pairs.push([`When ${pick(verbs)} ${s}${next() < 0.3 ? ` in step ${1 + Math.floor(next() * 4)}` : ''}?`, `${s} ${pick(verbs)} ${pick(['monthly', 'before work', 'after use', 'by the employee who applied it'])}.`]);
      }
    }
    const filter = new NearDuplicateFilter();
    const indexed = pairs.map(([q, a]) => filter.admit(q, a));
    expect(indexed).toEqual(bruteForce(pairs));
    // Both keep and drop: the case is not trivial either way.
    expect(indexed.filter(Boolean).length).toBeGreaterThan(20);
    expect(indexed.filter((x) => !x).length).toBeGreaterThan(100);
  });

  it('keeps questions that differ only by the numbers they name', () => {
    const filter = new NearDuplicateFilter();
    expect(filter.admit('What does step 2 say?', 'Shut the machine down.')).toBe(true);
    expect(filter.admit('What does step 3 say?', 'Shut the machine down.')).toBe(true);
    expect(filter.admit('What does step 3 say?', 'Anything.')).toBe(false);
    expect(filter.admit('What does the step 3 say?', 'Shut the machine down.')).toBe(false);
  });
});
