import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DocumentParser } from './parse-pool.js';
import { ingestPaths } from './ingest-files.js';
import { parseDocument } from './parse-document.js';
import { searchWorkspace } from '../store/search.js';
import { Workspace } from '../store/workspace.js';
import { CORPUS, corpusFile, tempDir } from '../testing/corpus.js';
import fs from 'node:fs';

const LOTO = 'osha3120_control_of_hazardous_energy_lockout_tagout.pdf';

function hasPdftotext(): boolean {
  try {
    execFileSync('pdftotext', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Page on which pdftotext (poppler, an independent PDF engine) finds a phrase. */
function popplerPage(file: string, phrase: string, pages: number): number | null {
  for (let p = 1; p <= pages; p++) {
    const text = execFileSync('pdftotext', ['-f', String(p), '-l', String(p), file, '-']).toString().replace(/\s+/g, ' ');
    if (text.includes(phrase)) return p;
  }
  return null;
}

describe('the real corpus', () => {
  let ws: Workspace;
  const parser = new DocumentParser();

  beforeAll(async () => {
    ws = await Workspace.open(tempDir('corpus'));
    const summary = await ingestPaths(ws, [CORPUS], { parser });
    expect(summary.errors).toEqual([]);
    expect(summary.documents).toBe(10);
  });
  afterAll(async () => {
    await parser.close();
    ws.close();
  });

  it('finds a lockout/tagout sentence on the page poppler puts it on, with its heading', async () => {
    const phrase = 'continuity of lockout or tagout protection';
    const hits = await searchWorkspace(ws, phrase, 3);
    const top = hits[0]!;
    expect(top.path.endsWith(LOTO)).toBe(true);
    expect(top.text).toContain('Employers must make sure that there is a continuity of lockout or tagout protection');
    // Page 22 of the booklet, as printed; poppler's agreement is checked below where it is installed.
    expect(top.page).toBe(22);
    expect(top.heading).toContain('What if a shift changes during machine service or maintenance?');
  });

  it.skipIf(!hasPdftotext())('puts the sentence on the page poppler\'s pdftotext finds it on (skipped without poppler-utils)', () => {
    expect(popplerPage(corpusFile(LOTO), 'there is a continuity of lockout or tagout protection', 45)).toBe(22);
  });

  it('finds lockout/tagout passages in the OSHA documents', async () => {
    const hits = await searchWorkspace(ws, 'lockout tagout devices', 5);
    expect(hits.length).toBe(5);
    for (const h of hits) expect(h.path).toMatch(/osha/);
    expect(hits[0]!.terms).toEqual(['lockout', 'tagout', 'devices']);
  });

  it('finds 第一条 of the Chinese statute with a Chinese query, under its chapter heading', async () => {
    const hits = await searchWorkspace(ws, '维护社会治安秩序', 3);
    const top = hits[0]!;
    expect(top.title).toBe('中华人民共和国治安管理处罚法');
    expect(top.text).toContain('第一条 为维护社会治安秩序');
    expect(top.heading).toEqual(['中华人民共和国治安管理处罚法', '第一章 总则']);
    const zh = await searchWorkspace(ws, '治安管理', 5);
    expect(zh.length).toBe(5);
    for (const h of zh) expect(h.text).toContain('治安管理');
  });

  it('keeps the DOCX form table text', async () => {
    const docs = await ws.listDocuments();
    const form = docs.find((d) => d.format === 'docx')!;
    expect(form.pages).toBe(6);
    const text = (await ws.chunksOf(form.id)).map((c) => c.text).join('\n');
    expect(text).toContain('Incident Name');
    expect(text).toMatch(/Situation Summary and Health and Safety Briefing/);
    // Table rows come out as cells joined by " | ".
    expect(text).toMatch(/\| /);
  });

  it('records language, pages and chunk counts per document', async () => {
    const docs = await ws.listDocuments();
    const byName = new Map(docs.map((d) => [d.path.split('/').pop()!, d]));
    expect(byName.get(LOTO)).toMatchObject({ format: 'pdf', language: 'en', pages: 45, status: 'ready' });
    expect(byName.get('突发事件应对法(2024-06-28).md')).toMatchObject({ format: 'markdown', language: 'zh', pages: null });
    for (const d of docs) {
      expect(d.chunks).toBeGreaterThan(0);
      expect((await ws.chunksOf(d.id)).length).toBe(d.chunks);
    }
  });

  it('chunks stay near the target size and never end mid-sentence in running text', async () => {
    const doc = await parseDocument(corpusFile('突发事件应对法(2024-06-28).md'), fs.readFileSync(corpusFile('突发事件应对法(2024-06-28).md')));
    expect(doc.blocks.filter((b) => b.kind === 'heading').length).toBeGreaterThanOrEqual(9);
    const docs = await ws.listDocuments();
    const law = docs.find((d) => d.title === '中华人民共和国突发事件应对法')!;
    for (const c of await ws.chunksOf(law.id)) {
      expect(c.tokens).toBeLessThanOrEqual(400);
      if (c.heading.length < 2) continue; // the adoption note above chapter one is not running text
      expect(c.text).toMatch(/[。；：！？]$/);
    }
  });
});
