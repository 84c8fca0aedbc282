import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectLanguage } from '../text/detect-language.js';
import { ingestPaths } from '../ingest/ingest-files.js';
import { DocumentParser } from '../ingest/parse-pool.js';
import fs from 'node:fs';
import path from 'node:path';
import { listQaPairs, pairsFromConversations } from '../store/qa-store.js';
import { readConversations } from './conversation.js';
import { exportPairs } from './export.js';
import { Workspace } from '../store/workspace.js';
import { CORPUS, tempDir, TINY_MODEL } from '../testing/corpus.js';
import { LocalTeacher } from './local-teacher.js';
import { acceptAllPending, generatePairs } from './generate.js';
import { isGrounded } from './evidence.js';
import { NearDuplicateFilter, rougeL } from './rouge.js';

describe('ROUGE-L and the near-duplicate filter', () => {
  it('scores word overlap in English and character overlap in Chinese', () => {
    expect(rougeL('What must an energy-control procedure include?', 'What must an energy-control procedure include?')).toBe(1);
    expect(rougeL('the cat sat', 'the dog sat')).toBeCloseTo(2 / 3);
    expect(rougeL('治安管理处罚', '治安管理')).toBeCloseTo(0.8);
    expect(rougeL('', 'x')).toBe(0);
  });

  it('drops repeated questions and near-identical pairs, keeps template questions about different things', () => {
    const f = new NearDuplicateFilter();
    expect(f.admit('What does the guidance on "Lockout" say?', 'Apply a lock to the energy-isolating device.')).toBe(true);
    expect(f.admit('What does the guidance on "Tagout" say?', 'Attach a tag warning others not to operate it.')).toBe(true);
    expect(f.admit('What does the guidance on "Lockout" say?', 'Something else entirely.')).toBe(false);
    expect(f.admit('What does the guidance on "Lock out" say?', 'Apply a lock to the energy-isolating device.')).toBe(false);
  });
});

describe('doctune generate --teacher extractive on the real corpus', () => {
  const parser = new DocumentParser();
  let ws: Workspace;

  beforeAll(async () => {
    ws = await Workspace.open(tempDir('gen'));
    await ingestPaths(ws, [CORPUS], { parser });
  });
  afterAll(async () => {
    await parser.close();
    ws.close();
  });

  it('gives grounded pairs for every document, Chinese pairs for Chinese documents, no duplicate questions', async () => {
    const summary = await generatePairs(ws, { teacher: 'extractive' });
    expect(summary.failed).toBe(0);
    expect(summary.pairs).toBeGreaterThan(100);
    const pairs = await listQaPairs(ws);
    expect(pairs.length).toBe(summary.pairs);
    const docs = await ws.listDocuments();
    const chunks = new Map((await ws.allChunks()).map((c) => [c.id, c]));
    for (const d of docs) expect(pairs.filter((p) => p.document_id === d.id).length, d.title).toBeGreaterThan(0);
    for (const p of pairs) {
      expect(chunks.get(p.chunk_id!)!.text).toContain(p.evidence);
      expect(p.status).toBe('pending');
    }
    for (const d of docs.filter((x) => x.language === 'zh')) {
      for (const p of pairs.filter((x) => x.document_id === d.id)) expect(detectLanguage(p.question + p.answer)).toBe('zh');
    }
    expect(new Set(pairs.map((p) => p.question)).size).toBe(pairs.length);
  });

  it('resumes without redoing passages, and accepting makes them training data', async () => {
    const again = await generatePairs(ws, { teacher: 'extractive' });
    expect(again.pairs).toBe(0);
    const accepted = await acceptAllPending(ws);
    expect(accepted).toBe((await listQaPairs(ws, 'accepted')).length);
    expect(await listQaPairs(ws, 'pending')).toEqual([]);
  });

  it('exports in three formats that import back without loss', async () => {
    const pairs = await listQaPairs(ws, 'accepted');
    const dir = tempDir('export');
    for (const format of ['alpaca', 'sharegpt', 'messages'] as const) {
      const file = path.join(dir, `set-${format}.${format === 'messages' ? 'jsonl' : 'json'}`);
      await exportPairs(pairs, format, file);
      const back = pairsFromConversations(await readConversations(file), 'accepted');
      expect(back.map((p) => [p.question, p.answer])).toEqual(pairs.map((p) => [p.question, p.answer]));
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'dataset_info.json'), 'utf8')).doctune.file_name).toBe(path.basename(file));
    }
  });
});

describe('local GGUF teacher (plumbing on stories260K)', () => {
  it('every output parses and validates against its JSON schema; ungrounded answers are rejected', async () => {
    const parser = new DocumentParser();
    const ws = await Workspace.open(tempDir('local-teacher'));
    try {
      await ingestPaths(ws, [path.join(CORPUS, 'osha_factsheet_lockout_tagout.pdf')], { parser });
      const summary = await generatePairs(ws, { teacher: { local: TINY_MODEL, parallel: 4, threads: 1 }, questionsPerChunk: 2 });
      expect(summary.chunks).toBeGreaterThan(3);
      expect(summary.outputs!.outputs).toBeGreaterThanOrEqual(summary.chunks);
      expect(summary.outputs!.unparsable).toBe(0);
      expect(summary.failed).toBe(0);
      // A 260K-parameter story model cannot quote the passage: its answers must not get through. The filter
      // saw questions and turned ungrounded ones away; whatever survived is grounded in its passage.
      expect(summary.questions).toBeGreaterThan(0);
      expect(summary.rejected_ungrounded).toBeGreaterThan(0);
      const chunks = new Map((await ws.allChunks()).map((c) => [c.id, c]));
      const stored = await listQaPairs(ws);
      expect(stored).toHaveLength(summary.pairs);
      for (const p of stored) expect(isGrounded(p.evidence!, chunks.get(p.chunk_id!)!.text)).toBe(true);
      expect(summary.pairs + summary.rejected_ungrounded + summary.duplicates).toBe(summary.questions);
    } finally {
      await parser.close();
      ws.close();
    }
  });

  it('grades an answer 1–5 through its grammar, English and Chinese alike', async () => {
    const teacher = await LocalTeacher.load(TINY_MODEL, { parallel: 1, threads: 1 });
    try {
      for (const [q, ref, answer] of [['What color is the ball?', 'Red.', 'It is blue.'], ['球是什么颜色？', '红色。', '蓝色。']] as const) {
        const grade = await teacher.judge(q, ref, answer);
        expect([1, 2, 3, 4, 5]).toContain(grade);
      }
      expect(teacher.stats.unparsable).toBe(0);
    } finally {
      await teacher.dispose();
    }
  });

  it('grounds an answer only on evidence the passage contains', () => {
    const passage = 'Employers must develop, document, and use procedures\nto control potentially hazardous energy.';
    expect(isGrounded('use procedures to control potentially hazardous energy', passage)).toBe(true);
    expect(isGrounded('Lily went to the park with her mom.', passage)).toBe(false);
    expect(isGrounded('use', passage)).toBe(false);
  });
});
