import { describe, expect, it } from 'vitest';
import { highlightSegments, rangeSegments, snippetAround } from './highlight';

const marked = (text: string, terms: string[]): string =>
  highlightSegments(text, terms)
    .map((s) => (s.match ? `[${s.text}]` : s.text))
    .join('');

describe('highlightSegments', () => {
  it('marks every occurrence, ignoring case, keeping the original text', () => {
    expect(marked('Pump pressure and PUMP speed', ['pump'])).toBe('[Pump] pressure and [PUMP] speed');
  });

  it('reassembles to exactly the input text', () => {
    const text = 'The valve (DN50) controls flow; see §3.2.';
    const joined = highlightSegments(text, ['valve', 'flow', '3.2']).map((s) => s.text).join('');
    expect(joined).toBe(text);
  });

  it('prefers the longer term where terms overlap', () => {
    expect(marked('database data', ['data', 'database'])).toBe('[database] [data]');
  });

  it('matches Chinese terms inside running text and merges adjacent matches', () => {
    expect(marked('本文介绍机器学习的基本方法。', ['机器', '学习'])).toBe('本文介绍[机器学习]的基本方法。');
  });

  it('treats regular-expression characters in terms literally', () => {
    expect(marked('a+b and ab and a.b', ['a+b', 'a.b'])).toBe('[a+b] and ab and [a.b]');
  });

  it('keeps markup-looking text as plain text segments', () => {
    const segments = highlightSegments('<script>alert(1)</script> alert', ['alert']);
    expect(segments).toEqual([
      { text: '<script>', match: false },
      { text: 'alert', match: true },
      { text: '(1)</script> ', match: false },
      { text: 'alert', match: true },
    ]);
  });

  it('handles no terms, blank terms and empty text', () => {
    expect(highlightSegments('plain', [])).toEqual([{ text: 'plain', match: false }]);
    expect(highlightSegments('plain', ['', '  '])).toEqual([{ text: 'plain', match: false }]);
    expect(highlightSegments('', ['x'])).toEqual([]);
  });
});

describe('snippetAround', () => {
  it('returns short text unchanged', () => {
    expect(snippetAround('short text', ['text'], 100)).toBe('short text');
  });

  it('cuts long text around the first match, marking the cuts', () => {
    const text = `${'lorem ipsum '.repeat(50)}the turbine blade ${'dolor sit '.repeat(50)}`;
    const snippet = snippetAround(text, ['turbine'], 120);
    expect(snippet).toContain('turbine');
    expect(snippet.startsWith('…')).toBe(true);
    expect(snippet.endsWith('…')).toBe(true);
    expect(snippet.length).toBeLessThanOrEqual(122);
  });

  it('starts at the beginning when nothing matches', () => {
    const text = '资料'.repeat(200);
    const snippet = snippetAround(text, ['风机'], 50);
    expect(snippet.startsWith('资料')).toBe(true);
    expect(snippet.endsWith('…')).toBe(true);
  });
});

describe('rangeSegments', () => {
  const marked = (text: string, range: [number, number] | null): string =>
    rangeSegments(text, range)
      .map((s) => (s.mark ? `[${s.text}]` : s.text))
      .join('');

  it('marks the range and keeps the text around it', () => {
    expect(marked('Keep exits clear at all times.', [5, 16])).toBe('Keep [exits clear] at all times.');
    expect(marked('第一条 为了维护社会治安秩序。', [4, 15])).toBe('第一条 [为了维护社会治安秩序。]');
  });

  it('handles ranges at the edges and clamps ranges beyond the text', () => {
    expect(marked('abcdef', [0, 3])).toBe('[abc]def');
    expect(marked('abcdef', [3, 6])).toBe('abc[def]');
    expect(marked('abcdef', [4, 99])).toBe('abcd[ef]');
    expect(marked('abcdef', [-5, 2])).toBe('[ab]cdef');
  });

  it('leaves the text plain without a usable range', () => {
    expect(marked('abcdef', null)).toBe('abcdef');
    expect(marked('abcdef', [3, 3])).toBe('abcdef');
    expect(marked('abcdef', [5, 2])).toBe('abcdef');
    expect(rangeSegments('', [0, 1])).toEqual([]);
  });
});
