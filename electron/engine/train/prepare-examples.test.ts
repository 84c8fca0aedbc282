import { describe, expect, it } from 'vitest';
import { TINY_MODEL } from '../testing/corpus.js';
import { fitConversation, fitExamples, partMarker, prepareExamples } from './prepare-examples.js';
import type { TokenizedExample } from './sft-data.js';
import type { Conversation } from '../models/messages.js';

/** One token per character, the answer's characters labelled: enough to check the bookkeeping exactly. */
const byChars = (c: Conversation): TokenizedExample => {
  const prompt = c.filter((m) => m.role !== 'assistant').map((m) => m.content).join('|');
  const answer = c.filter((m) => m.role === 'assistant').map((m) => m.content).join('');
  const tokens = [...`${prompt}>${answer}`].map((ch) => ch.codePointAt(0)!);
  const labels = tokens.map((_, t) => (t >= prompt.length ? tokens[t + 1] ?? 0 : -1));
  return { tokens, labels };
};

const qa = (q: string, a: string): Conversation => [{ role: 'user', content: q }, { role: 'assistant', content: a }];

describe('fitting training data to the sequence length', () => {
  const sentences = Array.from({ length: 12 }, (_, i) => `Sentence number ${i + 1} says one thing.`);
  const long = qa('What does the section require?', sentences.join(' '));

  it('splits a long answer at sentence boundaries, the question repeated, every sentence kept once', () => {
    const parts = fitConversation(long, (c) => byChars(c).tokens.length <= 160)!;
    expect(parts.length).toBeGreaterThan(2);
    expect(parts[0]![0]!.content).toBe('What does the section require?');
    parts.slice(1).forEach((p, i) => expect(p[0]!.content).toBe(`What does the section require?\n\n${partMarker('What', i + 2, parts.length)}`));
    for (const p of parts) {
      expect(byChars(p).tokens.length).toBeLessThanOrEqual(160);
      expect(p[1]!.content).toMatch(/^Sentence number \d+ says one thing\.$|thing\.$/);
    }
    expect(parts.map((p) => p[1]!.content).join(' ')).toBe(sentences.join(' '));
  });

  it('cuts a sentence longer than a part between words, and marks Chinese parts in Chinese', () => {
    const runOn = qa('第十条规定了什么？', '应急管理部门应当'.repeat(30) + '。');
    const parts = fitConversation(runOn, (c) => byChars(c).tokens.length <= 100)!;
    expect(parts.length).toBeGreaterThan(2);
    expect(parts[1]![0]!.content).toContain('（续，第 2 部分');
    expect(parts.map((p) => p[1]!.content).join('')).toBe(runOn[1]!.content);
  });

  it('counts what it did: fitted, dropped (no room beside the question), the rest untouched', () => {
    const short = qa('Who?', 'The employer.');
    const hopeless = qa('Q'.repeat(200), 'A short answer.');
    const { examples, fit } = fitExamples([short, long, hopeless], 160, 'fit', byChars);
    expect(fit).toMatchObject({ seq: 160, conversations: 3, tooLong: 2, split: 1, dropped: 1 });
    expect(examples.filter((e) => e.conversation === 1)).toHaveLength(fit.parts);
    expect(examples[0]).toMatchObject({ conversation: 0 });
    expect(examples.every((e) => e.tokens.length <= 160)).toBe(true);
    expect(examples.some((e) => e.conversation === 2)).toBe(false);
  });

  it('refuses naming every conversation that is too long, the longest and the length that would do', () => {
    const data = [qa('a', 'b'), long, qa('c', 'd'), long];
    expect(() => fitExamples(data, 160, 'refuse', byChars)).toThrow(
      /2 of 4 examples are longer than --seq 160 tokens \(examples 2, 4; the longest, example 2, is \d+\): raise --seq to \d+, or use --long-sequences fit/,
    );
  });

  it('splits into windows when asked to, the last label of each window cleared', () => {
    const { examples, fit } = fitExamples([long], 160, 'split', byChars);
    expect(fit.tooLong).toBe(1);
    expect(examples.length).toBe(Math.ceil(byChars(long).tokens.length / 160));
    for (const e of examples) expect(e.labels.at(-1)).toBe(-1);
  });

  it("fits with the model's own tokenizer and template", async () => {
    const answer = Array.from({ length: 40 }, (_, i) => `The worker must check lock ${i} before starting the machine.`).join(' ');
    const { examples, fit } = await prepareExamples(TINY_MODEL, [qa('What must the worker check?', answer)], 256, 'fit');
    expect(fit.split).toBe(1);
    expect(examples.length).toBe(fit.parts);
    expect(fit.longest).toBeGreaterThan(256);
    for (const e of examples) expect(e.tokens.length).toBeLessThanOrEqual(256);
  });
});
