/**
 * Local-teacher throughput: QA outputs per minute with N passages in flight (one context sequence each)
 * against one at a time, same model and passages, same run. Goal: ≥ 4× with 100% parsable outputs.
 * Usage: npm run bench:generate [-- --model M.gguf --parallel 8 --threads 1]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generatePairs } from '../electron/engine/dataset/generate.js';
import { ingestPaths } from '../electron/engine/ingest/ingest-files.js';
import { DocumentParser } from '../electron/engine/ingest/parse-pool.js';
import { Workspace } from '../electron/engine/store/workspace.js';
import { CORPUS, TINY_MODEL } from '../electron/engine/testing/corpus.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const model = arg('--model') ?? TINY_MODEL;
const parallel = Number(arg('--parallel') ?? 8);
const threads = Number(arg('--threads') ?? 1);

async function run(n: number): Promise<{ perMinute: number; outputs: number; unparsable: number; seconds: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'doctune-bench-gen-'));
  const parser = new DocumentParser();
  const ws = await Workspace.open(dir);
  try {
    await ingestPaths(ws, [path.join(CORPUS, 'osha_factsheet_lockout_tagout.pdf'), path.join(CORPUS, 'ready_gov_be_prepared_for_a_tornado.pdf')], { parser });
    const t0 = performance.now();
    const s = await generatePairs(ws, { teacher: { local: model, parallel: n, threads }, questionsPerChunk: 2 });
    const seconds = (performance.now() - t0) / 1000;
    return { perMinute: (s.outputs!.outputs / seconds) * 60, outputs: s.outputs!.outputs, unparsable: s.outputs!.unparsable, seconds };
  } finally {
    await parser.close();
    ws.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const one = await run(1);
const many = await run(parallel);
const ratio = many.perMinute / one.perMinute;
console.log(`local teacher benchmark: ${path.basename(model)}, ${threads} thread(s), CPU`);
console.log(`  1 in flight:  ${one.perMinute.toFixed(0)} outputs/min (${one.outputs} outputs, ${one.unparsable} unparsable, ${one.seconds.toFixed(1)} s)`);
console.log(`  ${parallel} in flight: ${many.perMinute.toFixed(0)} outputs/min (${many.outputs} outputs, ${many.unparsable} unparsable, ${many.seconds.toFixed(1)} s)`);
console.log(`  ratio ${ratio.toFixed(2)}× (goal ≥ 4×)`);
fs.mkdirSync(path.join(import.meta.dirname, 'output'), { recursive: true });
fs.writeFileSync(path.join(import.meta.dirname, 'output', 'generate.json'), JSON.stringify({ model, parallel, threads, one, many, ratio }, null, 2));
