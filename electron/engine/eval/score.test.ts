import { describe, expect, it } from 'vitest';
import { answerTokens, exactMatch, tokenF1 } from './score.js';

describe('answer scores', () => {
  it('normalises case, punctuation and articles for exact match', () => {
    expect(exactMatch('The ball is red.', 'ball is RED')).toBe(1);
    expect(exactMatch('The ball is blue.', 'The ball is red.')).toBe(0);
  });

  it('gives token F1 as SQuAD does', () => {
    // articles drop out: 'cat sat on mat' against 'cat sat' → precision 2/4, recall 2/2
    expect(tokenF1('the cat sat on the mat', 'the cat sat')).toBeCloseTo((2 * 0.5 * 1) / (0.5 + 1));
    expect(tokenF1('nothing shared', 'the cat sat')).toBe(0);
    expect(tokenF1('', '')).toBe(1);
  });

  it('splits Chinese into words, so F1 works without spaces', () => {
    expect(answerTokens('违反治安管理行为的，依照本法给予治安管理处罚。')).toEqual(['违反', '治安', '管理', '行为', '的', '依照', '本法', '给予', '治安', '管理', '处罚']);
    expect(tokenF1('给予治安管理处罚', '依照本法给予治安管理处罚')).toBeGreaterThan(0.6);
    expect(tokenF1('公共安全', '治安管理')).toBe(0);
  });
});
