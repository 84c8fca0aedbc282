import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DocumentParser } from './parse-pool.js';
import { ingestPaths } from './ingest-files.js';
import { Workspace } from '../store/workspace.js';
import { corpusFile, tempDir } from '../testing/corpus.js';
import { encryptedPdf, imageOnlyPdf, textPdf } from '../testing/pdf-fixtures.js';
import { docx, docxZipBomb } from '../testing/zip-fixtures.js';
import type { IngestSummary } from '../../shared/contract.js';

/** Every kind of bad input beside good files: each bad one fails alone, with a reason a user can act on. */
const EXPECTED_ERRORS: Record<string, RegExp> = {
  'truncated.pdf': /^truncated PDF/,
  'encrypted.pdf': /^encrypted PDF/,
  // A grey square where a scan would be: read by OCR, and nothing found.
  'scanned.pdf': /^no text found in the PDF, even by OCR/,
  'picture.png': /^truncated PNG image/,
  'really-a-png.pdf': /^not a PDF: the content is a PNG image/,
  'broken.docx': /^corrupt ZIP package/,
  'bomb.docx': /zip bomb.*expands/,
  'empty.txt': /^empty file \(0 bytes\)/,
  'bad-utf8.txt': /^invalid UTF-8 \(broken byte sequence at offset \d+\)/,
  'garbage.html': /^binary data|not valid UTF-8/,
};

describe('bad input', () => {
  let dir: string;
  let ws: Workspace;
  let summary: IngestSummary;
  const parser = new DocumentParser();

  beforeAll(async () => {
    dir = tempDir('bad');
    const write = (rel: string, data: Buffer | string): void => {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), data);
    };
    const real = fs.readFileSync(corpusFile('osha_factsheet_lockout_tagout.pdf'));
    write('truncated.pdf', real.subarray(0, Math.floor(real.length * 0.6)));
    write('encrypted.pdf', encryptedPdf());
    write('scanned.pdf', imageOnlyPdf());
    write('really-a-png.pdf', Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4b60000000049454e44ae426082', 'hex'));
    const good = docx(['Evacuation Plan', 'Leave the building by the nearest marked exit and go to the assembly point.']);
    write('broken.docx', good.subarray(0, good.length - 40));
    write('bomb.docx', docxZipBomb(300));
    write('empty.txt', '');
    const zh = Buffer.from('第一条 为了预防和减少突发事件的发生，控制、减轻和消除突发事件引起的严重社会危害，制定本法。');
    write('bad-utf8.txt', Buffer.concat([zh.subarray(0, 12), Buffer.from([0xe7, 0x41]), zh.subarray(12)]));
    write('garbage.html', Buffer.from([0x00, 0x9f, 0x92, 0x96, 0x00, 0xff, 0x10, 0x80, 0x00, 0x01]));
    // Good files, including awkward names, must get in whatever their neighbours do.
    write('good/Hazard Communication.pdf', textPdf(['Hazard Communication', 'Employers must label every container of hazardous chemicals.']));
    write('good/evacuation.docx', good);
    write('good/应急 预案 (2024)/疏散 指南.md', '# 疏散指南\n\n发生火灾时，应当立即按照疏散路线撤离至集合点。\n');
    write('good/notes with spaces.txt', 'Shelter in place\n\nClose all windows and doors and turn off ventilation systems.\n');
    write('.hidden-notes.txt', 'hidden');
    write('picture.png', Buffer.from('89504e47', 'hex'));
    write('archive.7z', Buffer.from('377abcaf271c', 'hex'));
    fs.mkdirSync(path.join(dir, 'loop'));
    fs.symlinkSync('..', path.join(dir, 'loop', 'back-to-top'));
    ws = await Workspace.open(tempDir('bad-ws'));
    summary = await ingestPaths(ws, [dir], { parser });
  }, 180_000);

  afterAll(async () => {
    await parser.close();
    ws.close();
  });

  it('gives each bad file its own clear error', () => {
    const byName = Object.fromEntries(summary.errors.map((e) => [path.basename(e.path), e.reason]));
    expect(Object.keys(byName).sort()).toEqual(Object.keys(EXPECTED_ERRORS).sort());
    for (const [name, pattern] of Object.entries(EXPECTED_ERRORS)) expect(byName[name], name).toMatch(pattern);
  });

  it('ingests the good files beside them, unicode and spaced paths included', async () => {
    expect(summary.documents).toBe(4);
    const ready = (await ws.listDocuments()).filter((d) => d.status === 'ready').map((d) => path.relative(dir, d.path)).sort();
    expect(ready).toEqual(['good/Hazard Communication.pdf', 'good/evacuation.docx', 'good/notes with spaces.txt', 'good/应急 预案 (2024)/疏散 指南.md']);
  });

  it('skips hidden files, unsupported types and symlink loops with a reason', () => {
    const skipped = Object.fromEntries(summary.skipped.map((s) => [path.relative(dir, s.path), s.reason]));
    expect(skipped['.hidden-notes.txt']).toBe('hidden');
    expect(skipped['archive.7z']).toMatch(/unsupported file type "\.7z"/);
    expect(skipped['loop/back-to-top']).toMatch(/symbolic link loop/);
  });

  it('leaves nothing half-written: failed files have no chunks, good ones all of theirs', async () => {
    const docs = await ws.listDocuments();
    let total = 0;
    for (const d of docs) {
      const chunks = await ws.chunksOf(d.id);
      expect(chunks.length).toBe(d.chunks);
      if (d.status === 'error') expect(d.chunks).toBe(0);
      total += chunks.length;
    }
    expect(await ws.chunkTable().countRows()).toBe(total);
    expect(docs.filter((d) => d.status === 'error').length).toBe(Object.keys(EXPECTED_ERRORS).length);
  });

  it('a second import of the same folder changes nothing stored', async () => {
    const before = await ws.chunkTable().countRows();
    const again = await ingestPaths(ws, [dir], { parser });
    expect(again.documents).toBe(0);
    expect(again.unchanged).toBe(4);
    expect(again.errors.length).toBe(Object.keys(EXPECTED_ERRORS).length);
    expect(await ws.chunkTable().countRows()).toBe(before);
  });
});
