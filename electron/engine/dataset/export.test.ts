import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestPaths } from '../ingest/ingest-files.js';
import { DocumentParser } from '../ingest/parse-pool.js';
import { addQaPairs, listQaPairs, pairsFromConversations } from '../store/qa-store.js';
import type { QaPairRow } from '../store/schema.js';
import { Workspace } from '../store/workspace.js';
import { tempDir } from '../testing/corpus.js';
import { readConversations } from './conversation.js';
import { exportPairs, pairSources } from './export.js';

describe('exporting QA pairs', () => {
  const dir = tempDir('export-pairs');
  const parser = new DocumentParser();
  let ws: Workspace;
  let pairs: QaPairRow[] = [];

  beforeAll(async () => {
    const doc = path.join(dir, 'exits.md');
    fs.writeFileSync(doc, '# Exit routes\n\nKeep exit routes clear of obstructions at all times.\n\n## Doors\n\nExit doors must open from the inside without a key.');
    ws = await Workspace.open(path.join(dir, 'ws'));
    await ingestPaths(ws, [doc], { parser });
    const [d] = await ws.listDocuments();
    const chunks = await ws.chunksOf(d!.id);
    await addQaPairs(ws, [
      ...chunks.map((c) => ({ question: `What does "${c.heading.at(-1)}" say?`, answer: c.text, chunk_id: c.id, document_id: d!.id, evidence: c.text, language: 'en', source: 'extractive', teacher: null, status: 'accepted' as const })),
      { question: 'Imported question?', answer: 'Imported answer.', chunk_id: null, document_id: null, evidence: null, language: 'en', source: 'import', status: 'accepted' as const },
    ]);
    pairs = await listQaPairs(ws);
  });
  afterAll(async () => {
    ws.close();
    await parser.close();
  });

  it('writes JSON Lines to .jsonl and JSON arrays to .json, and says where', async () => {
    const out = path.join(dir, 'ext');
    expect(await exportPairs(pairs, 'messages', path.join(out, 'set.json'))).toBe(path.join(out, 'set.jsonl'));
    expect(fs.existsSync(path.join(out, 'set.json'))).toBe(false);
    expect(fs.readFileSync(path.join(out, 'set.jsonl'), 'utf8').trim().split('\n')).toHaveLength(pairs.length);
    expect(await exportPairs(pairs, 'alpaca', path.join(out, 'alpaca.jsonl'))).toBe(path.join(out, 'alpaca.json'));
    expect(Array.isArray(JSON.parse(fs.readFileSync(path.join(out, 'alpaca.json'), 'utf8')))).toBe(true);
    expect(await exportPairs(pairs, 'sharegpt', path.join(out, 'chats'))).toBe(path.join(out, 'chats.json'));
  });

  it('carries where each pair came from (document, file, page, heading), and imports back without loss', async () => {
    const sources = await pairSources(ws, pairs);
    const out = path.join(dir, 'src');
    for (const format of ['alpaca', 'sharegpt', 'messages'] as const) {
      const file = await exportPairs(pairs, format, path.join(out, `set-${format}`), { sources });
      const text = fs.readFileSync(file, 'utf8');
      const items = format === 'messages' ? text.trim().split('\n').map((l) => JSON.parse(l)) : JSON.parse(text);
      expect(items[0].source).toEqual({ document: 'Exit routes', file: 'exits.md', page: null, heading: ['Exit routes'] });
      expect(items.at(-1).source).toEqual({ document: null, file: null, page: null, heading: [] });
      const back = pairsFromConversations(await readConversations(file), 'accepted');
      expect(back.map((p) => [p.question, p.answer])).toEqual(pairs.map((p) => [p.question, p.answer]));
    }
  });

  it("adds its entry to an existing dataset_info.json, keeping the others", async () => {
    const out = path.join(dir, 'info');
    fs.mkdirSync(out);
    const infoFile = path.join(out, 'dataset_info.json');
    const theirs = { alpaca_en_demo: { file_name: 'alpaca_en_demo.json' } };
    fs.writeFileSync(infoFile, JSON.stringify(theirs));
    await exportPairs(pairs, 'alpaca', path.join(out, 'a.json'), { name: 'safety' });
    await exportPairs(pairs, 'messages', path.join(out, 'm.jsonl'), { name: 'safety-chat' });
    let info = JSON.parse(fs.readFileSync(infoFile, 'utf8'));
    expect(Object.keys(info)).toEqual(['alpaca_en_demo', 'safety', 'safety-chat']);
    expect(info.alpaca_en_demo).toEqual(theirs.alpaca_en_demo);
    expect(info.safety).toEqual({ file_name: 'a.json', columns: { prompt: 'instruction', query: 'input', response: 'output' } });
    expect(info['safety-chat'].file_name).toBe('m.jsonl');
    // The same name again: that entry replaced, the rest as they were.
    await exportPairs(pairs, 'sharegpt', path.join(out, 'a2.json'), { name: 'safety' });
    info = JSON.parse(fs.readFileSync(infoFile, 'utf8'));
    expect(info.safety.file_name).toBe('a2.json');
    expect(Object.keys(info)).toHaveLength(3);
  });

  it('leaves a damaged dataset_info.json as it is and writes nothing', async () => {
    const out = path.join(dir, 'damaged');
    fs.mkdirSync(out);
    const infoFile = path.join(out, 'dataset_info.json');
    fs.writeFileSync(infoFile, '{"mine": {"file_name": "x.json"}, oops');
    await expect(exportPairs(pairs, 'alpaca', path.join(out, 'a.json'))).rejects.toThrow(/dataset_info\.json is not a JSON object.*nothing was written/);
    expect(fs.readFileSync(infoFile, 'utf8')).toBe('{"mine": {"file_name": "x.json"}, oops');
    expect(fs.existsSync(path.join(out, 'a.json'))).toBe(false);
  });
});
