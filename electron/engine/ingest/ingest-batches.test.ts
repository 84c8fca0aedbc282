import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Workspace } from '../store/workspace.js';
import { tempDir } from '../testing/corpus.js';
import { ingestPaths } from './ingest-files.js';
import { DocumentParser } from './parse-pool.js';

describe('importing a folder of many files', () => {
  const parser = new DocumentParser();
  afterAll(() => parser.close());

  it('commits in batches: every file stored, a few table versions rather than two per file, old versions dropped', async () => {
    const folder = tempDir('many');
    for (let i = 0; i < 1200; i++) {
      fs.writeFileSync(path.join(folder, `record-${i}.txt`), i % 100 === 7 ? '' : `Inspection record ${i}\n\nExtinguisher ${i} was checked and its tag signed.\n`);
    }
    const wsDir = tempDir('many-ws');
    const ws = await Workspace.open(wsDir);
    try {
      const done: string[] = [];
      const summary = await ingestPaths(ws, [folder], { parser, onProgress: (p) => { if (p.stage === 'done') done.push(p.path); } });
      expect(summary.documents).toBe(1188);
      expect(summary.errors).toHaveLength(12); // the empty ones, each named
      expect(done).toHaveLength(1188);
      const docs = await ws.listDocuments();
      expect(docs).toHaveLength(1200);
      expect(docs.filter((d) => d.status === 'ready').every((d) => d.chunks === 1)).toBe(true);
      expect(await ws.chunkTable().countRows()).toBe(1188);
      // Two writes per batch, then compaction keeps only the recent versions (per file it was 2400).
      expect(fs.readdirSync(path.join(wsDir, 'documents.lance', '_versions')).length).toBeLessThan(30);
      const again = await ingestPaths(ws, [folder], { parser });
      expect(again).toMatchObject({ documents: 0, unchanged: 1188 });
      expect(await ws.chunkTable().countRows()).toBe(1188);
    } finally {
      ws.close();
    }
  });
});
