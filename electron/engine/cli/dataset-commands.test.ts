import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ingestPaths } from '../ingest/ingest-files.js';
import { DocumentParser } from '../ingest/parse-pool.js';
import { addQaPairs } from '../store/qa-store.js';
import { Workspace } from '../store/workspace.js';
import { CLI_BIN, doctune } from '../testing/cli.js';
import { REPO_ROOT, tempDir } from '../testing/corpus.js';

interface ListedPair { id: string; question: string; answer: string; status: string; document_id: string | null }

describe('doctune dataset: one pair at a time, one document at a time', () => {
  const dir = tempDir('cli-dataset');
  const ws = path.join(dir, 'ws');
  const list = (...args: string[]): ListedPair[] => {
    const r = doctune('dataset', 'list', '--workspace', ws, '--json', ...args);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as ListedPair[];
  };

  beforeAll(async () => {
    const exits = path.join(dir, 'exits.md');
    fs.writeFileSync(exits, '# Exit routes\n\nKeep exit routes clear of obstructions at all times.\n\n## Doors\n\nExit doors must open from the inside without a key.');
    const fire = path.join(dir, 'fire.md');
    fs.writeFileSync(fire, '# Fire extinguishers\n\nInspect portable fire extinguishers monthly.');
    const parser = new DocumentParser();
    const w = await Workspace.open(ws);
    try {
      await ingestPaths(w, [exits, fire], { parser });
      const docs = await w.listDocuments();
      const rows = [];
      for (const d of docs) {
        for (const c of await w.chunksOf(d.id)) {
          rows.push({ question: `What does "${c.heading.at(-1)}" say?`, answer: c.text, chunk_id: c.id, document_id: d.id, evidence: c.text, language: 'en', source: 'extractive', teacher: null, status: 'pending' as const });
        }
      }
      await addQaPairs(w, rows);
    } finally {
      w.close();
      await parser.close();
    }
  });

  it('accepts, rejects and edits single pairs by id (or the start of one), and keeps --all', () => {
    const pairs = list();
    expect(pairs.length).toBeGreaterThanOrEqual(3);
    const [a, b, c] = pairs as [ListedPair, ListedPair, ListedPair];
    const accepted = doctune('dataset', 'accept', a.id, b.id.slice(0, 8), '--workspace', ws, '--json');
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(JSON.parse(accepted.stdout)).toEqual({ accepted: 2 });
    expect(doctune('dataset', 'reject', c.id, '--workspace', ws).code).toBe(0);
    const edited = doctune('dataset', 'edit', a.id, '--question', 'Must exit routes be kept clear?', '--answer', 'Yes, at all times.', '--workspace', ws, '--json');
    expect(edited.code, edited.stderr).toBe(0);
    expect(JSON.parse(edited.stdout)).toMatchObject({ id: a.id, question: 'Must exit routes be kept clear?', answer: 'Yes, at all times.', status: 'edited' });
    const after = new Map(list().map((p) => [p.id, p]));
    expect(after.get(a.id)).toMatchObject({ status: 'edited', question: 'Must exit routes be kept clear?' });
    expect(after.get(b.id)!.status).toBe('accepted');
    expect(after.get(c.id)!.status).toBe('rejected');
    // The human listing shows the ids to use.
    expect(doctune('dataset', 'list', '--workspace', ws, '--status', 'accepted').stdout).toContain(b.id.slice(0, 8));

    const unknown = doctune('dataset', 'accept', 'ffffffff', '--workspace', ws);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no QA pair "ffffffff"/);
    expect(doctune('dataset', 'accept', '--workspace', ws).code).toBe(2);
    expect(doctune('dataset', 'edit', b.id, '--workspace', ws).code).toBe(2);
    const all = doctune('dataset', 'accept', '--all', '--workspace', ws, '--json');
    expect(JSON.parse(all.stdout)).toEqual({ accepted: pairs.length - 3 });
    expect(list('--status', 'pending')).toEqual([]);
  });

  it('--doc keeps list and export to one document; the export carries each pair\'s source', () => {
    const fire = list('--doc', 'fire.md');
    expect(fire.length).toBeGreaterThan(0);
    expect(new Set(fire.map((p) => p.document_id)).size).toBe(1);
    expect(list('--doc', 'Exit routes').every((p) => p.document_id !== fire[0]!.document_id)).toBe(true);
    expect(doctune('dataset', 'list', '--doc', 'nowhere.pdf', '--workspace', ws).code).toBe(2);

    const out = path.join(dir, 'export', 'fire.json');
    const r = doctune('dataset', 'export', '--workspace', ws, '--format', 'messages', '--status', 'all', '--doc', 'fire.md', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    // JSON Lines go to a .jsonl file.
    const written = path.join(dir, 'export', 'fire.jsonl');
    expect(r.stdout).toContain(written);
    const lines = fs.readFileSync(written, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(fire.length);
    expect(lines[0].source).toMatchObject({ document: 'Fire extinguishers', file: 'fire.md', heading: ['Fire extinguishers'] });
    const info = JSON.parse(fs.readFileSync(path.join(dir, 'export', 'dataset_info.json'), 'utf8'));
    expect(info.fire.file_name).toBe('fire.jsonl');
  });

  it('a listing cut short by the reader (| head -1) ends quietly with 0', () => {
    const big = path.join(dir, 'big.jsonl');
    fs.writeFileSync(big, Array.from({ length: 2000 }, (_, i) => JSON.stringify({ messages: [{ role: 'user', content: `Question ${i} about exit routes?` }, { role: 'assistant', content: `Answer ${i}: ${'keep them clear. '.repeat(4)}` }] })).join('\n'));
    expect(doctune('dataset', 'import', big, '--workspace', ws).code).toBe(0);
    const r = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" --import tsx "${CLI_BIN}" dataset list --workspace "${ws}" | head -1`], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(r.stderr).not.toMatch(/EPIPE|Error/);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(1);
  });
});
