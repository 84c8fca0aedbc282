/**
 * Quality of the extractive teacher (no model) on the shared corpus: pairs per page, the share of
 * templated questions (a generic wrapper around a quoted heading or phrase), statute articles covered, what
 * kinds of question it asks, and a fixed random sample of 30 pairs to read, written to
 * bench/output/extractive-sample.md. Not a speed benchmark: it is how the generated training data is judged.
 * Usage: npm run bench:extractive
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generatePairs } from '../electron/engine/dataset/generate.js';
import { ingestPaths } from '../electron/engine/ingest/ingest-files.js';
import { DocumentParser } from '../electron/engine/ingest/parse-pool.js';
import { listQaPairs } from '../electron/engine/store/qa-store.js';
import { Workspace } from '../electron/engine/store/workspace.js';
import { CORPUS } from '../electron/engine/testing/corpus.js';

/** Generic wrappers: the question says nothing of the content, only quotes a heading or a phrase. */
const TEMPLATES = [
  /^What does the guidance on ".*" say\?$/u,
  /^Which points are listed under ".*"\?$/u,
  /^In the table.*what is given for ".*"\?$/u,
  /^What exactly is required where the text says ".*"\?$/u,
  /^What does ".*" (?:say|cover)\?$/u,
  // The plainer question for a section no rule found a question for.
  /^What does .* say about .*\?$/u,
  /^关于“.*”，有哪些规定？$/u,
  /^“.*”包括哪些内容？$/u,
  /^表中“.*”一项是什么？$/u,
  /^“.*……”这一要求的具体内容是什么？$/u,
];
const ARTICLE_QUESTION = /^《.*》第[一二三四五六七八九十百千零〇]+条是怎样规定的？$/u;
const ARTICLE = /(?:^|[\s\u3000])(第[一二三四五六七八九十百千零〇]+条)(?=[\s\u3000])/gu;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'doctune-extractive-'));
const parser = new DocumentParser();
try {
  const ws = await Workspace.open(dir);
  const ingest = await ingestPaths(ws, [CORPUS], { parser });
  if (ingest.errors.length) throw new Error(`ingest failed: ${JSON.stringify(ingest.errors)}`);
  const generated = await generatePairs(ws, { teacher: 'extractive' });
  const docs = await ws.committedDocumentIds();
  const chunks = new Map((await ws.allChunks()).map((c) => [c.id, c]));
  const pairs = await listQaPairs(ws);
  const pages = [...docs.values()].reduce((n, d) => n + (d.pages ?? 1), 0);
  const templated = pairs.filter((p) => TEMPLATES.some((t) => t.test(p.question)));
  const articleQuestions = pairs.filter((p) => ARTICLE_QUESTION.test(p.question));

  // Statute articles: every 第…条 in the statutes' passages, and those some pair is about.
  const statutes = [...docs.values()].filter((d) => d.language === 'zh');
  const articles = new Map<string, Set<string>>();
  for (const c of chunks.values()) {
    const d = docs.get(c.document_id);
    if (!d || !statutes.includes(d)) continue;
    for (const m of c.text.matchAll(ARTICLE)) (articles.get(d.title) ?? articles.set(d.title, new Set()).get(d.title)!).add(m[1]!);
  }
  const covered = new Map<string, Set<string>>();
  for (const p of pairs) {
    const d = docs.get(p.document_id ?? '');
    if (!d || !articles.has(d.title)) continue;
    for (const m of `${p.question} ${p.evidence ?? ''}`.matchAll(/第[一二三四五六七八九十百千零〇]+条/gu)) (covered.get(d.title) ?? covered.set(d.title, new Set()).get(d.title)!).add(m[0]);
  }

  const byDoc = [...docs.values()].map((d) => {
    const own = pairs.filter((p) => p.document_id === d.id);
    return { title: d.title, pages: d.pages, pairs: own.length, templated: own.filter((p) => TEMPLATES.some((t) => t.test(p.question))).length };
  });
  const result = {
    date: new Date().toISOString(),
    documents: docs.size,
    pages,
    passages: chunks.size,
    pairs: pairs.length,
    pairs_per_page: Number((pairs.length / pages).toFixed(2)),
    templated: templated.length,
    templated_share: Number((templated.length / Math.max(1, pairs.length)).toFixed(3)),
    article_questions: articleQuestions.length,
    articles: Object.fromEntries([...articles].map(([t, s]) => [t, { articles: s.size, covered: [...s].filter((a) => covered.get(t)?.has(a)).length }])),
    english: (() => {
      const en = pairs.filter((p) => p.language !== 'zh');
      const enPages = [...docs.values()].filter((d) => d.language !== 'zh').reduce((n, d) => n + (d.pages ?? 1), 0);
      return {
        pairs: en.length,
        pages: enPages,
        pairs_per_page: Number((en.length / Math.max(1, enPages)).toFixed(2)),
        templated_share: Number((en.filter((p) => TEMPLATES.some((t) => t.test(p.question))).length / Math.max(1, en.length)).toFixed(3)),
        answer_words_median: median(en.map((p) => p.answer.split(/\s+/).length)),
      };
    })(),
    chinese_answer_chars_median: median(pairs.filter((p) => p.language === 'zh').map((p) => p.answer.length)),
    duplicates_dropped: generated.duplicates,
    rejected_ungrounded: generated.rejected_ungrounded,
    by_document: byDoc,
  };
  console.log(JSON.stringify(result, null, 2));

  // Fixed samples (a seeded shuffle) to read.
  let seed = 20261204;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const draw = (from: typeof pairs, n: number): typeof pairs => from.map((p) => ({ p, k: rand() })).sort((a, b) => a.k - b.k).slice(0, n).map(({ p }) => p);
  // English and Chinese apart: the statutes' many articles would otherwise fill the sample.
  const sample = [...draw(pairs.filter((p) => p.language !== 'zh'), 30), ...draw(pairs.filter((p) => p.language === 'zh'), 10)];
  const lines = ['# Extractive teacher: 30 English and 10 Chinese pairs drawn at random from the shared corpus', ''];
  for (const [i, p] of sample.entries()) {
    const c = p.chunk_id ? chunks.get(p.chunk_id) : undefined;
    lines.push(`## ${i + 1}. ${p.question}`, '', `*${docs.get(p.document_id ?? '')?.title ?? '?'}, p. ${c?.page ?? '?'}, ${c?.heading.join(' > ') ?? ''}*`, '', p.answer, '');
  }
  fs.mkdirSync(path.join('bench', 'output'), { recursive: true });
  fs.writeFileSync(path.join('bench', 'output', 'extractive-sample.md'), lines.join('\n'));
  fs.mkdirSync(path.join('bench', 'results'), { recursive: true });
  fs.writeFileSync(path.join('bench', 'results', 'extractive.json'), `${JSON.stringify(result, null, 2)}\n`);
  ws.close();
} finally {
  await parser.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}
