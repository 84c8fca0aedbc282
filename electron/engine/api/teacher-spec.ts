/**
 * A teacher named in one string, as the commands' --teacher and --judge take it: `extractive`, `local:PATH.gguf` or
 * `openai:BASE_URL#MODEL` (the key from --api-key-env, else the OS keychain's key for that URL).
 */
import path from 'node:path';
import { resolveApiKey } from '../dataset/api-key.js';
import { DocTuneError } from '../errors.js';
import { parseApiTeacher } from '../dataset/api-teacher.js';
import type { TeacherChoice } from '../dataset/generate.js';

export interface TeacherSpecOptions {
  /** Passages (local model) or requests (API) in flight. */
  concurrency?: number;
  threads?: number;
  apiKeyEnv?: string | undefined;
  timeoutSeconds?: number;
  price?: { input: number; output: number } | undefined;
}

export function teacherChoiceOf(spec: string, o: TeacherSpecOptions = {}): TeacherChoice {
  const concurrency = Math.max(1, o.concurrency ?? 4);
  if (spec === 'extractive') return 'extractive';
  if (spec.startsWith('local:')) return { local: path.resolve(spec.slice('local:'.length)), parallel: concurrency, ...(o.threads ? { threads: Math.max(1, o.threads) } : {}) };
  if (spec.startsWith('openai:')) {
    let endpoint: { baseUrl: string; model: string };
    try {
      endpoint = parseApiTeacher(spec);
    } catch (err) {
      throw new DocTuneError('BAD_ARGUMENT', (err as Error).message);
    }
    // A variable named for the key that is not set is BAD_ARGUMENT, as a malformed name is.
    const apiKey = resolveApiKey(endpoint.baseUrl, o.apiKeyEnv);
    return {
      api: {
        ...endpoint, ...(apiKey ? { apiKey } : {}), concurrency,
        ...(o.timeoutSeconds !== undefined ? { timeoutMs: Math.max(1, o.timeoutSeconds) * 1000 } : {}),
        ...(o.price ? { price: o.price } : {}),
      },
    };
  }
  throw new DocTuneError('BAD_ARGUMENT', `unknown teacher "${spec}" (extractive, local:PATH.gguf or openai:BASE_URL#MODEL)`);
}
