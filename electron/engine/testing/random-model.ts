import { readGguf, readTensorData, type GgufFile } from '../models/gguf/gguf-reader.js';
import { GGML_BLOCK, GgmlType, GgufValueType, type GgufValue } from '../models/gguf/gguf-types.js';
import { gguf, writeGguf, type GgufTensorInput } from '../models/gguf/gguf-writer.js';
import { mulberry32 } from '../train/train-config.js';

/** Seeded generator shared with the training code, so generated models are the same on every run. */
export const rng = mulberry32;

export function randomF32(n: number, scale: number, next: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (next() * 2 - 1) * scale;
  return out;
}

export type TinyArch = 'llama' | 'qwen2' | 'qwen3' | 'gemma3' | 'phi3';

export interface TinyModelShape {
  /**
   * The tensors and metadata llama.cpp loads for that architecture: qwen2 adds q/k/v biases; qwen3 per-head
   * q/k norms; gemma3 q/k norms, norms after attention and FFN, and sliding-window layers; phi3 fused QKV and
   * gate|up matrices. All borrow the tokenizer given.
   */
  arch?: TinyArch;
  embd: number;
  ff: number;
  layers: number;
  heads: number;
  kvHeads: number;
  /** attention.key_length/value_length when the head size is not embd / heads (Qwen3, Gemma 3 have such shapes). */
  headDim?: number;
  /** Dimensions RoPE rotates (phi3's partial rotary); the head size by default. */
  rotDim?: number;
  /** Llama 3's rope_freqs.weight (llama) or phi3's rope_factors_short/long: random factors in [1, 8]. */
  ropeFactors?: boolean;
  /** rope.scaling.type linear with this factor (gemma3 4B: 8, on its global layers). */
  ropeScaling?: number;
  /** gemma3: the sliding window, in tokens (every layer but each sixth is local). */
  slidingWindow?: number;
  /** Half-range of the uniform weights (default 1/sqrt(n_in)): larger weights make every feature matter. */
  weightScale?: number;
  /** Random norm weights around 1 (default: all 1) so a norm applied to the wrong tensor shows. */
  randomNorms?: boolean;
  /** Control tokens appended to the borrowed vocabulary (a chat template's turn markers). */
  specialTokens?: string[];
  /** tokenizer.chat_template. */
  chatTemplate?: string;
  /** tokenizer.ggml.eos_token_id, by the token's text (e.g. one of specialTokens). */
  eosToken?: string;
}

const bytes = (f: Float32Array): Uint8Array => new Uint8Array(f.buffer, f.byteOffset, f.byteLength);

/**
 * A random GGUF of the given architecture and shape that borrows a real model's tokenizer (every
 * tokenizer.* key), so llama.cpp loads it and the chat/training plumbing can run on it.
 */
