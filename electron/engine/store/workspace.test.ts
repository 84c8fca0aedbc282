import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DocumentParser } from '../ingest/parse-pool.js';
import { ingestPaths } from '../ingest/ingest-files.js';
import { searchWorkspace } from './search.js';
import { Workspace } from './workspace.js';
import { tempDir } from '../testing/corpus.js';

describe('workspace', () => {
  const parser = new DocumentParser();
  let dir: string;
  let wsDir: string;

  beforeAll(() => {
    dir = tempDir('ws-docs');
    wsDir = tempDir('ws');
  });
  afterAll(() => parser.close());

  it('replaces a changed file\'s chunks and leaves an unchanged one alone', async () => {
    const file = path.join(dir, 'procedure.md');
    fs.writeFileSync(file, '# Procedure\n\nIsolate the energy source before servicing the conveyor.\n');
    const ws = await Workspace.open(wsDir);
    const first = await ingestPaths(ws, [file], { parser });
    expect(first).toMatchObject({ documents: 1, unchanged: 0 });
    const [before] = await ws.listDocuments();

    expect(await ingestPaths(ws, [file], { parser })).toMatchObject({ documents: 0, unchanged: 1 });
    expect((await ws.listDocuments())[0]!.id).toBe(before!.id);

    fs.writeFileSync(file, '# Procedure\n\nVerify zero energy state with a voltmeter before touching the conveyor belt.\n');
    expect(await ingestPaths(ws, [file], { parser })).toMatchObject({ documents: 1 });
    const docs = await ws.listDocuments();
    expect(docs).toHaveLength(1);
    expect(docs[0]!.id).not.toBe(before!.id);
    expect(await ws.chunkTable().countRows()).toBe(docs[0]!.chunks);
    expect((await searchWorkspace(ws, 'isolate energy source', 5)).some((h) => h.text.includes('Isolate'))).toBe(false);
    expect((await searchWorkspace(ws, 'voltmeter', 5))[0]!.text).toContain('voltmeter');
    ws.close();
  });

  it('keeps the stored version when a changed file now fails to parse', async () => {
    const file = path.join(dir, 'procedure.md');
    const ws = await Workspace.open(wsDir);
    const good = (await ws.listDocuments())[0]!;
    fs.writeFileSync(file, Buffer.from([0x23, 0x20, 0xe6, 0x28, 0xe4, 0xbd, 0xa0, 0x0a]));
    const summary = await ingestPaths(ws, [file], { parser });
    expect(summary.errors[0]!.reason).toMatch(/invalid UTF-8/);
    const [still] = await ws.listDocuments();
    expect(still).toMatchObject({ id: good.id, status: 'ready', chunks: good.chunks });
    ws.close();
  });

  it('hides and then removes chunks whose document never committed (a crash mid-import)', async () => {
    const ws = await Workspace.open(wsDir);
    const [doc] = await ws.listDocuments();
    const rows = await ws.chunksOf(doc!.id);
    const orphan = { ...rows[0]!, id: 'orphan:0', document_id: 'orphan', text: 'Uncommitted voltmeter text', fts_text: 'Uncommitted voltmeter text' };
    await ws.chunkTable().add([orphan as unknown as Record<string, unknown>]);
    await ws.refreshIndexes();
    const hits = await searchWorkspace(ws, 'uncommitted voltmeter', 10);
    expect(hits.every((h) => h.documentId !== 'orphan')).toBe(true);
    ws.close();

    const reopened = await Workspace.open(wsDir);
    expect(await reopened.chunkTable().countRows(`document_id = 'orphan'`)).toBe(0);
    expect(await reopened.chunkTable().countRows()).toBe(doc!.chunks);
    reopened.close();
  });

  it('removes a document with its chunks and keeps settings across opens', async () => {
    const ws = await Workspace.open(wsDir);
    await ws.updateSettings({ chunkTokens: 256, chunkOverlap: 32 });
    const [doc] = await ws.listDocuments();
    expect(await ws.removeDocument(doc!.id)).toBe(true);
    expect(await ws.removeDocument(doc!.id)).toBe(false);
    expect(await ws.chunkTable().countRows()).toBe(0);
    ws.close();
    const again = await Workspace.open(wsDir);
    expect(again.settings).toMatchObject({ chunkTokens: 256, chunkOverlap: 32, embeddingModel: null });
    again.close();
  });

  it('reads each setting by its schema: an invalid one is its default, an older teacher gets the fields added since', async () => {
    const d = tempDir('ws-settings');
    const ws = await Workspace.open(d);
    await ws.updateSettings({ chunkTokens: 5, ocr: 'klingon', watchedFolders: 'not a list', teacher: { kind: 'api', baseUrl: 'http://127.0.0.1:8080/v1', model: 'm', apiKeyEnv: 'HOME' } } as never);
    ws.close();
    const again = await Workspace.open(d);
    try {
      expect(again.settings).toMatchObject({ chunkTokens: 400, ocr: 'auto', watchedFolders: [] });
      // Kept, with the defaults for what it lacked, and without the environment variable name.
      expect(again.settings.teacher).toEqual({ kind: 'api', localModel: '', baseUrl: 'http://127.0.0.1:8080/v1', model: 'm', questionsPerChunk: 4, paraphrases: 0, concurrency: 4 });
    } finally {
      again.close();
    }
  });
});
