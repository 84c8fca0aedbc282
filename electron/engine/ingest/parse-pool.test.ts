import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DocTuneError } from '../errors.js';
import { DocumentParser } from './parse-pool.js';
import { corpusFile, tempDir } from '../testing/corpus.js';
import { docxZipBomb } from '../testing/zip-fixtures.js';

const chunking = { targetTokens: 400, overlapTokens: 50 };

describe('DocumentParser (parsing threads)', () => {
  const dir = tempDir('pool');
  const parsers: DocumentParser[] = [];
  const make = (...args: ConstructorParameters<typeof DocumentParser>): DocumentParser => {
    const p = new DocumentParser(...args);
    parsers.push(p);
    return p;
  };
  afterAll(() => Promise.all(parsers.map((p) => p.close())));

  it('warms up every thread, then parses in parallel in input order', async () => {
    const parser = make({ threads: 2 });
    await parser.warmUp();
    const files = ['osha_factsheet_lockout_tagout.pdf', 'ready_gov_be_prepared_for_a_tornado.pdf', '治安管理处罚法(2012-10-26).md'].map(corpusFile);
    const results = await Promise.all(files.map((f) => parser.parse(f, chunking)));
    expect(results.map((r) => r.document.format)).toEqual(['pdf', 'pdf', 'markdown']);
    expect(results[2]!.document.language).toBe('zh');
  });

  it('stops a file that takes too long and recovers for the next one', async () => {
    const parser = make({ threads: 1, timeoutMs: 5 });
    const err = await parser.parse(corpusFile('osha3071_job_hazard_analysis.pdf'), chunking).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DocTuneError);
    expect((err as DocTuneError).code).toBe('TIMEOUT');
    expect((err as DocTuneError).path).toContain('osha3071');
    const small = path.join(dir, 'small.md');
    fs.writeFileSync(small, '# Title\n\nBody text.\n');
    const relaxed = make({ threads: 1 });
    expect((await relaxed.parse(small, chunking)).chunks).toHaveLength(1);
  });

  it('a package whose directory declares 1 MB but inflates to 1 GB is refused from the bytes it inflates, in little memory', async () => {
    const liar = path.join(dir, 'liar-1g.docx');
    fs.writeFileSync(liar, docxZipBomb(1024, { lie: true }));
    const parser = make({ threads: 1 });
    const before = process.memoryUsage().rss;
    const started = Date.now();
    const err = (await parser.parse(liar, chunking).catch((e: unknown) => e)) as DocTuneError;
    expect(err).toBeInstanceOf(DocTuneError);
    expect(err.path).toBe(liar);
    expect(err.message).toMatch(/refusing a zip bomb: word\/document\.xml inflates to more than 256 MB/);
    expect(Date.now() - started).toBeLessThan(20_000);
    // Counted as it inflated, nothing kept: the process grew by far less than the gigabyte the package holds
    // (what it grows by is inflated chunks not yet collected).
    expect(process.memoryUsage().rss - before).toBeLessThan(512 * 1024 * 1024);
  });

  it('a zip bomb that lies about its size is refused and the thread recovers', async () => {
    const bomb = path.join(dir, 'liar.docx');
    fs.writeFileSync(bomb, docxZipBomb(300, { lie: true }));
    const parser = make({ threads: 1, maxHeapMb: 96 });
    const err = (await parser.parse(bomb, chunking).catch((e: unknown) => e)) as DocTuneError;
    expect(err).toBeInstanceOf(DocTuneError);
    // Either the inflater notices the lie or the thread hits its heap cap; both name the file and the cause.
    expect(err.path).toBe(bomb);
    expect(err.message).toMatch(/size mismatch|more than 96 MB of memory|inflates to more than/);
    // The pool replaced the dead thread.
    const ok = path.join(dir, 'ok.txt');
    fs.writeFileSync(ok, 'Still working after the bomb.\n');
    expect((await parser.parse(ok, chunking)).chunks[0]!.text).toBe('Still working after the bomb.');
  });
});
