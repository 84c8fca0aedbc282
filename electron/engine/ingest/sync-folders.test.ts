import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { acceptedConversations, addQaPairs, listQaPairs, sourceState } from '../store/qa-store.js';
import { searchWorkspace } from '../store/search.js';
import { Workspace } from '../store/workspace.js';
import { tempDir } from '../testing/corpus.js';
import { DocumentParser } from './parse-pool.js';
import { syncFolders } from './sync-folders.js';

const EXTINGUISHERS = '# Extinguishers\n\nPortable extinguishers are inspected monthly and the tag is signed by the inspector.\n';
const LADDERS = '# Ladders\n\nA ladder is set at one foot out for every four feet of height, on firm and level footing.\n';
const EXITS = '# Exits\n\nExit routes stay clear of stored material at all times, and exit doors open from the inside without keys.\n';

describe('keeping a workspace in step with a folder', () => {
  const parser = new DocumentParser();
  afterAll(() => parser.close());
  let folder: string;
  let ws: Workspace;
  const sync = (changes?: { changed: string[]; removed: string[] }) => syncFolders(ws, [folder], { parser }, changes);
  const write = (name: string, text: string): string => {
    const file = path.join(folder, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    return file;
  };
  /** One accepted pair per passage of the document, as a review would leave them. */
  const pairsFor = async (file: string): Promise<void> => {
    const doc = (await ws.documentByPath(file))!;
    const chunks = await ws.chunksOf(doc.id);
    await addQaPairs(ws, chunks.map((c) => ({
      question: `What does ${path.basename(file)} say?`, answer: c.text, chunk_id: c.id, document_id: doc.id, evidence: c.text.slice(0, 40),
      language: 'en', source: 'extractive', status: 'accepted',
    })));
  };
  const states = async (): Promise<Record<string, string>> => {
    const docs = new Map((await ws.listDocuments()).map((d) => [d.id, d]));
    return Object.fromEntries((await listQaPairs(ws)).map((p) => [p.question, sourceState(p, docs)]));
  };

  beforeEach(async () => {
    folder = tempDir('watched');
    ws = await Workspace.open(tempDir('watched-ws'));
  });
  afterEach(() => ws.close());

  it('a deleted file leaves search and training, but its document, passages and QA pairs stay, marked', async () => {
    const a = write('extinguishers.md', EXTINGUISHERS);
    write('ladders.md', LADDERS);
    expect(await sync()).toMatchObject({ documents: 2, removed: [], renamed: [], restored: [] });
    await pairsFor(a);
    const before = (await ws.documentByPath(a))!;
    fs.rmSync(a);

    const summary = await sync();
    expect(summary).toMatchObject({ documents: 0, unchanged: 1, removed: [a] });
    const after = (await ws.documentByPath(a))!;
    expect(after).toMatchObject({ id: before.id, status: 'removed' });
    expect(await ws.chunksOf(before.id)).toHaveLength(before.chunks); // passages kept for the pairs
    expect(Object.values(await states())).toEqual(['removed']);
    expect((await searchWorkspace(ws, 'extinguishers inspected monthly', 5)).map((h) => h.path)).not.toContain(a);
    expect(await acceptedConversations(ws)).toMatchObject({ conversations: [], leftOut: 1 });
    expect((await ws.counts()).documents).toBe(1);

    // Reopening keeps the removed document's passages (they are not orphans).
    ws.close();
    ws = await Workspace.open(ws.dir);
    expect(await ws.chunksOf(before.id)).toHaveLength(before.chunks);
    // A sync with nothing new changes nothing.
    expect(await sync()).toMatchObject({ documents: 0, removed: [] });
  });

  it('a renamed or moved file keeps its document and pairs; a removed file that comes back is ready again', async () => {
    const a = write('extinguishers.md', EXTINGUISHERS);
    await sync();
    await pairsFor(a);
    const id = (await ws.documentByPath(a))!.id;

    const moved = path.join(folder, 'archive', 'fire-extinguishers.md');
    fs.mkdirSync(path.dirname(moved));
    fs.renameSync(a, moved);
    expect(await sync({ changed: [path.dirname(moved)], removed: [a] })).toMatchObject({ documents: 0, removed: [], renamed: [{ from: a, to: moved }] });
    expect(await ws.documentByPath(a)).toBeNull();
    // The title was the file's name (no heading line), so it follows; this one has a heading and keeps it.
    expect(await ws.documentByPath(moved)).toMatchObject({ id, status: 'ready', title: 'Extinguishers' });
    expect(Object.values(await states())).toEqual(['current']);

    fs.rmSync(moved);
    expect((await sync({ changed: [], removed: [moved] })).removed).toEqual([moved]);
    fs.writeFileSync(moved, EXTINGUISHERS);
    expect(await sync({ changed: [moved], removed: [] })).toMatchObject({ documents: 0, restored: [moved] });
    expect(await ws.documentByPath(moved)).toMatchObject({ id, status: 'ready' });
    expect(Object.values(await states())).toEqual(['current']);
    expect((await acceptedConversations(ws)).conversations).toHaveLength(1);
  });

  it('a changed file is imported again: pairs on passages still there follow them, the others read as changed', async () => {
    const a = write('safety.md', `${EXTINGUISHERS}\n${LADDERS}`);
    await ws.updateSettings({ chunkTokens: 32, chunkOverlap: 0 });
    await sync();
    const doc = (await ws.documentByPath(a))!;
    const chunks = await ws.chunksOf(doc.id);
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    const ladder = chunks.find((c) => c.text.includes('ladder'))!;
    const extinguisher = chunks.find((c) => c.text.includes('extinguishers'))!;
    for (const [q, c] of [['ladder?', ladder], ['extinguisher?', extinguisher]] as const) {
      await addQaPairs(ws, [{ question: q, answer: c.text, chunk_id: c.id, document_id: doc.id, evidence: null, language: 'en', source: 'extractive', status: 'accepted' }]);
    }

    // The ladder section is rewritten; the extinguisher one is untouched.
    fs.writeFileSync(a, `${EXTINGUISHERS}\n${LADDERS.replace('one foot out for every four feet', 'a 4:1 angle')}\n${EXITS}`);
    const summary = await sync({ changed: [a], removed: [] });
    expect(summary).toMatchObject({ documents: 1, removed: [] });
    const now = (await ws.documentByPath(a))!;
    expect(now.id).not.toBe(doc.id);
    expect(await ws.chunksOf(doc.id)).toEqual([]); // the old version's passages are replaced
    expect(await states()).toEqual({ 'ladder?': 'changed', 'extinguisher?': 'current' });
    const pairs = await listQaPairs(ws);
    expect(pairs.every((p) => p.document_id === now.id)).toBe(true);
    const follows = pairs.find((p) => p.question === 'extinguisher?')!;
    expect((await ws.chunkById(follows.chunk_id!))!.text).toBe(extinguisher.text);
    // A changed passage's pair still trains (the reviewer decides); only removed documents are left out.
    expect((await acceptedConversations(ws)).leftOut).toBe(0);
  });

  it('a deleted folder marks every document in it; a failed file that is gone is forgotten; other folders are untouched', async () => {
    const sub = path.join(folder, 'ladders');
    const b = write('ladders/ladders.md', LADDERS);
    const c = write('ladders/exits.md', EXITS);
    const bad = write('broken.pdf', 'not a pdf at all');
    const elsewhere = tempDir('elsewhere');
    fs.writeFileSync(path.join(elsewhere, 'extinguishers.md'), EXTINGUISHERS);
    await syncFolders(ws, [elsewhere], { parser });
    const first = await sync();
    expect(first.errors.map((e) => e.path)).toEqual([bad]);
    expect((await ws.documentByPath(bad))?.status).toBe('error');

    fs.rmSync(sub, { recursive: true });
    fs.rmSync(bad);
    const summary = await sync({ changed: [], removed: [sub, bad] });
    expect(summary.removed.sort()).toEqual([c, b].sort());
    expect(await ws.documentByPath(bad)).toBeNull();
    expect((await ws.listDocuments()).map((d) => [path.basename(d.path), d.status])).toEqual([
      ['extinguishers.md', 'ready'], ['exits.md', 'removed'], ['ladders.md', 'removed'],
    ]);
  });

  it('an event is only a hint: a path reported deleted that is still there stays', async () => {
    const a = write('extinguishers.md', EXTINGUISHERS);
    await sync();
    expect(await sync({ changed: [], removed: [a, folder] })).toMatchObject({ removed: [] });
    expect((await ws.documentByPath(a))?.status).toBe('ready');
  });

  it('a file moved onto an existing name is imported with its new content, not skipped as a copy', async () => {
    const a = write('draft.md', EXTINGUISHERS);
    const b = write('final.md', LADDERS);
    await sync();
    fs.renameSync(a, b); // final.md now holds the extinguisher text
    const summary = await sync({ changed: [b], removed: [a] });
    expect(summary).toMatchObject({ documents: 1, removed: [a], skipped: [] });
    expect((await ws.chunksOf((await ws.documentByPath(b))!.id))[0]!.text).toMatch(/extinguishers/);
    expect((await ws.documentByPath(a))?.status).toBe('removed');
  });

  it('a copy made in one sync and the original deleted in the next: the copy takes the document over', async () => {
    const a = write('extinguishers.md', EXTINGUISHERS);
    const twins = new Map<string, string>();
    await syncFolders(ws, [folder], { parser, twins });
    await pairsFor(a);
    const id = (await ws.documentByPath(a))!.id;
    const copy = write('archive/extinguishers.md', EXTINGUISHERS);
    const first = await syncFolders(ws, [folder], { parser, twins }, { changed: [copy], removed: [] });
    expect(first.skipped).toEqual([{ path: copy, reason: `same content as ${a}, already imported` }]);
    fs.rmSync(a);
    const second = await syncFolders(ws, [folder], { parser, twins }, { changed: [], removed: [a] });
    expect(second).toMatchObject({ removed: [], renamed: [{ from: a, to: copy }] });
    expect(await ws.documentByPath(copy)).toMatchObject({ id, status: 'ready' });
    expect(Object.values(await states())).toEqual(['current']);
  });

  it('a full sync removes nothing a walk merely skips, and refuses a folder that looks unmounted', async () => {
    const readme = write('README.md', '# About\n\nThis folder holds the site safety manuals and nothing else of note here.\n');
    write('ladders.md', LADDERS);
    // Imported as a file of its own (a watcher reports it by name); a walk of the folder skips READMEs.
    await sync({ changed: [readme, path.join(folder, 'ladders.md')], removed: [] });
    expect(await sync()).toMatchObject({ removed: [] });
    expect((await ws.documentByPath(readme))?.status).toBe('ready');

    for (const f of fs.readdirSync(folder)) fs.rmSync(path.join(folder, f));
    await expect(sync()).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(/not mounted/) });
    expect((await ws.listDocuments()).every((d) => d.status === 'ready')).toBe(true);
    fs.rmSync(folder, { recursive: true });
    await expect(sync({ changed: [], removed: [folder] })).rejects.toMatchObject({ code: 'NOT_FOUND', path: folder });
    expect((await ws.listDocuments()).every((d) => d.status === 'ready')).toBe(true);
  });

  it('pairs whose document id is gone (workspaces from before) read as changed and still train', async () => {
    await addQaPairs(ws, [{ question: 'old?', answer: 'an answer', chunk_id: 'gone:0', document_id: 'gone', evidence: null, language: 'en', source: 'extractive', status: 'accepted' }]);
    expect(await states()).toEqual({ 'old?': 'changed' });
    expect(await acceptedConversations(ws)).toMatchObject({ leftOut: 0, conversations: [[{ content: 'old?' }, { content: 'an answer' }]] });
  });
});

