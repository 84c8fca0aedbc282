import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventName, EventOf, PipelineProgressEvent } from '../../shared/contract.js';
import { MODEL_CATALOG } from '../models/catalog.js';
import { downloadTarget } from '../models/download.js';
import { GgmlType } from '../models/gguf/gguf-types.js';
import { gguf, writeGguf } from '../models/gguf/gguf-writer.js';
import { addQaPairs } from '../store/qa-store.js';
import { tempDir, TINY_MODEL } from '../testing/corpus.js';
import { Engine } from './engine.js';

/** Events of one kind for one job, until `until` says the job is over. */
function events<E extends EventName>(engine: Engine, names: E[], until: (name: E, payload: EventOf<E>) => boolean): { jobId: (id: string) => void; all: Promise<{ name: E; payload: EventOf<E> }[]> } {
  let job = '';
  const seen: { name: E; payload: EventOf<E> }[] = [];
  let finish: () => void = () => undefined;
  const all = new Promise<{ name: E; payload: EventOf<E> }[]>((resolve) => {
    finish = () => resolve(seen);
  });
  for (const name of names) {
    engine.on(name, (payload) => {
      if ((payload as { jobId: string }).jobId !== job) return;
      seen.push({ name, payload });
      if (until(name, payload)) finish();
    });
  }
  return { jobId: (id) => (job = id), all };
}

