import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, tempDir } from '../testing/corpus.js';
import { lanceCpuThreads } from './lance-threads.js';

/**
 * The full-text index of a workspace with many distinct words (20,000 passages of 60 random ones), built in a
 * fresh process as DocTune starts: with LanceDB's own pool size this never finished on a machine of two to
 * four cores (every thread parked); with DocTune's it takes a second.
 */
const SCRIPT = `
import { Workspace } from ${JSON.stringify(path.join(REPO_ROOT, 'electron/engine/store/workspace.ts'))};
const ws = await Workspace.open(process.argv[1]);
let seed = 1;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const rows = Array.from({ length: 20000 }, (_, i) => {
  const text = Array.from({ length: 60 }, () => 'w' + Math.floor(rnd() * 2000000)).join(' ');
  return { id: 'd:' + i, document_id: 'd', ordinal: i, text, fts_text: text, page: null, heading: [], language: 'en', tokens: 60, content_hash: String(i), ocr: false };
});
await ws.addChunks(rows);
await ws.refreshIndexes();
console.log('indexed', process.env.LANCE_CPU_THREADS);
ws.close();
`;

describe('LanceDB compute threads', () => {
  it('are sized so that building a large full-text index finishes on a small machine', () => {
    const env = { ...process.env };
    delete env.LANCE_CPU_THREADS;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SCRIPT, tempDir('lance-threads')], { cwd: REPO_ROOT, env, encoding: 'utf8', timeout: 90_000 });
    expect(r.error?.message ?? '', 'the index build hung').toBe('');
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(`indexed ${lanceCpuThreads()}`);
  });

  it('keep one thread free beyond the cores', () => {
    expect(lanceCpuThreads(2)).toBe(4);
    expect(lanceCpuThreads(16)).toBe(18);
  });
});
