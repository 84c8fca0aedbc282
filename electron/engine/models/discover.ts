/**
 * GGUF models the user already has: DocTune's own downloads, Ollama's model store (manifests naming
 * content-addressed blobs) and LM Studio's models folder. They are used in place, never copied; each is
 * checked with DocTune's GGUF reader, which also says whether it can be trained (trainability.ts).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { DocTuneError } from '../errors.js';
import { log } from '../log.js';
import { metaString, readGguf } from './gguf/gguf-reader.js';
import { trainability } from './trainability.js';

/** What DocTune reads of an Ollama manifest: the layers, to find the model's GGUF blob. */
const OllamaManifest = z.object({ layers: z.array(z.object({ mediaType: z.string().optional(), digest: z.string().optional() }).loose()).optional() }).loose();

export interface FoundModel {
  /**
   * How the tool names it: the file name (downloaded), "qwen2.5:7b" (Ollama),
   * "lmstudio-community/Qwen2.5-7B-Instruct-GGUF/…gguf" (LM Studio).
   */
  name: string;
  source: 'downloaded' | 'ollama' | 'lmstudio';
  path: string;
  bytes: number;
  architecture: string | null;
  /** DocTune can fine-tune it; when not, trainableReason says why (in English, from trainability.ts). */
  trainable: boolean;
  trainableReason?: string;
}

type FileFacts = Pick<FoundModel, 'bytes' | 'architecture' | 'trainable' | 'trainableReason'>;

const OLLAMA_MODEL_LAYER = 'application/vnd.ollama.image.model';

/** Ollama keeps models under $OLLAMA_MODELS, else ~/.ollama/models. */
export function ollamaRoot(): string {
  return process.env.OLLAMA_MODELS ?? path.join(os.homedir(), '.ollama', 'models');
}

/** LM Studio's models folders (current, then older installs). */
export function lmStudioRoots(): string[] {
  return [path.join(os.homedir(), '.lmstudio', 'models'), path.join(os.homedir(), '.cache', 'lm-studio', 'models')];
}

async function walk(dir: string, depth: number): Promise<string[]> {
  if (depth < 0) return [];
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p, depth - 1)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

async function describe(file: string): Promise<FileFacts | null> {
  let g;
  try {
    g = await readGguf(file);
  } catch {
    return null; // not a readable GGUF: skipped
  }
  const { trainable, reason } = trainability(g);
  return { bytes: g.fileSize, architecture: metaString(g, 'general.architecture') ?? null, trainable, ...(reason ? { trainableReason: reason } : {}) };
}

/** GGUFs in DocTune's models folder (a .part file is an unfinished download, not a model). */
export async function discoverDownloaded(dir: string): Promise<FoundModel[]> {
  const names = (await fs.readdir(dir).catch(() => [] as string[])).filter((f) => f.toLowerCase().endsWith('.gguf'));
  const out: FoundModel[] = [];
  for (const name of names.sort()) {
    const file = path.join(dir, name);
    const info = await describe(file);
    if (info) out.push({ name, source: 'downloaded', path: file, ...info });
  }
  return out;
}

/** Models in an Ollama store: manifests/<registry>/<namespace>/<model>/<tag> → blobs/sha256-<hex>. */
export async function discoverOllama(root = ollamaRoot()): Promise<FoundModel[]> {
  const manifests = path.join(root, 'manifests');
  const out: FoundModel[] = [];
  for (const file of await walk(manifests, 4)) {
    const parts = path.relative(manifests, file).split(path.sep);
    if (parts.length !== 4) continue;
    const [registry, namespace, model, tag] = parts as [string, string, string, string];
    // Another program's files: one that is not a manifest (or one of a newer shape) is skipped, and logged.
    let raw: unknown;
    try {
      raw = JSON.parse(await fs.readFile(file, 'utf8'));
    } catch (err) {
      log.info('skipped an Ollama manifest that is not JSON', { path: file, err });
      continue;
    }
    const manifest = OllamaManifest.safeParse(raw);
    if (!manifest.success) {
      log.info('skipped an Ollama manifest of an unknown shape', { path: file });
      continue;
    }
    const layer = manifest.data.layers?.find((l) => l.mediaType === OLLAMA_MODEL_LAYER);
    if (!layer?.digest || !/^sha256:[0-9a-f]{64}$/.test(layer.digest)) continue;
    const blob = path.join(root, 'blobs', layer.digest.replace(':', '-'));
    const info = await describe(blob);
    if (!info) continue;
    const short = registry === 'registry.ollama.ai' && namespace === 'library' ? model : registry === 'registry.ollama.ai' ? `${namespace}/${model}` : `${registry}/${namespace}/${model}`;
    out.push({ name: `${short}:${tag}`, source: 'ollama', path: blob, ...info });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** GGUF files in LM Studio's models folders (publisher/repository/file.gguf). */
export async function discoverLmStudio(roots = lmStudioRoots()): Promise<FoundModel[]> {
  const out: FoundModel[] = [];
  for (const root of roots) {
    for (const file of await walk(root, 3)) {
      if (!file.toLowerCase().endsWith('.gguf') || /mmproj/i.test(path.basename(file))) continue;
      const info = await describe(file);
      if (info) out.push({ name: path.relative(root, file).split(path.sep).join('/'), source: 'lmstudio', path: file, ...info });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * A --model argument as a file: a path as is, `ollama:NAME[:TAG]` (or a bare Ollama name) from the Ollama
 * store, `lmstudio:PUBLISHER/REPO/FILE.gguf` from LM Studio's folder.
 */
export async function resolveLocalModel(spec: string, o: { ollama?: string; lmstudio?: string[] } = {}): Promise<string> {
  if (spec.startsWith('lmstudio:')) {
    const name = spec.slice('lmstudio:'.length);
    const hit = (await discoverLmStudio(o.lmstudio)).find((m) => m.name === name);
    if (!hit) throw new DocTuneError('NOT_FOUND', `LM Studio has no model ${name}`);
    return hit.path;
  }
  const explicit = spec.startsWith('ollama:');
  const looksLikePath = !explicit && (spec.includes('/') || spec.includes('\\') || spec.toLowerCase().endsWith('.gguf'));
  if (looksLikePath) return path.resolve(spec);
  const name = explicit ? spec.slice('ollama:'.length) : spec;
  const want = name.includes(':') ? name : `${name}:latest`;
  const hit = (await discoverOllama(o.ollama)).find((m) => m.name === want);
  if (hit) return hit.path;
  if (!explicit) {
    // Not an Ollama model: a file name in the current folder.
    const file = path.resolve(spec);
    if (await fs.access(file).then(() => true, () => false)) return file;
  }
  throw new DocTuneError('NOT_FOUND', `no model "${spec}": not a file, and Ollama (${o.ollama ?? ollamaRoot()}) has no ${want}`);
}
