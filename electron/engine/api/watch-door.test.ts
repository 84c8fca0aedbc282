import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { WatchedFolder } from '../../shared/contract.js';
import { tempDir } from '../testing/corpus.js';
import { Engine } from './engine.js';

async function until<T>(read: () => Promise<T>, check: (v: T) => boolean, what: string, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (check(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('watched folders through the engine', () => {
  const engines: Engine[] = [];
  afterEach(async () => {
    await Promise.all(engines.splice(0).map((e) => e.close()));
  });
  const start = (workspaceDir: string): Engine => {
    const e = new Engine({ workspaceDir, threads: 1, watch: true, watchQuietMs: 200 });
    engines.push(e);
    return e;
  };
  const docs = (e: Engine) => () => e.invoke('docs.list', {});

  it('imports a folder when it is added, follows changes, and catches up after a restart', async () => {
    const wsDir = tempDir('watch-ws');
    const folder = tempDir('watch-folder');
    fs.writeFileSync(path.join(folder, 'hoses.md'), '# Hoses\n\nFire hoses are tested every year at the service pressure.\n');
    const engine = start(wsDir);
    const events: WatchedFolder[][] = [];
    engine.on('watch.changed', (f) => events.push(f));

    const listed = await engine.invoke('watch.add', { path: folder });
    expect(listed.map((f) => f.path)).toEqual([folder]);
    const synced = await until(() => engine.invoke('watch.list', {}), (l) => l[0]?.state === 'watching' && l[0].lastSync !== null, 'the first sync');
    expect(synced[0]!.lastSync!.summary).toMatchObject({ documents: 1, removed: [] });
    expect(events.some((e) => e[0]?.state === 'syncing')).toBe(true);

    fs.writeFileSync(path.join(folder, 'exits.md'), '# Exits\n\nExit doors open from the inside without a key.\n');
    await until(docs(engine), (d) => d.some((x) => x.path.endsWith('exits.md') && x.status === 'ready'), 'the new file');
    fs.rmSync(path.join(folder, 'hoses.md'));
    await until(docs(engine), (d) => d.some((x) => x.path.endsWith('hoses.md') && x.status === 'removed'), 'the deletion');
    expect((await engine.invoke('workspace.info', {})).documents).toBe(1);
    await engine.close();

    // Changed while the app was closed: caught up when it starts again (the folder is remembered).
    fs.writeFileSync(path.join(folder, 'hoses.md'), '# Hoses\n\nFire hoses are tested every year at the service pressure.\n');
    fs.rmSync(path.join(folder, 'exits.md'));
    const again = start(wsDir);
    const after = await until(docs(again), (d) => d.some((x) => x.path.endsWith('exits.md') && x.status === 'removed'), 'the catch-up');
    expect(after.map((d) => [path.basename(d.path), d.status])).toEqual([['exits.md', 'removed'], ['hoses.md', 'ready']]);
    expect((await again.invoke('watch.list', {}))[0]!.lastSync!.summary.restored).toEqual([path.join(folder, 'hoses.md')]);

    // Stopping the watch keeps the documents.
    expect(await again.invoke('watch.remove', { path: folder })).toEqual([]);
    expect(await again.invoke('docs.list', {})).toHaveLength(2);
  });

  it('refuses what cannot be watched, naming the folder', async () => {
    const wsDir = tempDir('watch-bad-ws');
    const engine = start(wsDir);
    const file = path.join(tempDir('watch-file'), 'a.md');
    fs.writeFileSync(file, 'x');
    await expect(engine.invoke('watch.add', { path: file })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', path: file, message: expect.stringMatching(/not a folder/) });
    await expect(engine.invoke('watch.add', { path: '/no/such/folder' })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: 'no such folder' });
    await expect(engine.invoke('watch.add', { path: wsDir })).rejects.toThrow(/workspace folder cannot be watched/);
    await expect(engine.invoke('watch.add', { path: path.dirname(wsDir) })).rejects.toThrow(/workspace folder cannot be watched/);
    const outer = tempDir('watch-outer');
    fs.mkdirSync(path.join(outer, 'inner'));
    await engine.invoke('watch.add', { path: path.join(outer, 'inner') });
    await expect(engine.invoke('watch.add', { path: path.join(outer, 'inner') })).rejects.toThrow(/already watched/);
    // A folder around a watched one takes its place.
    expect((await engine.invoke('watch.add', { path: outer })).map((f) => f.path)).toEqual([outer]);
    await expect(engine.invoke('watch.add', { path: path.join(outer, 'inner') })).rejects.toThrow(`already watched as part of ${outer}`);
    await expect(engine.invoke('watch.remove', { path: path.join(outer, 'inner') })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('a watched folder that disappears is an error on the folder, not every document removed', async () => {
    const wsDir = tempDir('watch-gone-ws');
    const folder = tempDir('watch-gone');
    fs.writeFileSync(path.join(folder, 'a.md'), '# A\n\nAlarm pull stations are within five feet of each exit.\n');
    const engine = start(wsDir);
    await engine.invoke('watch.add', { path: folder });
    await until(docs(engine), (d) => d.length === 1, 'the import');
    fs.rmSync(folder, { recursive: true });
    const list = await until(() => engine.invoke('watch.list', {}), (l) => l[0]?.state === 'error', 'the error');
    expect(list[0]!.error).toMatch(/not there any more/);
    expect((await engine.invoke('docs.list', {}))[0]!.status).toBe('ready');
  });
});
