import { describe, expect, it } from 'vitest';
import type { ChatMessage, Citation } from '$shared/contract';
import { answersOf, newConversationId, sidesFor, titleOf, turnsOf, worthSaving, type LiveTurn } from './chat-turns';

const cite: Citation = { n: 1, chunkId: 'c1', documentId: 'd1', title: 'OSHA 3120', page: 4, heading: ['Scope'], text: 'Lockout…' };

function live(overrides: Partial<LiveTurn> = {}): LiveTurn {
  return { jobId: 'j', userIndex: 0, sides: ['adapted', 'base'], text: { base: '', adapted: '' }, ended: {}, citations: [], ...overrides };
}

describe('sidesFor', () => {
  it('answers with the base model alone without an adapter, else with the adapted one (and the base beside it)', () => {
    expect(sidesFor({ adapterPath: '', compare: true })).toEqual(['base']);
    expect(sidesFor({ adapterPath: '/a.gguf', compare: false })).toEqual(['adapted']);
    expect(sidesFor({ adapterPath: '/a.gguf', compare: true })).toEqual(['adapted', 'base']);
  });
});

describe('turnsOf', () => {
  const messages: ChatMessage[] = [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'What is LOTO?' },
    { role: 'assistant', content: 'Adapted answer', side: 'adapted', citations: [cite] },
    { role: 'assistant', content: 'Base answer', side: 'base', citations: [cite] },
    { role: 'user', content: 'And tags?' },
    { role: 'assistant', content: 'Only answer' },
  ];

  it('groups answers under their question, base first, skipping system messages', () => {
    const turns = turnsOf(messages, null);
    expect(turns.map((turn) => [turn.key, turn.question])).toEqual([
      [1, 'What is LOTO?'],
      [4, 'And tags?'],
    ]);
    expect(turns[0]?.answers.map((answer) => [answer.side, answer.text, answer.state])).toEqual([
      ['base', 'Base answer', 'done'],
      ['adapted', 'Adapted answer', 'done'],
    ]);
    expect(turns[0]?.answers[0]?.citations).toEqual([cite]);
    expect(turns[1]?.answers.map((answer) => answer.side)).toEqual([null]);
  });

  it('shows the streaming turn side by side, waiting, streaming, done or failed', () => {
    const streaming = live({ text: { base: '', adapted: 'Lock' }, citations: [cite] });
    const [turn] = turnsOf([{ role: 'user', content: 'Q' }], streaming);
    expect(turn?.answers.map((answer) => [answer.side, answer.state, answer.text])).toEqual([
      ['base', 'waiting', ''],
      ['adapted', 'streaming', 'Lock'],
    ]);
    expect(turn?.answers[1]?.citations).toEqual([cite]);
    const ended = live({ text: { base: '', adapted: 'Lockout' }, ended: { base: { kind: 'failed', error: 'boom', code: 'MODEL' }, adapted: { kind: 'done', finishReason: 'length' } } });
    const [after] = turnsOf([{ role: 'user', content: 'Q' }], ended);
    expect(after?.answers.map((answer) => [answer.state, answer.error, answer.errorCode, answer.truncated])).toEqual([
      ['failed', 'boom', 'MODEL', false],
      ['done', null, null, true],
    ]);
  });

  it('shows failures and truncations saved with the answers', () => {
    const conversation: ChatMessage[] = [
      { role: 'user', content: 'Q' },
      { role: 'assistant', content: 'A', side: 'adapted', finishReason: 'length' },
      { role: 'assistant', content: '', side: 'base', citations: [cite], error: { message: 'context too small', code: 'INTERNAL' } },
    ];
    const turns = turnsOf(conversation, null);
    expect(turns[0]?.answers.map((answer) => [answer.side, answer.state, answer.error, answer.truncated])).toEqual([
      ['base', 'failed', 'context too small', false],
      ['adapted', 'done', null, true],
    ]);
    expect(turns[0]?.answers[0]?.citations).toEqual([cite]);
    const partial = turnsOf([{ role: 'user', content: 'Q' }, { role: 'assistant', content: 'A', side: 'adapted', error: { message: 'the model process stopped', code: 'MODEL' } }], null);
    expect(partial[0]?.answers.map((answer) => [answer.text, answer.state, answer.error])).toEqual([['A', 'failed', 'the model process stopped']]);
  });
});

describe('answersOf', () => {
  it('stores every side with how it ended: its side, the citations, the finish reason or the error', () => {
    const turn = live({
      text: { base: '', adapted: 'Lockout is…' },
      ended: { adapted: { kind: 'done', finishReason: 'stop' }, base: { kind: 'failed', error: 'x', code: 'MODEL' } },
      citations: [cite],
    });
    expect(answersOf(turn)).toEqual([
      { role: 'assistant', content: 'Lockout is…', side: 'adapted', citations: [cite], finishReason: 'stop' },
      { role: 'assistant', content: '', side: 'base', citations: [cite], error: { message: 'x', code: 'MODEL' } },
    ]);
    expect(answersOf(live({ sides: ['base'], ended: { base: { kind: 'done', finishReason: 'length' } } }))).toEqual([
      { role: 'assistant', content: '', side: 'base', finishReason: 'length' },
    ]);
  });
});

describe('conversation ids and titles', () => {
  it('makes ids the engine accepts as file names', () => {
    const ids = new Set(Array.from({ length: 50 }, () => newConversationId()));
    expect(ids.size).toBe(50);
    for (const id of ids) expect(id).toMatch(/^[\w-]{1,64}$/);
  });

  it('titles a conversation with its first question on one line, shortened', () => {
    expect(titleOf([{ role: 'system', content: 'x' }, { role: 'user', content: '  What is\nlockout/tagout?  ' }])).toBe('What is lockout/tagout?');
    const long = titleOf([{ role: 'user', content: '安全'.repeat(100) }]);
    expect(Array.from(long)).toHaveLength(80);
    expect(long.endsWith('…')).toBe(true);
    expect(titleOf([])).toBe('');
  });
});

describe('worthSaving', () => {
  const question: ChatMessage = { role: 'user', content: 'What is lockout/tagout?' };
  const failed: ChatMessage = { role: 'assistant', content: '', side: 'adapted', error: { message: 'not a usable GGUF model', code: 'MODEL' } };
  const answered: ChatMessage = { role: 'assistant', content: 'Locks and tags.', side: 'base', finishReason: 'stop' };

  it('saves a new conversation only once a model has answered', () => {
    expect(worthSaving([question, failed], false)).toBe(false);
    expect(worthSaving([question, failed, answered], false)).toBe(true);
    expect(worthSaving([question], false)).toBe(false);
  });

  it('keeps a saved conversation up to date, failed turns included', () => {
    expect(worthSaving([question, answered, question, failed], true)).toBe(true);
  });
});
