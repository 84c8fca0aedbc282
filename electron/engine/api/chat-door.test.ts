import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventOf } from '../../shared/contract.js';
import { readGguf } from '../models/gguf/gguf-reader.js';
import { targetShape, writeLoraAdapter } from '../models/lora-adapter.js';
import { tempDir, TINY_MODEL } from '../testing/corpus.js';
import { randomF32, rng } from '../testing/random-model.js';
import { Engine } from './engine.js';
import { exportPeftAdapter, readLoraGguf } from '../models/peft-adapter.js';

/** Collect one chat job's events until every side is done or failed. */
function collect(engine: Engine, sides: number): { result: Promise<{ tokens: Record<string, string>; done: EventOf<'chat.done'>[]; failed: EventOf<'chat.failed'>[]; citations: EventOf<'chat.citations'>['citations'] }>; setJob(id: string): void } {
  let job = '';
  const tokens: Record<string, string> = {};
  const done: EventOf<'chat.done'>[] = [];
  const failed: EventOf<'chat.failed'>[] = [];
  let citations: EventOf<'chat.citations'>['citations'] = [];
  let finish: () => void = () => undefined;
  const result = new Promise<{ tokens: Record<string, string>; done: typeof done; failed: typeof failed; citations: typeof citations }>((resolve) => {
    finish = () => resolve({ tokens, done, failed, citations });
  });
  const check = (): void => {
    if (done.length + failed.length === sides) finish();
  };
  engine.on('chat.token', (e) => { if (e.jobId === job) tokens[e.side] = (tokens[e.side] ?? '') + e.text; });
  engine.on('chat.citations', (e) => { if (e.jobId === job) citations = e.citations; });
  engine.on('chat.done', (e) => { if (e.jobId === job) { done.push(e); check(); } });
  engine.on('chat.failed', (e) => { if (e.jobId === job) { failed.push(e); check(); } });
  return { result, setJob: (id) => (job = id) };
}

