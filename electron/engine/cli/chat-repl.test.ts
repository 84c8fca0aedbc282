import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Conversation } from '../models/messages.js';
import { chatRepl, type ReplAnswerer } from './chat-repl.js';

function io(): { input: PassThrough; output: PassThrough; text: () => string } {
  const input = new PassThrough();
  const output = new PassThrough();
  let text = '';
  output.on('data', (d: Buffer) => (text += d.toString()));
  return { input, output, text: () => text };
}

const tick = (ms = 20): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('interactive chat', () => {
  it('keeps the conversation, streams each answer, and leaves on /exit', async () => {
    const { input, output, text } = io();
    const seen: Conversation[] = [];
    const answer: ReplAnswerer = async (messages, onToken) => {
      seen.push(messages.map((m) => ({ ...m })));
      const reply = `answer ${seen.length}`;
      for (const w of reply.split(' ')) onToken(`${w} `);
      return { text: reply };
    };
    const done = chatRepl({ input, output, terminal: false, answer });
    input.write('What is lockout?\n');
    input.write('And tagout?\n');
    input.write('/exit\n');
    await done;
    expect(seen).toEqual([
      [{ role: 'user', content: 'What is lockout?' }],
      [{ role: 'user', content: 'What is lockout?' }, { role: 'assistant', content: 'answer 1' }, { role: 'user', content: 'And tagout?' }],
    ]);
    expect(text()).toContain('answer 2');
  });

  it('ends at the end of input (Ctrl-D), and /reset starts a new conversation', async () => {
    const { input, output } = io();
    const seen: number[] = [];
    const done = chatRepl({ input, output, terminal: false, answer: async (m) => (seen.push(m.length), { text: 'ok' }) });
    input.end('one\n/reset\ntwo\n');
    await done;
    expect(seen).toEqual([1, 1]);
  });

  it('Ctrl-C stops the answer being written and keeps the conversation going; at the prompt it says how to leave', async () => {
    const { input, output, text } = io();
    const seen: Conversation[] = [];
    let started = false;
    const answer: ReplAnswerer = (messages, onToken, signal) => {
      seen.push(messages.map((m) => ({ ...m })));
      if (seen.length > 1) return Promise.resolve({ text: 'short' });
      started = true;
      onToken('partial');
      // An answer that goes on until it is stopped, with the text so far.
      return new Promise((resolve) => signal.addEventListener('abort', () => resolve({ text: 'partial' })));
    };
    const done = chatRepl({ input, output, terminal: true, answer });
    input.write('Tell me everything\r');
    while (!started) await tick();
    input.write('\x03');
    await tick();
    expect(text()).toContain('(stopped)');
    input.write('\x03');
    await tick();
    expect(text()).toMatch(/\/exit or Ctrl-D/);
    input.write('Go on\r');
    await tick(50);
    input.write('/exit\r');
    await done;
    expect(seen[1]).toEqual([{ role: 'user', content: 'Tell me everything' }, { role: 'assistant', content: 'partial' }, { role: 'user', content: 'Go on' }]);
  });
});
