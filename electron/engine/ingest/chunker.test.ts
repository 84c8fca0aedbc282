import { describe, expect, it } from 'vitest';
import { chunkBlocks } from './chunker.js';
import { parseMarkdown } from './parse-markdown.js';
import { estimateTokens } from '../text/text-units.js';
import type { Block } from './types.js';

const sentence = (i: number): string => `Sentence number ${i} explains one more step of the lockout procedure in detail.`;

describe('chunkBlocks', () => {
  it('carries the heading path and restarts at each heading', () => {
    const doc = parseMarkdown('# Manual\n\n## Lockout\n\nApply locks.\n\n## Tagout\n\nAttach tags.\n', 'x');
    const chunks = chunkBlocks(doc.blocks, { targetTokens: 400, overlapTokens: 50 }, 'en');
    expect(chunks.map((c) => [c.heading, c.text])).toEqual([
      [['Manual', 'Lockout'], 'Apply locks.'],
      [['Manual', 'Tagout'], 'Attach tags.'],
    ]);
  });

  it('never cuts a sentence, respects the target and overlaps by whole sentences', () => {
    const para = Array.from({ length: 40 }, (_, i) => sentence(i)).join(' ');
    const blocks: Block[] = [{ kind: 'paragraph', text: para, page: 3 }];
    const chunks = chunkBlocks(blocks, { targetTokens: 100, overlapTokens: 30 }, 'en');
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) {
      expect(c.tokens).toBeLessThanOrEqual(100);
      expect(c.text).toMatch(/^Sentence number \d+ .*detail\.$/);
      expect(c.page).toBe(3);
    }
    // The next chunk starts with the last sentence(s) of the previous one.
    const lastOfFirst = chunks[0]!.text.split(/(?<=\.) /).pop()!;
    expect(chunks[1]!.text.startsWith(lastOfFirst)).toBe(true);
  });

  it('keeps a table whole when it fits and splits a big one by rows with the header repeated', () => {
    const small: Block = { kind: 'table', rows: [['Item', 'Value'], ['Locks', '3'], ['Tags', '5']], page: 1 };
    const one = chunkBlocks([{ kind: 'paragraph', text: 'Intro text.', page: 1 }, small], { targetTokens: 200, overlapTokens: 0 }, 'en');
    expect(one.some((c) => c.text.includes('Item | Value\nLocks | 3\nTags | 5'))).toBe(true);
    const rows = [['Hazard', 'Control'], ...Array.from({ length: 60 }, (_, i) => [`Hazard ${i} description`, `Control measure ${i}`])];
    const big = chunkBlocks([{ kind: 'table', rows, page: 2 }], { targetTokens: 80, overlapTokens: 20 }, 'en');
    expect(big.length).toBeGreaterThan(2);
    for (const c of big) {
      expect(c.text.startsWith('Hazard | Control\n')).toBe(true);
      expect(estimateTokens(c.text)).toBeLessThanOrEqual(80);
    }
    expect(big.map((c) => c.text).join('\n')).toContain('Hazard 59 description | Control measure 59');
  });

  it('splits Chinese at sentence ends', () => {
    const text = Array.from({ length: 30 }, (_, i) => `第${i + 1}项 公安机关应当依法履行治安管理职责；`).join('') + '本法自公布之日起施行。';
    const chunks = chunkBlocks([{ kind: 'paragraph', text, page: null }], { targetTokens: 60, overlapTokens: 10 }, 'zh');
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) {
      expect(c.text).toMatch(/[；。]$/);
      expect(c.language).toBe('zh');
    }
  });
});
