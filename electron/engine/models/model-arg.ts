/**
 * What a --model argument may be: a GGUF path, an `hf:` URI or https URL (downloaded once into DocTune's
 * models folder, resumed if interrupted), an Ollama model name, or an LM Studio model.
 */
import path from 'node:path';
import { userDataDir } from '../paths.js';
import { resolveLocalModel } from './discover.js';
import { downloadModel } from './download.js';

/** `modelsDir`: where downloads go (default: DocTune's models folder in the user-data folder). */
export async function resolveModelArg(spec: string, onProgress?: (received: number, total: number | null) => void, modelsDir = path.join(userDataDir(), 'models')): Promise<string> {
  if (spec.startsWith('hf:') || /^https?:\/\//.test(spec)) {
    return downloadModel(spec, { dir: modelsDir, ...(process.env.HF_TOKEN ? { token: process.env.HF_TOKEN } : {}), onProgress: (p) => onProgress?.(p.received, p.total) });
  }
  return resolveLocalModel(spec);
}
