import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI_ARGS, doctune } from '../testing/cli.js';
import { REPO_ROOT, tempDir } from '../testing/corpus.js';

describe('doctune ingest --watch', () => {
  it('imports the folder, follows additions, renames and deletions, and stops cleanly on Ctrl-C', async () => {
    const folder = tempDir('cli-watch');
    const ws = tempDir('cli-watch-ws');
    fs.writeFileSync(path.join(folder, 'hoses.md'), '# Hoses\n\nFire hoses are tested every year at the service pressure.\n');
    fs.writeFileSync(path.join(folder, 'ladders.md'), '# Ladders\n\nSet a ladder one foot out for every four feet of height.\n');
    const child = spawn(process.execPath, [...CLI_ARGS, 'ingest', folder, '--watch', '--json', '--workspace', ws], {
      cwd: REPO_ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const syncs = () => stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { folder: string; documents: number; removed: string[]; renamed: { from: string; to: string }[] });
    const until = async (n: number): Promise<void> => {
      const end = Date.now() + 60_000;
      while (syncs().length < n) {
        if (Date.now() > end) throw new Error(`no sync ${n}: ${stdout}\n${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    try {
      await until(1);
      expect(syncs()[0]).toMatchObject({ folder, documents: 2, removed: [] });
      expect(stderr).toContain(`Watching ${folder}`);

      fs.writeFileSync(path.join(folder, 'exits.md'), '# Exits\n\nExit doors open from the inside without a key.\n');
      fs.renameSync(path.join(folder, 'ladders.md'), path.join(folder, 'ladder-safety.md'));
      fs.rmSync(path.join(folder, 'hoses.md'));
      await until(2);
      // The events may arrive as one batch or two; together they say the same.
      const later = syncs().slice(1);
      expect(later.reduce((n, s) => n + s.documents, 0)).toBe(1);
      await new Promise((r) => setTimeout(r, 1500));
      const all = syncs().slice(1);
      expect(all.flatMap((s) => s.removed)).toEqual([path.join(folder, 'hoses.md')]);
      expect(all.flatMap((s) => s.renamed)).toEqual([{ from: path.join(folder, 'ladders.md'), to: path.join(folder, 'ladder-safety.md') }]);
    } finally {
      process.kill(-child.pid!, 'SIGINT');
    }
    expect(await exited).toBe(0);

    const docs = JSON.parse(doctune('docs', '--workspace', ws, '--json').stdout) as { path: string; status: string }[];
    expect(docs.map((d) => [path.basename(d.path), d.status]).sort()).toEqual([['exits.md', 'ready'], ['hoses.md', 'removed'], ['ladder-safety.md', 'ready']]);
    // Plain text lists what a removed document keeps.
    expect(doctune('docs', '--workspace', ws).stdout).toMatch(/^removed\s+markdown .*Hoses$/m);
  });
});