export async function writeRandomModel(path: string, tokenizerFrom: string, shape: TinyModelShape, seed = 1): Promise<GgufFile> {
  const src = await readGguf(tokenizerFrom);
  const next = rng(seed);
  const tokenizer = new Map([...src.metadata].filter(([k]) => k.startsWith('tokenizer.')));
  const extra = shape.specialTokens ?? [];
  if (extra.length) {
    const arr = (key: string): Extract<GgufValue, { type: GgufValueType.ARRAY }> => tokenizer.get(key) as Extract<GgufValue, { type: GgufValueType.ARRAY }>;
    const tokens = arr('tokenizer.ggml.tokens');
    tokenizer.set('tokenizer.ggml.tokens', { ...tokens, value: [...tokens.value, ...extra] } as GgufValue);
    const scores = arr('tokenizer.ggml.scores');
    if (scores) tokenizer.set('tokenizer.ggml.scores', { ...scores, value: [...scores.value, ...extra.map(() => 0)] } as GgufValue);
    const types = arr('tokenizer.ggml.token_type');
    if (types) tokenizer.set('tokenizer.ggml.token_type', { ...types, value: [...types.value, ...extra.map(() => 3)] } as GgufValue); // CONTROL
  }
  const allTokens = (tokenizer.get('tokenizer.ggml.tokens') as { value: string[] }).value;
  if (shape.eosToken) tokenizer.set('tokenizer.ggml.eos_token_id', gguf.u32(allTokens.indexOf(shape.eosToken)));
  if (shape.chatTemplate) {
    tokenizer.set('tokenizer.chat_template', gguf.str(shape.chatTemplate));
    // As Gemma's and Qwen's GGUFs: no space glued to the text after a turn marker.
    tokenizer.set('tokenizer.ggml.add_space_prefix', gguf.bool(false));
  }
  const vocab = allTokens.length;
  const arch = shape.arch ?? 'llama';
  const headDim = shape.headDim ?? shape.embd / shape.heads;
  const rot = shape.rotDim ?? headDim;
  const q = headDim * shape.heads;
  const kv = headDim * shape.kvHeads;
  const metadata: [string, GgufValue][] = [
    ['general.architecture', gguf.str(arch)],
    // Not the architecture's name: llama.cpp's vocabulary loader special-cases model names containing "phi3"
    // (it expects Phi's <|endoftext|>, which the borrowed tokenizer lacks).
    ['general.name', gguf.str(`random tiny model (${shape.layers} layers)`)],
    // Phi-4-mini's LongRoPE contexts: 131072 tokens, 4096 originally (llama.cpp picks the short factors up to it).
    [`${arch}.context_length`, gguf.u32(arch === 'phi3' && shape.ropeFactors ? 131_072 : 256)],
    [`${arch}.embedding_length`, gguf.u32(shape.embd)],
    [`${arch}.feed_forward_length`, gguf.u32(shape.ff)],
    [`${arch}.attention.head_count`, gguf.u32(shape.heads)],
    [`${arch}.attention.head_count_kv`, gguf.u32(shape.kvHeads)],
    [`${arch}.block_count`, gguf.u32(shape.layers)],
    [`${arch}.rope.dimension_count`, gguf.u32(rot)],
    [`${arch}.rope.freq_base`, gguf.f32(arch === 'llama' || arch === 'phi3' ? 10_000 : 1_000_000)],
    [`${arch}.attention.layer_norm_rms_epsilon`, { type: GgufValueType.FLOAT32, value: 1e-6 }],
    ...tokenizer,
  ];
  if (shape.headDim !== undefined) metadata.push([`${arch}.attention.key_length`, gguf.u32(headDim)], [`${arch}.attention.value_length`, gguf.u32(headDim)]);
  if (shape.ropeScaling) metadata.push([`${arch}.rope.scaling.type`, gguf.str('linear')], [`${arch}.rope.scaling.factor`, gguf.f32(shape.ropeScaling)]);
  if (shape.slidingWindow) metadata.push([`${arch}.attention.sliding_window`, gguf.u32(shape.slidingWindow)]);
  if (arch === 'phi3' && shape.ropeFactors) {
    // LongRoPE as Phi-4-mini has it: the original context, and the attention factor llama.cpp applies, as
    // convert_hf_to_gguf.py computes it: √(1 + ln(131072/4096) / ln 4096).
    metadata.push([`${arch}.rope.scaling.original_context_length`, gguf.u32(4096)], [`${arch}.rope.scaling.attn_factor`, gguf.f32(Math.sqrt(1 + Math.log(32) / Math.log(4096)))]);
  }
  const tensors: GgufTensorInput[] = [];
  const scale = shape.weightScale;
  const mat = (name: string, nIn: number, nOut: number): void => {
    tensors.push({ name, dims: [nIn, nOut], type: GgmlType.F32, data: bytes(randomF32(nIn * nOut, scale ?? 1 / Math.sqrt(nIn), next)) });
  };
  const vec = (name: string, n: number, values: Float32Array): void => {
    tensors.push({ name, dims: [n], type: GgmlType.F32, data: bytes(values) });
  };
  const norm = (name: string, n = shape.embd): void => {
    const w = new Float32Array(n).fill(1);
    if (shape.randomNorms) for (let i = 0; i < n; i++) w[i] = 0.5 + next();
    vec(name, n, w);
  };
  const factors = (): Float32Array => Float32Array.from({ length: rot / 2 }, () => 1 + 7 * next());
  mat('token_embd.weight', shape.embd, vocab);
  norm('output_norm.weight');
  // gemma3 and phi3 models tie the output to the embedding, as Gemma 3 and Phi-4-mini do.
  if (arch !== 'gemma3' && arch !== 'phi3') mat('output.weight', shape.embd, vocab);
  if (shape.ropeFactors && arch === 'llama') vec('rope_freqs.weight', rot / 2, factors());
  if (shape.ropeFactors && arch === 'phi3') {
    vec('rope_factors_short.weight', rot / 2, factors());
    vec('rope_factors_long.weight', rot / 2, factors());
  }
  for (let l = 0; l < shape.layers; l++) {
    norm(`blk.${l}.attn_norm.weight`);
    if (arch === 'phi3') {
      mat(`blk.${l}.attn_qkv.weight`, shape.embd, q + 2 * kv);
    } else {
      mat(`blk.${l}.attn_q.weight`, shape.embd, q);
      mat(`blk.${l}.attn_k.weight`, shape.embd, kv);
      mat(`blk.${l}.attn_v.weight`, shape.embd, kv);
    }
    if (arch === 'qwen2') {
      for (const [name, n] of [['attn_q', q], ['attn_k', kv], ['attn_v', kv]] as const) {
        vec(`blk.${l}.${name}.bias`, n, randomF32(n, 0.5, next));
      }
    }
    if (arch === 'qwen3' || arch === 'gemma3') {
      norm(`blk.${l}.attn_q_norm.weight`, headDim);
      norm(`blk.${l}.attn_k_norm.weight`, headDim);
    }
    mat(`blk.${l}.attn_output.weight`, q, shape.embd);
    if (arch === 'gemma3') norm(`blk.${l}.post_attention_norm.weight`);
    norm(`blk.${l}.ffn_norm.weight`);
    if (arch === 'phi3') {
      mat(`blk.${l}.ffn_up.weight`, shape.embd, 2 * shape.ff);
    } else {
      mat(`blk.${l}.ffn_gate.weight`, shape.embd, shape.ff);
      mat(`blk.${l}.ffn_up.weight`, shape.embd, shape.ff);
    }
    mat(`blk.${l}.ffn_down.weight`, shape.ff, shape.embd);
    if (arch === 'gemma3') norm(`blk.${l}.post_ffw_norm.weight`);
  }
  await writeGguf(path, { metadata, tensors });
  return readGguf(path);
}

