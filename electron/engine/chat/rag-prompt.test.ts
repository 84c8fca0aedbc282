import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINY_MODEL } from '../testing/corpus.js';
import { ChatHost } from './chat-host.js';
import { ragQuestion, withPassages, type TokenCounter } from './rag-prompt.js';

/** One token per four characters, rounded up: enough to check the arithmetic of fitting. */
const fake = (contextSize: number): TokenCounter => ({ contextSize, countTokens: async (texts) => texts.map((t) => Math.ceil(t.length / 4)) });
const passage = (title: string, chars: number): { title: string; text: string } => ({ title, text: 'word '.repeat(chars / 5).trim() });

describe('retrieved passages fitted to the context', () => {
  it('keeps every passage when they fit, numbered in rank order, in the question language', async () => {
    const r = await withPassages(fake(4096), [{ role: 'user', content: 'What is a hazard?' }], [passage('A', 400), passage('B', 400)], 256);
    expect(r.used.map((p) => p.title)).toEqual(['A', 'B']);
    expect(r.messages[0]!.content).toMatch(/^Answer using the passages below[\s\S]*\[1\] \(A\)[\s\S]*\[2\] \(B\)[\s\S]*Question: What is a hazard\?$/);
    expect(ragQuestion('什么是危险？', [{ title: '法', text: '条文' }])).toMatch(/^请根据下面的资料回答问题[\s\S]*问题：什么是危险？$/);
  });

  it('cuts the passage that fits only in part and drops those after it', async () => {
    const counter = fake(512);
    const history = [{ role: 'user' as const, content: 'Earlier question' }, { role: 'assistant' as const, content: 'Earlier answer' }, { role: 'user' as const, content: 'What is a hazard?' }];
    const r = await withPassages(counter, history, [passage('A', 400), passage('B', 2000), passage('C', 400)], 512);
    expect(r.used.map((p) => p.title)).toEqual(['A', 'B']);
    expect(r.used[1]!.text.endsWith('…')).toBe(true);
    expect(r.used[1]!.text.length).toBeLessThan(2000);
    // The prompt leaves room for an answer of half the context (max tokens 512 > 512 / 2).
    const [total] = await counter.countTokens([r.messages.map((m) => m.content).join('\n')]);
    expect(total! + 256 + 48 + 8 * history.length).toBeLessThanOrEqual(512 + 8);
    expect(r.messages.slice(0, 2)).toEqual(history.slice(0, 2));
  });

  it('gives no passage when none fits, leaving the question as it was', async () => {
    const r = await withPassages(fake(160), [{ role: 'user', content: 'Q?' }], [passage('A', 4000)], 256);
    expect(r.used).toEqual([]);
    expect(r.messages).toEqual([{ role: 'user', content: 'Q?' }]);
  });

  describe('with a real model and tokenizer', () => {
    let host: ChatHost;
    beforeAll(async () => {
      host = await ChatHost.open({ modelPath: TINY_MODEL, threads: 1, parallel: 1 });
    });
    afterAll(() => host.close());

    it('fits three long passages into the tiny model and answers', async () => {
      expect(host.contextSize).toBeGreaterThan(0);
      const passages = ['A', 'B', 'C'].map((t) => ({ title: t, text: 'Lily saw a big red ball in the park and ran to get it. '.repeat(40) }));
      const [whole] = await host.countTokens([passages.map((p) => p.text).join('\n')]);
      expect(whole).toBeGreaterThan(host.contextSize); // would not fit as is
      const r = await withPassages(host, [{ role: 'user', content: 'What did Lily see?' }], passages, 64);
      expect(r.used.length).toBeGreaterThan(0);
      const [prompt] = await host.countTokens([r.messages[0]!.content]);
      expect(prompt! + 64).toBeLessThanOrEqual(host.contextSize);
      const g = await host.generate(r.messages, { maxTokens: 64, temperature: 0 });
      expect(g.completionTokens).toBeGreaterThan(0);
    });
  });
});
