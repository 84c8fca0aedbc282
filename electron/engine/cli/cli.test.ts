import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MODEL_CATALOG } from '../models/catalog.js';
import { corpusFile, REPO_ROOT, tempDir } from '../testing/corpus.js';

/** Run the CLI from source the way `npx doctune` runs the built one. */
function doctune(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'electron/engine/cli/bin.ts'), ...args], {
    encoding: 'utf8',
    cwd: REPO_ROOT,
    timeout: 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('doctune CLI', () => {
  const ws = tempDir('cli');

  it('ingest --json follows the contract and exits 0', () => {
    const r = doctune('ingest', corpusFile('osha_factsheet_lockout_tagout.pdf'), corpusFile('治安管理处罚法(2012-10-26).md'), '--workspace', ws, '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ documents: 2, skipped: [], errors: [] });
    expect(out.chunks).toBeGreaterThan(10);
  });

  it('re-ingesting unchanged files does nothing and still exits 0', () => {
    const r = doctune('ingest', corpusFile('osha_factsheet_lockout_tagout.pdf'), '--workspace', ws, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ documents: 0, chunks: 0, unchanged: 1 });
  });

  it('docs and search print JSON with the contract fields', () => {
    const docs = JSON.parse(doctune('docs', '--workspace', ws, '--json').stdout);
    expect(docs).toHaveLength(2);
    expect(docs[0]).toHaveProperty('chunks');
    expect(docs[0]).toHaveProperty('status', 'ready');
    const r = doctune('search', '治安管理', '--workspace', ws, '--k', '3', '--json');
    const hits = JSON.parse(r.stdout);
    expect(hits).toHaveLength(3);
    expect(Object.keys(hits[0]).sort()).toEqual(['heading', 'page', 'path', 'score', 'text', 'title']);
    expect(hits[0].text).toContain('治安管理');
    expect(hits[0].heading).toMatch(/^中华人民共和国治安管理处罚法 > 第/);
  });

  it('prints readable text without --json', () => {
    const r = doctune('search', 'lockout', '--workspace', ws, '--k', '1');
    expect(r.stdout).toMatch(/^1\. .+ — p\. \d/);
  });

  it('exits 1 when every file failed, naming the file and reason', () => {
    const bad = path.join(tempDir('cli-bad'), 'empty.pdf');
    fs.writeFileSync(bad, '');
    const r = doctune('ingest', bad, '--workspace', ws, '--json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).errors).toEqual([{ path: bad, reason: 'empty file (0 bytes)' }]);
  });

  it('exits 2 on bad arguments', () => {
    expect(doctune('ingest', '--workspace', ws).code).toBe(2);
    expect(doctune('search', 'x', '--k', 'many', '--workspace', ws).code).toBe(2);
    expect(doctune('frobnicate').code).toBe(2);
  });

  it('models recommend --json lists every catalog model with where chat and training fit, and the pick', () => {
    const r = doctune('models', 'recommend', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.hardware.ramBytes).toBe(os.totalmem());
    expect(out.models.map((m: { id: string }) => m.id)).toEqual(MODEL_CATALOG.map((m) => m.id));
    for (const m of out.models) {
      for (const p of [m.fit.chat, m.fit.training]) {
        expect(['gpu', 'cpu', 'none']).toContain(p.runsOn);
        expect(p.needed).toBeGreaterThan(0);
        expect(p.reason.length).toBeGreaterThan(0);
      }
    }
    if (out.recommended !== null) expect(out.models.find((m: { id: string }) => m.id === out.recommended).fit.training.runsOn).not.toBe('none');
    expect(out.reason.length).toBeGreaterThan(0);
    expect(doctune('models', 'recommend', '--language', 'fr').code).toBe(2);
  });
});
