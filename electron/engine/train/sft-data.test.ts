import fs from 'node:fs';
import path from 'node:path';
import { getLlama, LlamaLogLevel, type Token } from 'node-llama-cpp';
import { chatWrapperFor } from '../models/chat-template.js';
import { describe, expect, it } from 'vitest';
import { tempDir, TINY_MODEL } from '../testing/corpus.js';
import { readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { tokenizeConversation } from './sft-data.js';
import { readConversations } from '../dataset/conversation.js';
import { learningRate, shuffled } from './train-config.js';

describe('training data', () => {
  const dir = tempDir('sft');
  const write = (name: string, text: string): string => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text);
    return p;
  };

  it('reads Alpaca, ShareGPT and OpenAI-messages files, JSON or JSON Lines', async () => {
    const alpaca = await readConversations(write('a.json', JSON.stringify([{ instruction: 'Define LOTO.', input: 'Context: OSHA', output: 'Lockout/tagout.' }])));
    expect(alpaca).toEqual([[{ role: 'user', content: 'Define LOTO.\n\nContext: OSHA' }, { role: 'assistant', content: 'Lockout/tagout.' }]]);
    const sharegpt = await readConversations(write('s.jsonl', JSON.stringify({ conversations: [{ from: 'system', value: 'Be brief.' }, { from: 'human', value: 'Hi' }, { from: 'gpt', value: 'Hello.' }] })));
    expect(sharegpt[0]!.map((m) => m.role)).toEqual(['system', 'user', 'assistant']);
    const openai = await readConversations(write('o.jsonl', `${JSON.stringify({ messages: [{ role: 'user', content: '你好' }, { role: 'assistant', content: '您好。' }] })}\n`));
    expect(openai[0]![1]).toEqual({ role: 'assistant', content: '您好。' });
  });

  it('names the item and the reason for bad data', async () => {
    await expect(readConversations(write('bad.jsonl', '{"question": "x"}'))).rejects.toThrow(/bad\.jsonl item 1: not Alpaca, ShareGPT or OpenAI-messages format/);
    await expect(readConversations(write('noanswer.jsonl', '{"messages": [{"role": "user", "content": "x"}]}'))).rejects.toThrow(/item 1: no assistant message/);
    await expect(readConversations(write('broken.jsonl', '{"instruction": '))).rejects.toThrow(/not JSON or JSON Lines/);
    await expect(readConversations(path.join(dir, 'missing.jsonl'))).rejects.toThrow(/cannot read training data: ENOENT/);
  });

  it('puts the loss on the answer and the end of sequence only, in the chat template', async () => {
    const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, logger: () => undefined });
    try {
      const model = await llama.loadModel({ modelPath: TINY_MODEL, vocabOnly: true });
      const wrapper = chatWrapperFor(model);
      const ex = tokenizeConversation(model, wrapper, [
        { role: 'user', content: 'What color is the ball?' },
        { role: 'assistant', content: 'The ball is red.' },
      ]);
      expect(ex.tokens.length).toBe(ex.labels.length);
      const trained = ex.labels.filter((l) => l >= 0);
      expect(model.detokenize(trained.slice(0, -1) as Token[]).trim()).toBe('The ball is red.');
      expect(trained.at(-1)).toBe(model.tokens.eos);
      // The prompt (template and question) carries no loss; labels are the next tokens.
      const firstLabelled = ex.labels.findIndex((l) => l >= 0);
      expect(model.detokenize(ex.tokens.slice(0, firstLabelled + 1) as Token[])).toContain('What color is the ball?');
      ex.labels.forEach((l, t) => l >= 0 && expect(l).toBe(ex.tokens[t + 1]));
      await model.dispose();
    } finally {
      await llama.dispose();
    }
  });
});

describe('schedule, order and checkpoints', () => {
  it('warms up linearly and decays by cosine to a tenth', () => {
    const c = { lr: 1e-3, warmupRatio: 0.1 };
    expect(learningRate(c, 0, 100)).toBeCloseTo(1e-4);
    expect(learningRate(c, 9, 100)).toBeCloseTo(1e-3);
    expect(learningRate(c, 99, 100)).toBeCloseTo(1e-4, 6);
    expect(learningRate(c, 55, 100)).toBeLessThan(1e-3);
  });

  it('shuffles deterministically', () => {
    const xs = Array.from({ length: 20 }, (_, i) => i);
    expect(shuffled(xs, 7)).toEqual(shuffled(xs, 7));
    expect(shuffled(xs, 7)).not.toEqual(shuffled(xs, 8));
    expect([...shuffled(xs, 7)].sort((a, b) => a - b)).toEqual(xs);
  });

  it('round-trips a checkpoint and refuses foreign or damaged ones', async () => {
    const dir = tempDir('ckpt');
    const file = path.join(dir, 'checkpoint.bin');
    const state = { step: 7, epoch: 1, index: 3, fingerprint: 'abc', trainLosses: [2, 1], evalLosses: [1.5], params: Float32Array.of(1, 2, 3), m: Float32Array.of(0.1, 0.2, 0.3), v: Float32Array.of(4, 5, 6), optimizerStep: 7 };
    await writeCheckpoint(file, state);
    expect(await readCheckpoint(file)).toEqual(state);
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 4));
    await expect(readCheckpoint(file)).rejects.toThrow(/truncated/);
    const other = Buffer.from(bytes);
    other.writeUInt32LE(99, 8);
    fs.writeFileSync(file, other);
    await expect(readCheckpoint(file)).rejects.toThrow(/format 99 is not supported/);
    fs.writeFileSync(file, 'GGUF not a checkpoint at all');
    await expect(readCheckpoint(file)).rejects.toThrow(/not a DocTune checkpoint/);
    // A header whose fields are not what the reader needs (a step that is not a number): named, not resumed from.
    const headerLen = bytes.readUInt32LE(12);
    const header = JSON.parse(bytes.toString('utf8', 16, 16 + headerLen));
    const bad = Buffer.from(JSON.stringify({ ...header, step: 'seven' }));
    const fixed = Buffer.from(bytes.subarray(0, 16));
    fixed.writeUInt32LE(bad.length, 12);
    fs.writeFileSync(file, Buffer.concat([fixed, bad, bytes.subarray(16 + headerLen)]));
    await expect(readCheckpoint(file)).rejects.toMatchObject({ path: file, message: expect.stringMatching(/checkpoint header is damaged: step: /) });
    // A header length past the end of the file.
    const long = Buffer.from(bytes.subarray(0, 32));
    long.writeUInt32LE(1 << 20, 12);
    fs.writeFileSync(file, long);
    await expect(readCheckpoint(file)).rejects.toThrow(/truncated/);
  });
});
