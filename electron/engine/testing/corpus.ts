import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The shared test data beside the repository (real documents and a tiny real GGUF model). */
export const SHARED = process.env.DOCTUNE_SHARED ?? path.resolve(root, '../shared');
export const CORPUS = path.join(SHARED, 'corpus');
export const TINY_MODEL = path.join(SHARED, 'models', 'stories260K.gguf');
export const REPO_ROOT = root;

export function corpusFile(name: string): string {
  const p = path.join(CORPUS, name);
  if (!fs.existsSync(p)) throw new Error(`test data missing: ${p} (expected ../shared beside the repository)`);
  return p;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `doctune-${prefix}-`));
}
