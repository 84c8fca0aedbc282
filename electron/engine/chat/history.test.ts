import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../shared/contract.js';
import { historyFor } from './history.js';

describe('the history each model is shown', () => {
  const messages: ChatMessage[] = [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Q1' },
    { role: 'assistant', content: 'base 1', side: 'base' },
    { role: 'assistant', content: 'adapted 1', side: 'adapted' },
    { role: 'user', content: 'Q2' },
    { role: 'assistant', content: 'adapted 2', side: 'adapted' },
    { role: 'user', content: 'Q3' },
    { role: 'assistant', content: 'partial', side: 'base', error: { message: 'the model process stopped', code: 'MODEL' } },
    { role: 'assistant', content: 'adapted 3', side: 'adapted', finishReason: 'length' },
    { role: 'user', content: 'Q4' },
  ];

  it('keeps each side its own answers, turn by turn', () => {
    expect(historyFor(messages, 'base').map((m) => m.content)).toEqual(['Be brief.', 'Q1', 'base 1', 'Q2', 'adapted 2', 'Q3', 'adapted 3', 'Q4']);
    expect(historyFor(messages, 'adapted').map((m) => m.content)).toEqual(['Be brief.', 'Q1', 'adapted 1', 'Q2', 'adapted 2', 'Q3', 'adapted 3', 'Q4']);
  });

  it('leaves out failed answers and turns with no answer', () => {
    const h = historyFor([{ role: 'user', content: 'Q1' }, { role: 'assistant', content: '', side: 'base', error: { message: 'x', code: 'MODEL' } }, { role: 'user', content: 'Q2' }], 'base');
    expect(h).toEqual([{ role: 'user', content: 'Q1' }, { role: 'user', content: 'Q2' }]);
  });
});