describe('model manager and the one-step pipeline through the contract', () => {
  const dir = tempDir('pipeline-door');
  const modelsDir = path.join(dir, 'models');
  const cpuOnly = { devices: [{ backend: 'CPU', name: 'CPU', description: 'test CPU', memoryFree: 8 * 2 ** 30, memoryTotal: 8 * 2 ** 30 }], notes: '' };
  const engine = new Engine({ workspaceDir: path.join(dir, 'ws'), threads: 1, modelsDir, probeDevices: async () => cpuOnly });
  let server: http.Server;
  let cut = true;
  const body = fs.readFileSync(TINY_MODEL);

  beforeAll(async () => {
    // A Hugging Face stand-in: every resolve URL serves the tiny model, with Range support; the first
    // answer is cut halfway, as a dropped connection would.
    server = http.createServer((req, res) => {
      const m = /bytes=(\d+)-/.exec(req.headers.range ?? '');
      const start = m ? Number(m[1]) : 0;
      res.writeHead(m ? 206 : 200, { 'content-length': body.length - start, ...(m ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}) });
      if (cut && start === 0) {
        cut = false;
        res.write(body.subarray(0, body.length >> 1));
        setTimeout(() => res.destroy(), 50);
        return;
      }
      res.end(body.subarray(start));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    process.env.HF_ENDPOINT = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    delete process.env.HF_ENDPOINT;
    await engine.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it('lists the catalog with what each model needs here, and recommends one for the CPU', async () => {
    const o = await engine.invoke('models.overview', {});
    expect(o.catalog).toHaveLength(MODEL_CATALOG.length);
    expect(o.gpu).toBeNull();
    expect(o.modelsDir).toBe(modelsDir);
    const rec = o.catalog.find((m) => m.id === o.recommended);
    // No GPU: a small model that trains in RAM.
    expect(rec?.training.runsOn).toBe('cpu');
    expect(rec!.parameters).toBeLessThan(1.3e9);
    expect(o.reason).toContain(rec!.name);
    expect(o.catalog.every((m) => m.path === null)).toBe(true);
    // As `doctune models recommend --language zh` does: Chinese documents, a model made for them.
    const zh = await engine.invoke('models.overview', { language: 'zh' });
    const zhRec = MODEL_CATALOG.find((m) => m.id === zh.recommended)!;
    expect(zhRec.preferredFor).toContain('zh');
    await expect(engine.invoke('models.overview', { language: 'fr' } as never)).rejects.toThrow(/invalid_value/);
  });

  it('checks a model file before use: a model, not an adapter or random bytes', async () => {
    expect(await engine.invoke('models.inspect', { path: TINY_MODEL })).toMatchObject({ architecture: 'llama', trainable: true, instruct: false, bytes: body.length });
    const moe = path.join(dir, 'moe.gguf');
    await writeGguf(moe, {
      metadata: [['general.architecture', gguf.str('qwen3')], ['qwen3.expert_count', gguf.u32(8)]],
      tensors: [{ name: 'token_embd.weight', dims: [4, 2], type: GgmlType.F32, data: new Uint8Array(32) }],
    });
    expect(await engine.invoke('models.inspect', { path: moe })).toMatchObject({ architecture: 'qwen3', trainable: false, trainableReason: 'mixture-of-experts models (8 experts) cannot be trained' });
    const junk = path.join(dir, 'junk.gguf');
    fs.writeFileSync(junk, Buffer.from('GGUF not really'));
    await expect(engine.invoke('models.inspect', { path: junk })).rejects.toMatchObject({ code: 'MODEL', path: junk });
  });

  it('downloads a catalog model with progress, resumes after the connection is cut, and lists it', async () => {
    const id = MODEL_CATALOG[0]!.id;
    const first = events(engine, ['models.progress', 'models.done', 'models.failed'], (name) => name !== 'models.progress');
    first.jobId((await engine.invoke('models.pull', { id })).jobId);
    const cutRun = await first.all;
    expect(cutRun.at(-1)!.name).toBe('models.failed'); // cut halfway: the part file stays
    const file = path.join(modelsDir, downloadTarget(MODEL_CATALOG[0]!.uri).fileName);
    expect(fs.statSync(`${file}.part`).size).toBe(body.length >> 1);

    const again = events(engine, ['models.progress', 'models.done', 'models.failed'], (name) => name !== 'models.progress');
    again.jobId((await engine.invoke('models.pull', { id })).jobId);
    const run = await again.all;
    expect(run.at(-1)).toMatchObject({ name: 'models.done', payload: { id, path: file } });
    const progress = run.filter((e) => e.name === 'models.progress').map((e) => (e.payload as EventOf<'models.progress'>).received);
    expect(progress[0]).toBeGreaterThanOrEqual(body.length >> 1); // continued, not restarted
    expect(fs.readFileSync(file).equals(body)).toBe(true);
    const o = await engine.invoke('models.overview', {});
    expect(o.catalog.find((m) => m.id === id)!.path).toBe(file);
    expect(o.local).toContainEqual(expect.objectContaining({ source: 'downloaded', path: file, architecture: 'llama', trainable: true }));
    await expect(engine.invoke('models.pull', { id: 'no-such-model' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('makes an adapter from a document in one run, each stage reviewable afterwards', async () => {
    const doc = path.join(dir, 'ladders.md');
    fs.writeFileSync(doc, '# Ladder safety\n\nMaintain three points of contact when climbing a ladder. Never stand on the top step of a stepladder. '
      + 'Inspect the ladder for damage before each use.\n\n## Placement\n\nSet an extension ladder at a 4 to 1 angle. Extend it three feet above the landing.');
    await expect(engine.invoke('pipeline.start', { modelPath: TINY_MODEL, resume: 'pipeline-nothing' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // A pair the user left pending for review stays pending: the run accepts only the pairs it wrote.
    await addQaPairs(await engine.ws(), [{ question: 'Left for review?', answer: 'Yes.', chunk_id: null, document_id: null, evidence: null, language: 'en', source: 'import', status: 'pending' }]);
    const job = events(engine, ['pipeline.progress', 'pipeline.done', 'pipeline.failed'], (name) => name !== 'pipeline.progress');
    const started = await engine.invoke('pipeline.start', { modelPath: TINY_MODEL, paths: [doc], teacher: 'extractive', epochs: 2, device: 'cpu' });
    job.jobId(started.jobId);
    expect((await engine.invoke('pipeline.runs', {})).active).toEqual(started);
    await expect(engine.invoke('pipeline.start', { modelPath: TINY_MODEL })).rejects.toMatchObject({ code: 'BUSY', busyWith: 'pipeline', message: expect.stringMatching(/adapter is being made/) });
    // The Training set page's generation would write pairs beside the run's: it waits its turn.
    await expect(engine.invoke('dataset.generate', {})).rejects.toMatchObject({ code: 'BUSY', busyWith: 'pipeline' });
    const seen = await job.all;
    const end = seen.at(-1)!;
    expect(end.name, JSON.stringify(end.payload)).toBe('pipeline.done');
    const stages = seen.filter((e) => e.name === 'pipeline.progress' && (e.payload as EventOf<'pipeline.progress'>).status === 'done').map((e) => (e.payload as EventOf<'pipeline.progress'>).stage);
    expect(stages).toEqual(['ingest', 'generate', 'accept', 'train', 'eval', 'export']);
    const steps = seen.map((e) => e.payload as EventOf<'pipeline.progress'>).filter((p) => p.stage === 'train' && p.loss !== null);
    expect(steps.length).toBeGreaterThan(0);
    expect(steps.at(-1)!.done).toBe(steps.at(-1)!.total);

    const { result } = end.payload as EventOf<'pipeline.done'>;
    expect(result.pairs).toBeGreaterThan(0);
    expect(path.dirname(result.adapter)).toBe(path.join(dir, 'ws', 'runs', started.run));
    // The stages' results are where the pages look: documents, training set, the chat's adapters, the reports.
    expect((await engine.invoke('docs.list', {})).map((d) => d.title)).toContain('Ladder safety');
    expect((await engine.invoke('qa.list', { status: 'accepted', offset: 0, limit: 10 })).total).toBe(result.pairs);
    expect((await engine.invoke('qa.list', { status: 'pending', offset: 0, limit: 10 })).pairs.map((p) => p.question)).toEqual(['Left for review?']);
    expect(fs.readFileSync(path.join(dir, 'ws', 'runs', started.run, 'training-data.jsonl'), 'utf8').trim().split('\n')).toHaveLength(result.pairs);
    expect((await engine.invoke('chat.adapters', {})).map((a) => a.adapterPath)).toContain(result.adapter);
    expect((await engine.invoke('eval.report', { fileName: result.report })).html).toContain('<svg');
    expect(fs.readFileSync(result.modelfile, 'utf8')).toContain(`ADAPTER ${result.adapter}`);
    const runs = await engine.invoke('pipeline.runs', {});
    expect(runs.active).toBeNull();
    expect(runs.runs[0]).toMatchObject({ run: started.run, finished: true, modelPath: TINY_MODEL });
  });

  it('resumes a stopped run with the teacher and epochs it began with', async () => {
    const first = events(engine, ['pipeline.progress', 'pipeline.done', 'pipeline.failed'], (name) => name !== 'pipeline.progress');
    let stopped = false;
    const stop = engine.on('pipeline.progress', (p) => {
      // Stopped once training has taken a step (and checkpointed at the step boundary).
      if (!stopped && p.stage === 'train' && p.loss !== null) {
        stopped = true;
        void engine.invoke('pipeline.cancel', { jobId: p.jobId });
      }
    });
    const started = await engine.invoke('pipeline.start', { modelPath: TINY_MODEL, teacher: 'extractive', epochs: 3, device: 'cpu' });
    first.jobId(started.jobId);
    const end = (await first.all).at(-1)!;
    stop();
    expect(end).toMatchObject({ name: 'pipeline.failed', payload: { code: 'CANCELLED' } });
    const info = (await engine.invoke('pipeline.runs', {})).runs.find((r) => r.run === started.run)!;
    expect(info).toMatchObject({ finished: false, teacher: 'extractive', epochs: 3 });
    expect(info.stages).toEqual(['ingest', 'generate', 'accept']);

    // Other choices on the screen now: the run keeps its own (other epochs would not match its checkpoint).
    const again = events(engine, ['pipeline.progress', 'pipeline.done', 'pipeline.failed'], (name) => name !== 'pipeline.progress');
    again.jobId((await engine.invoke('pipeline.start', { modelPath: path.join(dir, 'other.gguf'), teacher: 'workspace', epochs: 9, device: 'cpu', resume: started.run })).jobId);
    const seen = await again.all;
    expect(seen.at(-1)!.name, JSON.stringify(seen.at(-1)!.payload)).toBe('pipeline.done');
    // The first run said how it fitted the data; the second where it resumed: at the step the first stopped at.
    const progress = (list: typeof seen): PipelineProgressEvent[] => list.filter((e) => e.name === 'pipeline.progress').map((e) => e.payload as PipelineProgressEvent);
    const firstSteps = progress(await first.all).filter((p) => p.stage === 'train' && p.loss !== null).map((p) => p.done!);
    expect(progress(await first.all).find((p) => p.fit)?.fit).toMatchObject({ seq: expect.any(Number), examples: expect.any(Number), dropped: 0 });
    const resumedAt = progress(seen).find((p) => p.resumedAt)?.resumedAt;
    expect(resumedAt).toBeGreaterThanOrEqual(Math.max(...firstSteps));
    expect((await engine.invoke('pipeline.runs', {})).runs.find((r) => r.run === started.run)).toMatchObject({ finished: true, epochs: 3 });
  });
});
