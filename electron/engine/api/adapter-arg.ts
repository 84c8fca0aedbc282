/**
 * An adapter as a request names it (the commands' --adapter): an adapter GGUF file, or the folder of a training run (the
 * adapter its run.json names, else the newest LoRA adapter GGUF in it), or a pipeline's output folder (its
 * run in run/).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { metaString, readGguf } from '../models/gguf/gguf-reader.js';
import { DocTuneError } from '../errors.js';
import { readRunRecord } from '../train/run-record.js';

const isDir = (p: string): Promise<boolean> => fs.stat(p).then((s) => s.isDirectory(), () => false);
const isFile = (p: string): Promise<boolean> => fs.stat(p).then((s) => s.isFile(), () => false);

async function isAdapter(file: string): Promise<boolean> {
  try {
    return metaString(await readGguf(file), 'general.type') === 'adapter';
  } catch {
    return false;
  }
}

/** The adapter of one run folder, or null. */
async function adapterIn(dir: string): Promise<string | null> {
  // No run record: look at the files.
  const run = await readRunRecord(path.join(dir, 'run.json'));
  if (run) {
    const named = path.resolve(dir, run.adapter);
    if (await isFile(named)) return named;
    // A run folder moved since: its adapter by name, beside run.json.
    const beside = path.join(dir, path.basename(run.adapter));
    if (await isFile(beside)) return beside;
  }
  const files = (await fs.readdir(dir).catch(() => [] as string[])).filter((f) => f.toLowerCase().endsWith('.gguf')).map((f) => path.join(dir, f));
  const dated = await Promise.all(files.map(async (f) => ({ f, at: (await fs.stat(f)).mtimeMs })));
  for (const { f } of dated.sort((a, b) => b.at - a.at)) if (await isAdapter(f)) return f;
  return null;
}

export async function resolveAdapterArg(arg: string): Promise<string> {
  const abs = path.resolve(arg);
  if (!(await isDir(abs))) return abs;
  for (const dir of [abs, path.join(abs, 'run')]) {
    if (!(await isDir(dir))) continue;
    const found = await adapterIn(dir);
    if (found) return found;
  }
  throw new DocTuneError('NOT_FOUND', `no LoRA adapter in ${abs}: give an adapter .gguf file, or a training run's folder (with run.json and its adapter-….gguf)`, { path: abs });
}
