import { describe, expect, it } from 'vitest';
import { estimateTokens, queryTerms, segmentForIndex, splitSentences } from './text-units.js';
import { detectLanguage } from './detect-language.js';

describe('text units', () => {
  it('estimates tokens per CJK character and per ~4 Latin letters', () => {
    expect(estimateTokens('治安管理')).toBe(4);
    expect(estimateTokens('lockout')).toBe(2);
    expect(estimateTokens('a, b.')).toBe(4);
  });

  it('splits Chinese at 。！？； and keeps every character', () => {
    const text = '第一条 为维护社会治安秩序，制定本法。第二条 扰乱公共秩序；尚不够刑事处罚的，给予处罚！是否适用？';
    const parts = splitSentences(text, 'zh');
    expect(parts.join('')).toBe(text);
    expect(parts).toHaveLength(4);
    expect(parts[1]).toBe('第二条 扰乱公共秩序；');
  });

  it('splits English sentences', () => {
    const parts = splitSentences('Lock the switch. Then tag it! Done?', 'en');
    expect(parts.map((s) => s.trim())).toEqual(['Lock the switch.', 'Then tag it!', 'Done?']);
  });

  it('segments Chinese into words for the full-text index', () => {
    expect(segmentForIndex('违反治安管理行为的，依照本法给予治安管理处罚。')).toBe('违反 治安 管理 行为 的 依照 本法 给予 治安 管理 处罚');
    expect(segmentForIndex('lockout/tagout')).toBe('lockout/tagout');
    expect(queryTerms('治安管理')).toEqual(['治安', '管理']);
  });

  it('detects zh and en', () => {
    expect(detectLanguage('中华人民共和国突发事件应对法 第一条 为了预防和减少突发事件的发生')).toBe('zh');
    expect(detectLanguage('Employers must develop, document, and use procedures to control potentially hazardous energy.')).toBe('en');
  });
});
