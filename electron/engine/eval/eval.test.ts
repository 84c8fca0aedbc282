import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestPaths } from '../ingest/ingest-files.js';
import { DocumentParser } from '../ingest/parse-pool.js';
import { Workspace } from '../store/workspace.js';
import { REPO_ROOT, tempDir, TINY_MODEL } from '../testing/corpus.js';
import { STORY_QA as QA } from '../testing/qa-fixtures.js';
import { DEFAULT_TRAIN_CONFIG } from '../train/train-config.js';
import { runTraining } from '../train/train-supervisor.js';
import { ApiTeacher } from '../dataset/api-teacher.js';
import { startChatServer } from '../testing/chat-completions-server.js';
import { runEval } from './run-eval.js';
import { exactMatch, tokenF1 } from './score.js';


const doctune = async (...args: string[]): Promise<string> =>
  (await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'electron/engine/cli/bin.ts'), ...args], { cwd: REPO_ROOT })).stdout;

describe('evaluation, chat with retrieval, and the report', () => {
  const dir = tempDir('eval');
  const parser = new DocumentParser();
  let adapter = '';
  let ws: Workspace;

  beforeAll(async () => {
    const data = path.join(dir, 'qa.jsonl');
    fs.writeFileSync(data, QA.map(([instruction, output]) => JSON.stringify({ instruction, output })).join('\n'));
    const result = await runTraining({
      config: { ...DEFAULT_TRAIN_CONFIG, modelPath: TINY_MODEL, device: 'cpu', epochs: 20, lr: 7e-3, batch: 2, evalSplit: 0.25, threads: 1 },
      dataFile: data, outDir: path.join(dir, 'run'),
    });
    adapter = result.adapter;
    const doc = path.join(dir, 'stories.md');
    fs.writeFileSync(doc, `# Stories\n\n${QA.map(([, a]) => a).join(' ')}`);
    ws = await Workspace.open(path.join(dir, 'ws'));
    await ingestPaths(ws, [doc], { parser });
  });
  afterAll(async () => {
    await parser.close();
    ws?.close();
  });

  it('records the held-out pairs, scores four variants and writes a report with a chart', async () => {
    const run = JSON.parse(fs.readFileSync(path.join(dir, 'run', 'run.json'), 'utf8'));
    expect(run.held_out).toHaveLength(2);
    const r = await runEval({ modelPath: TINY_MODEL, adapterPath: adapter, workspace: ws, rag: true, lang: 'en' });
    expect(r.n).toBe(2);
    // Two questions are no measure, and the run's eight examples split 6 / 2 say why there are so few.
    expect(r.reliability).toBe('insufficient');
    expect(r.warning).toMatch(/Only 2 questions were scored: the score cannot be read as a measure/);
    expect(r.examples).toEqual({ train: 6, eval: 2 });
    const variants = ['base', 'adapted', 'base_rag', 'adapted_rag'] as const;
    for (const item of r.items) {
      for (const v of variants) {
        // Each variant answered, and its score is the F1 of that answer against the reference.
        expect(item.answers[v].length, `${v}: ${item.question}`).toBeGreaterThan(0);
        expect(item.f1[v]).toBe(tokenF1(item.answers[v], item.reference));
        expect(item.em[v]).toBe(exactMatch(item.answers[v], item.reference));
      }
    }
    // Four different models of answering: the adapter and the retrieved passages each change what is said.
    expect(r.items.some((x) => x.answers.adapted !== x.answers.base)).toBe(true);
    expect(r.items.some((x) => x.answers.base_rag !== x.answers.base)).toBe(true);
    expect(r.items.some((x) => x.answers.adapted_rag !== x.answers.adapted)).toBe(true);
    for (const v of variants) {
      expect(r[v].f1).toBeCloseTo(r.items.reduce((a, x) => a + x.f1[v], 0) / r.items.length, 12);
      expect(r[v].em).toBeCloseTo(r.items.reduce((a, x) => a + x.em[v], 0) / r.items.length, 12);
    }
    expect(r.items.every((x) => x.citations.length > 0 && x.citations[0]!.title === 'Stories')).toBe(true);
    const html = fs.readFileSync(r.report, 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('data-testid="report-reliability"');
    expect(html).toContain('Training held out 2 of its 8 examples (6 trained on); 2 questions are scored here.');
    expect((html.match(/<rect /g) ?? []).length).toBe(8); // F1 and EM for four variants
    expect(html).toContain(r.items[0]!.question.replace("'", '&#39;'));
    expect(fs.existsSync(r.report.replace(/\.html$/, '.json'))).toBe(true);
  });

  it('doctune eval --json and doctune chat --compare --rag --json follow the contract', async () => {
    const scores = JSON.parse(await doctune('eval', '--workspace', ws.dir, '--model', TINY_MODEL, '--adapter', adapter, '--rag', '--json'));
    expect(Object.keys(scores).sort()).toEqual(['adapted', 'adapted_rag', 'base', 'base_rag', 'examples', 'judge', 'n', 'rag', 'reliability', 'report', 'warning']);
    expect(scores.reliability).toBe('insufficient');
    const text = await doctune('eval', '--model', TINY_MODEL, '--adapter', adapter);
    // The warning and why examples and questions differ come before the scores.
    expect(text).toMatch(/^2 held-out questions\nwarning: Only 2 questions were scored: the score cannot be read as a measure[^\n]*\nTraining held out 2 of its 8 examples[^\n]*\nbase /);
    expect(scores.adapted).toEqual({ f1: expect.any(Number), em: expect.any(Number), judge: null });
    expect(scores.rag).toBe(true);
    const chat = JSON.parse(await doctune('chat', '--model', TINY_MODEL, '--adapter', adapter, '--prompt', QA[0]![0], '--compare', '--rag', '--workspace', ws.dir, '--greedy', '--json'));
    expect(typeof chat.answer).toBe('string');
    expect(typeof chat.base_answer).toBe('string');
    expect(chat.answer).not.toBe(chat.base_answer); // the adapter changes the output
    const chunkIds = new Set((await ws.allChunks()).map((c) => c.id));
    expect(chat.citations.length).toBeGreaterThan(0);
    for (const c of chat.citations) expect(chunkIds.has(c.chunkId)).toBe(true);
  });

  it('grades the answers with a judge model over the OpenAI API, and says when the judge cannot be used', async () => {
    const server = await startChatServer({ modelPath: TINY_MODEL, apiKey: 'judge-key' });
    try {
      const r = await runEval({ modelPath: TINY_MODEL, adapterPath: adapter, judge: { teacher: new ApiTeacher({ baseUrl: server.url, model: 'stories', apiKey: 'judge-key' }), name: 'stories' } });
      expect(r.judge).toBe('stories');
      for (const item of r.items) {
        for (const v of ['base', 'adapted'] as const) {
          const g = item.judge[v];
          // The server honours the grade's JSON schema with a grammar: an integer 1–5 (or 1 for no answer).
          expect(g === null || (Number.isInteger(g) && g >= 1 && g <= 5)).toBe(true);
        }
        expect(item.judge.base_rag).toBeNull(); // not run without --rag
      }
      const graded = r.items.map((x) => x.judge.adapted).filter((g): g is number => g !== null);
      expect(r.adapted.judge).toBeCloseTo(graded.reduce((a, g) => a + (g - 1) / 4, 0) / graded.length, 10);
      const html = fs.readFileSync(r.report, 'utf8');
      expect(html).toContain('Judge (stories)');
      expect((html.match(/<rect /g) ?? []).length).toBe(6); // F1, EM and judge for two variants

      const refused = await runEval({ modelPath: TINY_MODEL, adapterPath: adapter, maxQuestions: 1, judge: { teacher: new ApiTeacher({ baseUrl: server.url, model: 'stories', apiKey: 'wrong' }), name: 'stories' } });
      expect(refused.failures.join('\n')).toMatch(/judge stories: .*401.*no grades are reported/);
      expect(refused.adapted.judge).toBeNull();
    } finally {
      await server.close();
    }
  });
});