/** Copy a GGUF with some F32 tensors replaced (e.g. a LoRA merged into the base, as a reference model). */
export async function writeWithReplacedTensors(path: string, base: GgufFile, replace: Map<string, Float32Array>): Promise<void> {
  const tensors: GgufTensorInput[] = [];
  for (const t of base.tensors) {
    const r = replace.get(t.name);
    if (r && t.type !== GgmlType.F32) throw new Error(`${t.name} is not F32`);
    tensors.push({ name: t.name, dims: t.dims, type: t.type, data: r ? bytes(r) : await readTensorData(base, t.name) });
  }
  await writeGguf(path, { metadata: base.metadata, tensors, alignment: base.alignment });
}

/**
 * A copy of an F32 model with its 2-D weight matrices converted to `type` (norms stay F32; the embedding and
 * output matrices too, unless `embeddings`: then they are converted as llama-quantize does for Q8_0).
 */
export async function writeQuantizedCopy(path: string, base: GgufFile, type: GgmlType, quantize: (t: GgmlType, v: Float32Array) => Uint8Array, o: { embeddings?: boolean } = {}): Promise<GgufFile> {
  const tensors: GgufTensorInput[] = [];
  for (const t of base.tensors) {
    const raw = await readTensorData(base, t.name);
    // Rows must fill whole blocks (stories260K's ffn_down rows of 172 stay F32 in Q8_0).
    const matrix = /^blk\./.test(t.name) || (o.embeddings === true && /^(token_embd|output)\.weight$/.test(t.name));
    const convert = t.dims.length === 2 && matrix && t.dims[0]! % (GGML_BLOCK[type]?.elements ?? 1) === 0;
    tensors.push({ name: t.name, dims: t.dims, type: convert ? type : t.type, data: convert ? quantize(type, new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4)) : raw });
  }
  await writeGguf(path, { metadata: base.metadata, tensors, alignment: base.alignment });
  return readGguf(path);
}

/** A copy of a model with some metadata replaced: for files DocTune's reader accepts and llama.cpp may not. */
export async function writeWithMetadata(path: string, base: GgufFile, overrides: Record<string, GgufValue>): Promise<GgufFile> {
  const metadata = new Map(base.metadata);
  for (const [k, v] of Object.entries(overrides)) metadata.set(k, v);
  const tensors: GgufTensorInput[] = [];
  for (const t of base.tensors) tensors.push({ name: t.name, dims: t.dims, type: t.type, data: await readTensorData(base, t.name) });
  await writeGguf(path, { metadata, tensors, alignment: base.alignment });
  return readGguf(path);
}
