import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DocTuneError, toWireError } from '../errors.js';
import { Engine } from './engine.js';
import { closeLogging, configureLogging } from '../log.js';
import { corpusFile, tempDir, TINY_MODEL } from '../testing/corpus.js';
import type { EventOf } from '../../shared/contract.js';

describe('engine contract', () => {
  const engine = new Engine({ workspaceDir: tempDir('engine'), threads: 1 });
  afterAll(() => engine.close());

  it('validates arguments against the contract', async () => {
    await expect(engine.invoke('search.query', { query: '' })).rejects.toThrow();
    await expect(engine.invoke('docs.chunks', { documentId: 'x', extra: 1 })).rejects.toThrow();
    await expect(engine.invoke('dialog.pickPaths', { kind: 'folder' })).rejects.toThrow(/only available in the desktop app/);
  });

  it('says where the log is, opens its folder where the app can, and refuses where it cannot', async () => {
    expect(await engine.invoke('app.logs', {})).toEqual({ folder: null, canOpen: false });
    await expect(engine.invoke('app.openLogs', {})).rejects.toMatchObject({ code: 'NOT_FOUND', message: /logging is off/ });
    const dir = path.join(tempDir('engine-logs'), 'logs');
    configureLogging(path.join(dir, 'doctune.log'));
    const opened: string[] = [];
    const app = new Engine({ workspaceDir: tempDir('engine-app'), threads: 1, openFolder: async (d) => void opened.push(d) });
    try {
      expect(await app.invoke('app.logs', {})).toEqual({ folder: dir, canOpen: true });
      expect(await app.invoke('app.openLogs', {})).toEqual({ opened: true });
      expect(opened).toEqual([dir]);
      // Browser mode: the folder is on the engine's machine, named but not opened.
      expect(await engine.invoke('app.logs', {})).toEqual({ folder: dir, canOpen: false });
      await expect(engine.invoke('app.openLogs', {})).rejects.toMatchObject({ code: 'BAD_ARGUMENT', path: dir });
      // Requests the engine refused are in the log, with their channel.
      await expect(app.invoke('docs.chunks', { documentId: 'no-such-document' })).resolves.toEqual([]);
      await app.invoke('search.query', { query: '' }).catch(() => undefined);
    } finally {
      await app.close();
      await closeLogging();
    }
    const lines = fs.readFileSync(path.join(dir, 'doctune.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'request refused', channel: 'app.openLogs', code: 'BAD_ARGUMENT' }));
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'request refused', channel: 'search.query', code: 'BAD_ARGUMENT' }));
  });

  it('imports through ingest.start with progress events, then lists, shows chunks and searches', async () => {
    const progress: EventOf<'ingest.progress'>[] = [];
    engine.on('ingest.progress', (p) => progress.push(p));
    const done = new Promise<EventOf<'ingest.done'>>((resolve) => engine.on('ingest.done', resolve));
    const file = corpusFile('ready_gov_be_prepared_for_a_tornado.pdf');
    const { jobId } = await engine.invoke('ingest.start', { paths: [file] });
    const result = await done;
    expect(result.jobId).toBe(jobId);
    expect(result.summary.documents).toBe(1);
    expect(progress.map((p) => p.stage)).toEqual(['queued', 'parsing', 'indexing', 'done']);
    expect(progress.at(-1)).toMatchObject({ filesDone: 1, filesTotal: 1, fraction: 1 });

    const [doc] = await engine.invoke('docs.list', {});
    expect(doc).toMatchObject({ format: 'pdf', pages: 2, status: 'ready', language: 'en' });
    const chunks = await engine.invoke('docs.chunks', { documentId: doc!.id });
    expect(chunks.length).toBe(doc!.chunks);
    const hits = await engine.invoke('search.query', { query: 'tornado warning', k: 3 });
    expect(hits[0]!.title).toMatch(/TORNADO/i);
    expect((await engine.invoke('workspace.info', {})).documents).toBe(1);
  });

  it('adds vector search with a GGUF embedding model (plumbing on the tiny model)', async () => {
    const { dimensions, chunks } = await engine.setEmbeddingModel(TINY_MODEL);
    expect(dimensions).toBe(64);
    expect(chunks).toBeGreaterThan(0);
    const info = await engine.invoke('workspace.info', {});
    expect(info.embeddingModel).toBe(path.resolve(TINY_MODEL));
    // New imports get vectors too; hybrid search still finds exact terms.
    const md = path.join(tempDir('engine-md'), 'shelter.md');
    fs.writeFileSync(md, '# Shelter\n\nGo to a basement or an interior room on the lowest floor during a tornado.\n');
    const summary = await engine.ingest([md]);
    expect(summary.documents).toBe(1);
    const table = (await engine.ws()).chunkTable();
    const schema = await table.schema();
    expect(schema.fields.map((f) => f.name)).toContain('vector');
    const hits = await engine.invoke('search.query', { query: 'basement interior room', k: 3 });
    expect(hits[0]!.text).toContain('basement');
    await engine.setEmbeddingModel(null);
    expect((await engine.invoke('workspace.info', {})).embeddingModel).toBeNull();
  });
});

describe('train.devices', () => {
  const cpu = { backend: 'CPU', name: 'CPU', description: 'Test CPU', memoryFree: 8 * 2 ** 30, memoryTotal: 16 * 2 ** 30 };

  it('probes once for the life of the engine, and again on refresh', async () => {
    let probes = 0;
    const engine = new Engine({
      workspaceDir: tempDir('engine-devices'),
      probeDevices: async () => ({ devices: [{ ...cpu, memoryFree: ++probes }], notes: probes === 1 ? 'CUDA: libcudart.so.12 not found' : '' }),
    });
    try {
      const [first, concurrent] = await Promise.all([engine.invoke('train.devices', {}), engine.invoke('train.devices', {})]);
      expect(first).toEqual({ devices: [{ ...cpu, memoryFree: 1 }], notes: 'CUDA: libcudart.so.12 not found' });
      expect(concurrent).toEqual(first);
      expect(await engine.invoke('train.devices', { refresh: false })).toEqual(first);
      expect(probes).toBe(1);
      expect(await engine.invoke('train.devices', { refresh: true })).toEqual({ devices: [{ ...cpu, memoryFree: 2 }], notes: '' });
      expect(await engine.invoke('train.devices', {})).toMatchObject({ devices: [{ memoryFree: 2 }] });
      expect(probes).toBe(2);
      await expect(engine.invoke('train.devices', { refresh: 'yes' })).rejects.toThrow();
    } finally {
      await engine.close();
    }
  });

  it('reports a failed probe as a wire error and retries on the next call', async () => {
    let fail = true;
    const engine = new Engine({
      workspaceDir: tempDir('engine-devices-fail'),
      probeDevices: async () => {
        if (fail) throw new DocTuneError('MODEL', 'the native trainer is not built', { path: '/x/doctune_native.node' });
        return { devices: [cpu], notes: '' };
      },
    });
    try {
      const err: unknown = await engine.invoke('train.devices', {}).catch((e: unknown) => e);
      expect(toWireError(err)).toEqual({ code: 'MODEL', message: 'the native trainer is not built', path: '/x/doctune_native.node' });
      fail = false;
      expect((await engine.invoke('train.devices', {})).devices).toEqual([cpu]);
    } finally {
      await engine.close();
    }
  });
});
