import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventOf } from '../../shared/contract.js';
import { readConversations } from '../dataset/conversation.js';
import { tempDir } from '../testing/corpus.js';
import { Workspace } from '../store/workspace.js';
import { locateEvidence } from '../dataset/evidence.js';
import { Engine } from './engine.js';

describe('dataset through the contract: generate, review, edit, accept, export', () => {
  const dir = tempDir('dataset-door');
  const engine = new Engine({ workspaceDir: path.join(dir, 'ws'), threads: 1 });
  afterAll(() => engine.close());

  beforeAll(async () => {
    const doc = path.join(dir, 'lockout.md');
    fs.writeFileSync(doc, [
      '# Lockout procedure',
      'Lockout device means a device that uses a lock to hold an energy-isolating device in a safe position.',
      'Employers must retrain employees at least every 12 months.',
      '# Emergency exits',
      'Exit route means a continuous and unobstructed path of exit travel from any point within a workplace to a place of safety.',
    ].join('\n\n'));
    const done = new Promise((resolve) => engine.on('ingest.done', resolve));
    await engine.invoke('ingest.start', { paths: [doc] });
    await done;
  });

  it('locates evidence in a passage whatever the spacing', () => {
    expect(locateEvidence('Keep  exits\nclear at all times.', 'exits clear')).toEqual([6, 17]);
    expect(locateEvidence('abc', 'xyz')).toBeNull();
    expect(locateEvidence('abc', null)).toBeNull();
  });

  it('keeps teacher settings in the workspace and refuses incomplete ones', async () => {
    expect(await engine.invoke('teacher.get', {})).toMatchObject({ kind: 'extractive', questionsPerChunk: 4, paraphrases: 0 });
    await expect(engine.invoke('teacher.set', { kind: 'api', baseUrl: 'not a url' })).rejects.toThrow(/base URL/);
    await expect(engine.invoke('teacher.set', { kind: 'local' })).rejects.toThrow(/local GGUF/);
    expect(await engine.invoke('teacher.set', { kind: 'extractive', questionsPerChunk: 3 })).toMatchObject({ kind: 'extractive', questionsPerChunk: 3 });
  });

  it("never sends an environment variable that a shared workspace names: the API key is the keychain's", async () => {
    await expect(engine.invoke('teacher.set', { apiKeyEnv: 'HOME' } as never)).rejects.toThrow(/apiKeyEnv/);
    // A folder from elsewhere (or from an older DocTune) whose settings name a variable and an endpoint.
    const seen: (string | undefined)[] = [];
    const api = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'no key' } }));
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    const shared = path.join(dir, 'shared-ws');
    const ws = await Workspace.open(shared);
    await ws.updateSettings({ teacher: { kind: 'api', localModel: '', baseUrl: `http://127.0.0.1:${(api.address() as AddressInfo).port}/v1`, model: 'm', apiKeyEnv: 'DOCTUNE_TEST_SECRET', questionsPerChunk: 1, paraphrases: 0, concurrency: 1 } as never });
    await ws.close();
    process.env.DOCTUNE_TEST_SECRET = 'leaked-secret';
    const other = new Engine({ workspaceDir: shared, threads: 1 });
    try {
      expect(await other.invoke('teacher.get', {})).not.toHaveProperty('apiKeyEnv');
      const doc = path.join(dir, 'exits.md');
      fs.writeFileSync(doc, '# Exits\n\nExit route means a continuous and unobstructed path of exit travel.');
      const ingested = new Promise((resolve) => other.on('ingest.done', resolve));
      await other.invoke('ingest.start', { paths: [doc] });
      await ingested;
      const ended = new Promise((resolve) => { other.on('generate.failed', resolve); other.on('generate.done', resolve); });
      await other.invoke('dataset.generate', {});
      await ended;
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.every((a) => !a?.includes('leaked-secret'))).toBe(true);
    } finally {
      delete process.env.DOCTUNE_TEST_SECRET;
      await other.close();
      await new Promise<void>((resolve) => api.close(() => resolve()));
    }
  });

  it('generates in the background with progress, then lists, filters, searches and shows the passage', async () => {
    const progress: EventOf<'generate.progress'>[] = [];
    engine.on('generate.progress', (p) => progress.push(p));
    const done = new Promise<EventOf<'generate.done'>>((resolve) => engine.on('generate.done', resolve));
    const { jobId } = await engine.invoke('dataset.generate', {});
    await expect(engine.invoke('dataset.generate', {})).rejects.toMatchObject({ code: 'BUSY', busyWith: 'generate', message: expect.stringMatching(/QA pairs are being generated/) });
    const result = await done;
    expect(result.jobId).toBe(jobId);
    expect(result.summary.pairs).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatchObject({ jobId, done: progress.at(-1)!.total, eta: 0 });

    const page = await engine.invoke('qa.list', {});
    expect(page.total).toBe(result.summary.pairs);
    expect(page.counts.pending).toBe(page.total);
    expect(page.sources).toEqual(['extractive']);
    expect(page.documents).toHaveLength(1);
    const lockout = await engine.invoke('qa.list', { search: 'lockout device' });
    expect(lockout.total).toBeGreaterThan(0);
    expect(lockout.pairs.every((p) => `${p.question} ${p.answer}`.toLowerCase().includes('lockout'))).toBe(true);
    const pair = lockout.pairs[0]!;
    const passage = (await engine.invoke('qa.passage', { id: pair.id }))!;
    expect(passage.documentTitle).toBe(pair.documentTitle);
    const [a, b] = passage.evidence!;
    expect(passage.text.slice(a, b).replace(/\s+/g, ' ')).toBe(pair.evidence!.replace(/\s+/g, ' '));
  });

  it('edits, accepts and rejects (one and in bulk), and exports what was accepted', async () => {
    const { pairs } = await engine.invoke('qa.list', { status: 'pending' });
    expect(pairs.length).toBeGreaterThanOrEqual(3);
    const [first, second, ...rest] = pairs;
    const edited = await engine.invoke('qa.update', { id: first!.id, answer: 'A lock that holds the energy-isolating device in a safe position.' });
    expect(edited.status).toBe('edited');
    expect(edited.updatedAt >= edited.createdAt).toBe(true);
    expect((await engine.invoke('qa.update', { id: second!.id, status: 'rejected' })).status).toBe('rejected');
    expect(await engine.invoke('qa.setStatus', { ids: rest.map((p) => p.id), status: 'accepted' })).toEqual({ updated: rest.length });
    const page = await engine.invoke('qa.list', { status: 'accepted' });
    expect(page.counts).toEqual({ pending: 0, accepted: rest.length, rejected: 1, edited: 1 });
    await expect(engine.invoke('qa.update', { id: 'nope', status: 'accepted' })).rejects.toThrow(/no QA pair/);

    const out = await engine.invoke('dataset.export', { format: 'messages', status: 'accepted' });
    expect(out.count).toBe(rest.length + 1); // accepted and edited
    const back = await readConversations(out.path);
    expect(back.map((c) => c[1]!.content)).toContain('A lock that holds the energy-isolating device in a safe position.');
    expect(fs.existsSync(path.join(path.dirname(out.path), 'dataset_info.json'))).toBe(true);
  });
});
