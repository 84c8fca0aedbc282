import { toApiError } from './api-error';
import { problemOf, type Problem } from './problems';

/**
 * Why a model or adapter file cannot be used, in the user's words, from the engine's check of it
 * (models.inspect, chat.adapters.add): the engine's English message is kept as the detail only where no
 * plainer reason is known.
 */
export function ggufFileProblem(err: unknown, kind: 'model' | 'adapter' = 'model'): Problem {
  const error = toApiError(err);
  if (error.code === 'DISCONNECTED' || error.code === 'BAD_RESPONSE') return problemOf(err);
  const message = error.message;
  if (/\bENOENT\b/.test(message)) return { key: 'gguf.missing' };
  if (/\b(EACCES|EPERM)\b/.test(message)) return { key: 'gguf.unreadable' };
  if (/\bEISDIR\b/.test(message)) return { key: 'gguf.folder' };
  if (/LoRA adapter, not a model/.test(message)) return { key: 'chat.modelIsAdapter' };
  if (/a model, not a LoRA adapter/.test(message)) return { key: 'chat.adapterIsModel' };
  if (/not a GGUF file|too small to be GGUF/.test(message)) return { key: kind === 'model' ? 'chat.modelNotGguf' : 'chat.adapterNotGguf' };
  return { key: kind === 'model' ? 'chat.modelUnusable' : 'chat.adapterUnusable', params: { detail: message } };
}
