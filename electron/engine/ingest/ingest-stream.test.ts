import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { searchWorkspace } from '../store/search.js';
import { Workspace } from '../store/workspace.js';
import { tempDir } from '../testing/corpus.js';
import { ingestPaths } from './ingest-files.js';
import { DocumentParser } from './parse-pool.js';

/** A long procedures file: numbered sections of real-sounding text, a distinct phrase in each. */
function procedures(sections: number): string {
  return Array.from({ length: sections }, (_, i) => `Procedure ${i + 1}\n\nBefore servicing machine ${i + 1}, the authorized employee isolates every energy source, applies a lock and a tag, and verifies zero energy state code-${i + 1}-verified.\nRecords are kept for three years.\n`).join('\n');
}

describe('importing a large text file in batches', () => {
  // Streaming from 64 KB on in batches of 100, so a file of a few hundred kilobytes goes the way a 200 MB one does.
  const parser = new DocumentParser({ threads: 1, streamText: { fromBytes: 64 * 1024, batchChunks: 100 } });
  afterAll(() => parser.close());

  it('stores the passages as they are read, the same ones a whole read gives, and commits the document once', async () => {
    const dir = tempDir('stream-ingest');
    const big = path.join(dir, 'procedures.txt');
    fs.writeFileSync(big, procedures(3000));
    const small = path.join(dir, 'small.txt');
    fs.writeFileSync(small, procedures(3));
    expect(fs.statSync(big).size).toBeGreaterThan(64 * 1024 * 4);

    const ws = await Workspace.open(tempDir('stream-ingest-ws'));
    try {
      const progress: number[] = [];
      const summary = await ingestPaths(ws, [big, small], { parser, onProgress: (p) => { if (p.path === big && p.stage === 'parsing' && p.chunks) progress.push(p.chunks); } });
      expect(summary).toMatchObject({ documents: 2, errors: [] });
      // Several batches arrived before the end.
      expect(progress.length).toBeGreaterThan(2);
      const doc = (await ws.documentByPath(big))!;
      const chunks = await ws.chunksOf(doc.id);
      expect(doc.chunks).toBe(chunks.length);
      expect(chunks.map((c) => c.ordinal)).toEqual(chunks.map((_, i) => i));

      // The same passages the whole-file reader gives (the small threshold turned off).
      const wholeParser = new DocumentParser({ threads: 1 });
      try {
        const whole = await wholeParser.parse(big, { targetTokens: ws.settings.chunkTokens, overlapTokens: ws.settings.chunkOverlap });
        expect(whole.streamed).toBeUndefined();
        expect(chunks.map((c) => c.text)).toEqual(whole.chunks.map((c) => c.text));
      } finally {
        await wholeParser.close();
      }
      const [hit] = await searchWorkspace(ws, 'code-2999-verified', 1);
      expect(hit?.text).toContain('code-2999-verified');

      // Imported again unchanged: nothing read; changed: the new version replaces the old in one commit.
      expect(await ingestPaths(ws, [big], { parser })).toMatchObject({ unchanged: 1 });
      fs.appendFileSync(big, '\nProcedure 3001\n\nAdded last: code-3001-verified.\n');
      expect(await ingestPaths(ws, [big], { parser })).toMatchObject({ documents: 1 });
      const again = (await ws.documentByPath(big))!;
      expect(await ws.chunksOf(doc.id)).toEqual([]);
      expect((await ws.chunksOf(again.id)).length).toBe(again.chunks);
      expect(await ws.chunkTable().countRows()).toBe(again.chunks + (await ws.documentByPath(small))!.chunks);
    } finally {
      ws.close();
    }
  });

  it('a streamed file that fails or is cancelled half-way leaves no passages behind, and the stored version stays', async () => {
    const dir = tempDir('stream-fail');
    const file = path.join(dir, 'log.txt');
    fs.writeFileSync(file, procedures(2000));
    const ws = await Workspace.open(tempDir('stream-fail-ws'));
    try {
      await ingestPaths(ws, [file], { parser });
      const good = (await ws.documentByPath(file))!;
      const rows = await ws.chunkTable().countRows();

      // Broken UTF-8 past the first megabyte (the encoding is decided on that): found after batches were stored.
      fs.writeFileSync(file, Buffer.concat([Buffer.from(procedures(6000)), Buffer.from([0xe4, 0xb8, 0x20]), Buffer.from(procedures(10))]));
      const failed = await ingestPaths(ws, [file], { parser });
      expect(failed.errors).toEqual([{ path: file, reason: expect.stringMatching(/invalid UTF-8/) }]);
      expect(await ws.documentByPath(file)).toMatchObject({ id: good.id, status: 'ready' });
      expect(await ws.chunkTable().countRows()).toBe(rows);

      // Cancelled once the first batch is in.
      fs.writeFileSync(file, procedures(4000));
      const controller = new AbortController();
      await expect(ingestPaths(ws, [file], {
        parser, signal: controller.signal,
        onProgress: (p) => { if (p.chunks && p.stage === 'parsing') controller.abort(); },
      })).rejects.toMatchObject({ code: 'CANCELLED' });
      expect(await ws.documentByPath(file)).toMatchObject({ id: good.id });
      expect(await ws.chunkTable().countRows()).toBe(rows);
    } finally {
      ws.close();
    }
  });
});
