/** The workspaces browser-mode groups start from, seeded through the built CLI. */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { corpusFile, REPO_ROOT } from '../electron/engine/testing/corpus.js';

/** The documents most groups work on: the lockout booklet and fact sheet, and a Chinese statute. */
export const SEED_DOCUMENTS = ['osha3120_control_of_hazardous_energy_lockout_tagout.pdf', 'osha_factsheet_lockout_tagout.pdf', '治安管理处罚法(2012-10-26).md'];

/** The built CLI, as a user runs it. */
export async function doctuneCli(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(REPO_ROOT, 'bin', 'doctune.js'), ...args], {
    cwd: REPO_ROOT, env: { ...process.env, GGML_NO_BACKTRACE: '1' }, maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

/** SEED_DOCUMENTS imported; and a copy with QA pairs from the extractive teacher, pending review. */
export async function makeTemplates(dir: string): Promise<{ documents: string; pairs: string }> {
  const documents = path.join(dir, 'documents');
  await doctuneCli('ingest', ...SEED_DOCUMENTS.map(corpusFile), '--workspace', documents, '--json');
  const pairs = path.join(dir, 'pairs');
  fs.cpSync(documents, pairs, { recursive: true });
  await doctuneCli('generate', '--teacher', 'extractive', '--questions-per-chunk', '2', '--workspace', pairs, '--json');
  return { documents, pairs };
}
