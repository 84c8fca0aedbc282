/**
 * The doors the command line calls (and the app, where it does the same work): settings filled from one
 * set of defaults and checked before anything loads, the same serving rules as the app's Serve tab, the
 * same retrieval as the app's chat, and names (documents, pairs) resolved one way.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readGguf } from '../models/gguf/gguf-reader.js';
import { tempDir, TINY_MODEL } from '../testing/corpus.js';
import { writeRandomAdapter } from '../testing/random-adapter.js';
import { Engine } from './engine.js';
import { TRAIN_DEFAULTS } from './train-door.js';

describe('the doors the command line calls', () => {
  const dir = tempDir('command-doors');
  const engine = new Engine({ workspaceDir: path.join(dir, 'ws'), threads: 1 });
  const bare = new Engine({ threads: 1 });
  const adapter = path.join(dir, 'adapter.gguf');
  afterAll(async () => {
    await engine.close();
    await bare.close();
  });

  beforeAll(async () => {
    await writeRandomAdapter(await readGguf(TINY_MODEL), adapter, 2, 4, 7);
    const docs = path.join(dir, 'docs');
    fs.mkdirSync(docs);
    fs.writeFileSync(path.join(docs, 'exits.md'), '# Exit routes\n\nExit routes must be kept free of obstructions at all times.\n');
    fs.writeFileSync(path.join(docs, 'exits-2.md'), '# Exit signs\n\nEvery exit sign must be lit and readable from the route.\n');
    fs.writeFileSync(path.join(docs, 'lockout.md'), '# Lockout\n\nA lockout device holds an energy-isolating device in a safe position.\n');
    await engine.ingest([docs]);
  });

  it('trains with the defaults the request leaves out, and refuses a bad setting before any model loads', async () => {
    const c = await engine.train.config({ model: TINY_MODEL, outDir: dir, settings: { rank: 4, epochs: 1 } });
    expect(c).toEqual({ ...TRAIN_DEFAULTS, rank: 4, epochs: 1, modelPath: TINY_MODEL, threads: 1 });
    await expect(engine.train.config({ model: TINY_MODEL, outDir: dir, settings: { device: 'tpu' as never } })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/unknown device tpu/) });
    await expect(engine.train.config({ model: TINY_MODEL, outDir: dir, settings: { targets: [] } })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    // A workspace and a data file both, or neither: which to train on is unclear.
    await expect(engine.train.train({ model: TINY_MODEL, dataFile: path.join(dir, 'x.jsonl'), outDir: dir })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    await expect(bare.train.train({ model: TINY_MODEL, outDir: dir })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  });

  it('serves by the app\'s rules: a network address needs a key unless waived, a taken port is BUSY, both before the model loads', async () => {
    const missing = path.join(dir, 'no-such-model.gguf');
    await expect(bare.serve.open({ model: missing, host: '0.0.0.0', port: 0 })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/needs an API key/) });
    await expect(bare.serve.open({ model: missing, host: '127.0.0.1', port: 0, allowOrigins: ['example.com'] })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      await expect(bare.serve.open({ model: missing, host: '127.0.0.1', port })).rejects.toMatchObject({ code: 'BUSY', message: expect.stringMatching(new RegExp(`port ${port}`)) });
    } finally {
      taken.close();
    }
    // Past the rules, the model itself is what fails.
    await expect(bare.serve.open({ model: missing, host: '0.0.0.0', port: 0, allowNoKey: true })).rejects.toMatchObject({ code: 'MODEL', message: expect.stringMatching(/not a usable GGUF model/) });
  });

  it('names a document one way: exact names first, a part when only one has it, and says which when several do', async () => {
    expect((await engine.findDocument('lockout.md')).title).toBe('Lockout');
    expect((await engine.findDocument('Exit routes')).path).toBe(path.join(dir, 'docs', 'exits.md'));
    await expect(engine.findDocument('exit')).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/matches 2 documents/) });
    await expect(engine.findDocument('fire')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const lockout = await engine.findDocument('lockout');
    const hits = await engine.invoke('search.query', { query: 'device', k: 10, documentId: lockout.id });
    expect(hits.length).toBeGreaterThan(0);
    expect(hits.every((h) => h.documentId === lockout.id)).toBe(true);
  });

  it('answers one question with the base and the adapted model, greedy answers equal to each model alone, with the passages cited', async () => {
    const models = { model: TINY_MODEL, adapter, scale: 1, rag: true, maxTokens: 8, temperature: 0 };
    const both = await engine.ask.ask({ ...models, compare: true }, 'Once upon a time');
    expect(both.answers.map((a) => a.side)).toEqual(['base', 'adapted']);
    const adapted = await engine.ask.ask(models, 'Once upon a time');
    const base = await engine.ask.ask({ ...models, adapter: undefined }, 'Once upon a time');
    expect(both.answers[1]!.text).toBe(adapted.answers[0]!.text);
    expect(both.answers[0]!.text).toBe(base.answers[0]!.text);
    // A random adapter at scale 1 moves the tiny model's greedy answer.
    expect(adapted.answers[0]!.text).not.toBe(base.answers[0]!.text);
    // A question whose words are in a passage is answered with it, and the passage is cited.
    const cited = await engine.ask.ask(models, 'lockout device');
    expect(cited.citations.map((c) => c.title)).toContain('Lockout');
    await expect(bare.ask.ask({ ...models, compare: true, adapter: undefined }, 'x')).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  });

  it('keeps a conversation loaded: each side answers in turn, with the history', async () => {
    const talk = await bare.ask.converse({ model: TINY_MODEL, adapter, compare: true, maxTokens: 6, temperature: 0 });
    try {
      const sides: (string | null)[] = [];
      const first = await talk.answer([{ role: 'user', content: 'Once upon a time' }], { onSide: (s) => sides.push(s) });
      expect(sides).toEqual(['base', 'adapted']);
      expect(first.answers.every((a) => a.text.length > 0)).toBe(true);
      const alone = await bare.ask.ask({ model: TINY_MODEL, adapter, maxTokens: 6, temperature: 0 }, 'Once upon a time');
      expect(first.answers[1]!.text).toBe(alone.answers[0]!.text);
    } finally {
      await talk.close();
    }
  });
});
