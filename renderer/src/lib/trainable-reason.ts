import type { Problem } from './problems';

/**
 * Why a model cannot be trained, in the user's language, from the engine's English sentence
 * (electron/engine/models/trainability.ts): the common cases by their words, anything else as the engine
 * put it. The result is a message key (with params) to show inside 'wizard.notTrainable' or
 * 'models.notTrainable'.
 */
export function trainableReason(reason: string | undefined): Problem {
  const text = reason ?? '';
  if (/LoRA adapter, not a model/.test(text)) return { key: 'trainable.reason.adapter' };
  if (/names no architecture/.test(text)) return { key: 'trainable.reason.noArchitecture' };
  if (/vision projector/.test(text)) return { key: 'trainable.reason.projector' };
  if (/mixture-of-experts|mixture of experts/.test(text)) return { key: 'trainable.reason.moe' };
  if (/vision models|vision tower/.test(text)) return { key: 'trainable.reason.vision' };
  const arch = /^architecture "([^"]+)" cannot be trained \(DocTune trains ([^)]+)\)$/.exec(text);
  if (arch) return { key: 'trainable.reason.architecture', params: { arch: arch[1]!, supported: arch[2]! } };
  return { key: 'trainable.reason.other', params: { detail: text || '?' } };
}