describe('chat window and evaluation through the contract', () => {
  const dir = tempDir('chat-door');
  const engine = new Engine({ workspaceDir: path.join(dir, 'ws'), threads: 1 });
  let adapter = '';
  afterAll(() => engine.close());

  beforeAll(async () => {
    const base = await readGguf(TINY_MODEL);
    const next = rng(4);
    const pairs = ['blk.0.attn_q.weight', 'blk.2.ffn_up.weight', 'blk.4.attn_v.weight'].map((target) => {
      const { nIn, nOut } = targetShape(base, target);
      return { target, a: randomF32(nIn * 8, 0.3, next), b: randomF32(8 * nOut, 0.3, next) };
    });
    const runDir = path.join(dir, 'ws', 'runs', 'r1');
    fs.mkdirSync(runDir, { recursive: true });
    adapter = path.join(runDir, 'adapter-test.gguf');
    await writeLoraAdapter(adapter, base, { rank: 8, alpha: 16, pairs });
    fs.writeFileSync(path.join(runDir, 'run.json'), JSON.stringify({
      adapter, base_model: { path: TINY_MODEL }, finished_at: new Date().toISOString(),
      held_out: [[{ role: 'user', content: 'What color is the ball?' }, { role: 'assistant', content: 'The ball is red.' }]],
    }));
    const doc = path.join(dir, 'story.md');
    fs.writeFileSync(doc, '# Story\n\nThe ball is red. Lily found the ball in the park.');
    const done = new Promise((resolve) => engine.on('ingest.done', resolve));
    await engine.invoke('ingest.start', { paths: [doc] });
    await done;
  });

  it('finds the adapters of the workspace runs and keeps the chat settings', async () => {
    expect(await engine.invoke('chat.adapters', {})).toEqual([expect.objectContaining({ adapterPath: adapter, modelPath: TINY_MODEL })]);
    await expect(engine.invoke('chat.send', { messages: [{ role: 'user', content: 'Hi' }] })).rejects.toThrow(/choose a model/);
    const s = await engine.invoke('chat.settings.set', { modelPath: TINY_MODEL, adapterPath: adapter, compare: true, rag: true, temperature: 0, maxTokens: 24 });
    expect(s).toMatchObject({ compare: true, rag: true, scale: 1 });
    expect(await engine.invoke('chat.settings.get', {})).toEqual(s);
    // Changes sent together (a slider and a toggle) both land.
    const [a, b] = await Promise.all([engine.invoke('chat.settings.set', { topP: 0.5 }), engine.invoke('chat.settings.set', { scale: 1.5 })]);
    expect(a.topP).toBe(0.5);
    expect(b).toMatchObject({ topP: 0.5, scale: 1.5 });
    await engine.invoke('chat.settings.set', { topP: 0.9, scale: 1 });
  });

  it('streams the adapted and the base answers side by side, with citations of real passages', async () => {
    const c = collect(engine, 2);
    const { jobId } = await engine.invoke('chat.send', { messages: [{ role: 'user', content: 'What color is the ball?' }] });
    c.setJob(jobId);
    const r = await c.result;
    expect(r.failed).toEqual([]);
    expect(r.done.map((d) => d.side).sort()).toEqual(['adapted', 'base']);
    for (const d of r.done) expect(r.tokens[d.side]).toBe(d.text);
    expect(r.tokens.adapted).not.toBe(r.tokens.base); // the adapter changes the output
    expect(r.citations[0]).toMatchObject({ n: 1, title: 'Story' });
    const chunks = await engine.invoke('docs.chunks', { documentId: r.citations[0]!.documentId });
    expect(chunks.map((x) => x.id)).toContain(r.citations[0]!.chunkId);
  });

  it('tells every side when retrieval fails, rather than leaving the turn waiting', async () => {
    const ws = await engine.ws();
    const before = ws.settings.embeddingModel;
    await ws.updateSettings({ embeddingModel: path.join(dir, 'missing-embedder.gguf') });
    try {
      const c = collect(engine, 2);
      const { jobId } = await engine.invoke('chat.send', { messages: [{ role: 'user', content: 'What color is the ball?' }] });
      c.setJob(jobId);
      const r = await c.result;
      expect(r.done).toEqual([]);
      expect(r.failed.map((f) => f.side).sort()).toEqual(['adapted', 'base']);
    } finally {
      await ws.updateSettings({ embeddingModel: before });
    }
  });

  it('saves, lists and deletes conversations in the workspace', async () => {
    const conversation = {
      id: 'c1', title: 'Ball', updatedAt: new Date().toISOString(),
      messages: [
        { role: 'user' as const, content: 'What color is the ball?' },
        { role: 'assistant' as const, content: 'Red.', side: 'adapted' as const, finishReason: 'length' as const },
        { role: 'assistant' as const, content: '', side: 'base' as const, error: { message: 'the model process stopped', code: 'MODEL' } },
      ],
    };
    // Saves of one conversation in quick succession: the last one wins, whole, with no temporary file left.
    await Promise.all([1, 2, 3].map((k) => engine.invoke('chat.save', { conversation: { ...conversation, title: `Ball ${k}` } })));
    expect((await engine.invoke('chat.history', {}))[0]!.title).toBe('Ball 3');
    expect(fs.readdirSync(path.join(dir, 'ws', 'chats'))).toEqual(['c1.json']);
    await engine.invoke('chat.save', { conversation });
    expect(await engine.invoke('chat.history', {})).toEqual([conversation]);
    await expect(engine.invoke('chat.save', { conversation: { ...conversation, id: '../escape' } })).rejects.toThrow();
    // A record that is not a conversation (no updatedAt, broken JSON, the wrong shape) is skipped; the rest load.
    const chats = path.join(dir, 'ws', 'chats');
    fs.writeFileSync(path.join(chats, 'no-date.json'), JSON.stringify({ id: 'no-date', title: 'x', messages: [] }));
    fs.writeFileSync(path.join(chats, 'broken.json'), '{"id": "broken", ');
    fs.writeFileSync(path.join(chats, 'wrong.json'), JSON.stringify([1, 2, 3]));
    expect(await engine.invoke('chat.history', {})).toEqual([conversation]);
    for (const f of ['no-date.json', 'broken.json', 'wrong.json']) fs.rmSync(path.join(chats, f));
    // Saved with its version; one saved before versions (no version field) still loads.
    expect(JSON.parse(fs.readFileSync(path.join(chats, 'c1.json'), 'utf8'))).toMatchObject({ version: 1, id: 'c1' });
    const older = { ...conversation, id: 'c0', updatedAt: '2020-01-01T00:00:00.000Z' };
    fs.writeFileSync(path.join(chats, 'c0.json'), JSON.stringify(older));
    expect(await engine.invoke('chat.history', {})).toEqual([conversation, older]);
    fs.rmSync(path.join(chats, 'c0.json'));
    expect(await engine.invoke('chat.delete', { id: 'c1' })).toEqual({ deleted: true });
    expect(await engine.invoke('chat.history', {})).toEqual([]);
  });

  it('serves the chat model over the OpenAI API from the app, and stops', async () => {
    await expect(engine.invoke('serve.start', { port: 0, host: '0.0.0.0' })).rejects.toThrow(/needs an API key/);
    const s = await engine.invoke('serve.start', { port: 0 });
    expect(s).toMatchObject({ running: true, model: 'adapter-test' });
    const res = await fetch(`${s.url}/chat/completions`, { method: 'POST', body: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 }) });
    expect(res.status).toBe(200);
    expect((await res.json() as { choices: unknown[] }).choices).toHaveLength(1);
    expect(await engine.invoke('serve.stop', {})).toEqual({ running: false, url: null, model: null });
    await expect(fetch(`${s.url}/models`)).rejects.toThrow();
  });

  it('runs an evaluation in the background and serves its report', async () => {
    await expect(engine.invoke('eval.run', { rag: false, judge: true })).rejects.toThrow(/extractive teacher cannot grade/);
    const done = new Promise<EventOf<'eval.done'>>((resolve) => engine.on('eval.done', resolve));
    // Two requests at once: one evaluation.
    const [first, second] = await Promise.allSettled([engine.invoke('eval.run', { rag: true }), engine.invoke('eval.run', { rag: true })]);
    expect(first.status).toBe('fulfilled');
    expect(second).toMatchObject({ status: 'rejected', reason: expect.objectContaining({ code: 'BUSY', busyWith: 'evaluate', message: expect.stringMatching(/already running/) }) });
    const { summary } = await done;
    expect(summary).toMatchObject({ n: 1, rag: true, judge: null, failures: [] });
    expect(summary.adapted_rag.judge).toBeNull();
    expect(summary.report).toMatch(/^eval-.*\.html$/);
    expect((await engine.invoke('eval.reports', {}))[0]!.fileName).toBe(summary.report);
    expect(summary.reliability).toBe('insufficient');
    const { html } = await engine.invoke('eval.report', { fileName: summary.report });
    expect(html).toContain('<svg');
    // In the app: in the UI's language, without the score table the panel shows from the summary.
    const shown = await engine.invoke('eval.report', { fileName: summary.report, lang: 'zh-CN', embedded: true });
    expect(shown.html).toContain('<html lang="zh-CN">');
    expect(shown.html).not.toContain('<th>变体</th>');
    expect(shown.summary).toMatchObject({ n: 1, rag: true, report: summary.report, reliability: 'insufficient', adapted_rag: summary.adapted_rag });
    await expect(engine.invoke('eval.report', { fileName: '../../etc/passwd' })).rejects.toThrow();
  });

  it('remembers adapter files added from outside the workspace, after its runs, and forgets them on request', async () => {
    const elsewhere = path.join(dir, 'elsewhere');
    fs.mkdirSync(elsewhere, { recursive: true });
    const outside = path.join(elsewhere, 'adapter-out.gguf');
    fs.copyFileSync(adapter, outside);
    fs.writeFileSync(path.join(elsewhere, 'run.json'), JSON.stringify({ adapter: outside, base_model: { path: TINY_MODEL }, finished_at: '2026-01-01T00:00:00.000Z' }));
    await expect(engine.invoke('chat.adapters.add', { path: TINY_MODEL })).rejects.toThrow(/a model, not a LoRA adapter/);
    await expect(engine.invoke('chat.adapters.add', { path: path.join(dir, 'story.md') })).rejects.toThrow(/not a usable LoRA adapter/);
    const entry = { adapterPath: outside, modelPath: TINY_MODEL, finishedAt: '2026-01-01T00:00:00.000Z', added: true };
    const { adapters: added, added: one } = await engine.invoke('chat.adapters.add', { path: outside });
    expect(added).toEqual([expect.objectContaining({ adapterPath: adapter }), entry]);
    expect(one).toEqual(entry);
    // Added twice, listed once; the workspace's own adapter is not added again.
    expect((await engine.invoke('chat.adapters.add', { path: outside })).adapters).toEqual(added);
    expect(await engine.invoke('chat.adapters.add', { path: adapter })).toEqual({ adapters: added, added: added[0] });
    expect(await engine.invoke('chat.adapters', {})).toEqual(added);
    expect(await engine.invoke('chat.adapters.forget', { path: outside })).toEqual([added[0]]);
    expect(fs.existsSync(outside)).toBe(true);
  });

  it('imports a PEFT adapter folder for the chat\'s base model, as an adapter of its own', async () => {
    const peft = path.join(dir, 'peft-in');
    await exportPeftAdapter(adapter, TINY_MODEL, peft, { baseModel: 'karpathy/tinyllamas' });
    expect((await engine.invoke('chat.settings.get', {})).modelPath).toBe(TINY_MODEL);
    const { added } = await engine.invoke('chat.adapters.add', { path: peft });
    expect(added).toMatchObject({ modelPath: TINY_MODEL, added: true });
    expect(added.adapterPath).toMatch(/imported-adapters[\\/]peft-in-[^\\/]+[\\/]adapter\.gguf$/);
    const model = await readGguf(TINY_MODEL);
    const imported = new Map((await readLoraGguf(added.adapterPath, model)).pairs.map((p) => [p.target, p]));
    for (const p of (await readLoraGguf(adapter, model)).pairs) expect(imported.get(p.target)!.b).toEqual(p.b);
    // Each import gets a path of its own (llama.cpp caches adapters by path).
    const again = await engine.invoke('chat.adapters.add', { path: peft });
    expect(again.added.adapterPath).not.toBe(added.adapterPath);
    await expect(engine.invoke('chat.adapters.add', { path: dir })).rejects.toMatchObject({ message: expect.stringMatching(/not a PEFT adapter folder/) });
  });
});

