/**
 * Whether DocTune's trainer can train a GGUF model, and why not when it cannot: read from the file's
 * metadata and tensor list before anything is loaded (llama.cpp and ggml abort on some files they cannot
 * handle). The native trainer applies the same rules again when it opens the file.
 */
import { metaNumber, metaString, type GgufFile } from './gguf/gguf-reader.js';

/** Architectures the native trainer builds graphs for (native/src/trainer_arch.cpp). */
export const TRAINABLE_ARCHITECTURES = ['llama', 'qwen2', 'qwen3', 'gemma3', 'phi3'] as const;
export type TrainableArchitecture = (typeof TRAINABLE_ARCHITECTURES)[number];

export interface Trainability {
  trainable: boolean;
  /** Why not, in a sentence; absent when trainable. */
  reason?: string;
}

const SUPPORTED = TRAINABLE_ARCHITECTURES.join(', ');

/** Families people meet in Ollama and LM Studio whose GGUF architecture names say little to them. */
const KNOWN_UNSUPPORTED: Record<string, string> = {
  clip: 'this is a vision projector (mmproj), not a language model',
  mllama: 'vision models (Llama 3.2 Vision) cannot be trained',
  gemma3n: 'Gemma 3n (per-layer embeddings, AltUp) cannot be trained',
  qwen2moe: 'mixture-of-experts models (Qwen2-MoE) cannot be trained',
  qwen3moe: 'mixture-of-experts models (Qwen3-MoE) cannot be trained',
  phimoe: 'mixture-of-experts models (Phi-3.5-MoE) cannot be trained',
  llama4: 'Llama 4 (mixture of experts) cannot be trained',
  deepseek2: 'mixture-of-experts models (DeepSeek V2/V3) cannot be trained',
  gpt_oss: 'mixture-of-experts models (gpt-oss) cannot be trained',
};

export function trainability(file: GgufFile): Trainability {
  if (metaString(file, 'general.type') === 'adapter') return { trainable: false, reason: 'this is a LoRA adapter, not a model' };
  const arch = metaString(file, 'general.architecture');
  if (!arch) return { trainable: false, reason: 'the file names no architecture (general.architecture)' };
  const known = KNOWN_UNSUPPORTED[arch];
  if (known) return { trainable: false, reason: `${known} (DocTune trains ${SUPPORTED})` };
  if (!(TRAINABLE_ARCHITECTURES as readonly string[]).includes(arch)) {
    return { trainable: false, reason: `architecture "${arch}" cannot be trained (DocTune trains ${SUPPORTED})` };
  }
  const experts = metaNumber(file, `${arch}.expert_count`) ?? 0;
  if (experts > 0 || file.tensors.some((t) => /_exps\.weight$|ffn_gate_inp\.weight$/.test(t.name))) {
    return { trainable: false, reason: `mixture-of-experts models (${experts || 'several'} experts) cannot be trained` };
  }
  if (file.tensors.some((t) => /^(v|mm|vision|enc)\./.test(t.name))) {
    return { trainable: false, reason: 'the file carries a vision tower: DocTune trains text models only' };
  }
  const keyLength = metaNumber(file, `${arch}.attention.key_length`);
  const valueLength = metaNumber(file, `${arch}.attention.value_length`);
  if (keyLength !== undefined && valueLength !== undefined && keyLength !== valueLength) {
    return { trainable: false, reason: `key and value heads of different sizes (${keyLength} and ${valueLength}) cannot be trained` };
  }
  if (arch === 'gemma3' && (metaNumber(file, 'gemma3.final_logit_softcapping') ?? 0) > 0) {
    return { trainable: false, reason: 'final logit soft-capping (a Gemma 2 feature) cannot be trained' };
  }
  const scaling = metaString(file, `${arch}.rope.scaling.type`);
  if (scaling && !['none', 'linear', 'yarn', 'longrope'].includes(scaling)) {
    return { trainable: false, reason: `RoPE scaling "${scaling}" cannot be trained` };
  }
  if (scaling === 'yarn' && (metaNumber(file, `${arch}.rope.scaling.yarn_log_multiplier`) ?? 0) !== 0) {
    return { trainable: false, reason: 'YaRN with a log multiplier (DeepSeek-style) cannot be trained' };
  }
  return { trainable: true };
}
