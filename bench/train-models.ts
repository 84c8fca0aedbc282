/**
 * The models the training benchmarks run on, written by DocTune itself: stories260K (the real tiny Llama),
 * a stories15M-shaped Llama and Qwen2.5-0.5B/1.5B-shaped Qwen2 models with random weights (the real
 * 151,936-token vocabulary, tied embeddings, q/k/v biases), each as F32 (the weights PyTorch trains too),
 * Q8_0 or Q4_K. Matrices whose rows do not fill the type's blocks take the type llama.cpp's quantizer falls
 * back to (Q4_K → Q5_0 → F16, Q8_0 → F16); norms and biases stay F32.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readGguf, readTensorData, type GgufFile } from '../electron/engine/models/gguf/gguf-reader.js';
import { GgmlType, GgufValueType, type GgufValue } from '../electron/engine/models/gguf/gguf-types.js';
import { gguf, writeGgufStreaming, type GgufTensorShape } from '../electron/engine/models/gguf/gguf-writer.js';
import { TINY_MODEL } from '../electron/engine/testing/corpus.js';
import { rng, writeRandomModel } from '../electron/engine/testing/random-model.js';
import { loadAddon } from '../electron/engine/train/native-addon.js';

export const BASES = ['f32', 'q8_0', 'q4_k'] as const;
export type Base = (typeof BASES)[number];

export interface Shape {
  key: string;
  arch: 'llama' | 'qwen2';
  embd: number;
  ff: number;
  layers: number;
  heads: number;
  kvHeads: number;
  vocab: number;
}

export const SHAPES: Record<string, Shape> = {
  stories260K: { key: 'stories260K', arch: 'llama', embd: 64, ff: 172, layers: 5, heads: 8, kvHeads: 4, vocab: 512 },
  stories15M: { key: 'stories15M', arch: 'llama', embd: 288, ff: 768, layers: 6, heads: 6, kvHeads: 6, vocab: 512 },
  'qwen2.5-0.5b': { key: 'qwen2.5-0.5b', arch: 'qwen2', embd: 896, ff: 4864, layers: 24, heads: 14, kvHeads: 2, vocab: 151936 },
  'qwen2.5-1.5b': { key: 'qwen2.5-1.5b', arch: 'qwen2', embd: 1536, ff: 8960, layers: 28, heads: 12, kvHeads: 2, vocab: 151936 },
  // The 0.5B vocabulary on a small body, to try GPU scripts on a machine without a big GPU.
  'qwen2-small': { key: 'qwen2-small', arch: 'qwen2', embd: 256, ff: 768, layers: 2, heads: 4, kvHeads: 2, vocab: 151936 },
};

/** The GGUF type a matrix with rows of nIn values gets for this base (llama.cpp's fallbacks). */
export function storedType(base: Base | GgmlType, nIn: number): GgmlType {
  const want = typeof base === 'number' ? base : base === 'f32' ? GgmlType.F32 : base === 'q8_0' ? GgmlType.Q8_0 : GgmlType.Q4_K;
  if (want === GgmlType.Q4_K || want === GgmlType.Q6_K) return nIn % 256 === 0 ? want : nIn % 32 === 0 ? GgmlType.Q5_0 : GgmlType.F16;
  if (want === GgmlType.Q8_0 || want === GgmlType.Q5_0) return nIn % 32 === 0 ? want : GgmlType.F16;
  return want;
}

const threads = (): number => Math.max(1, Math.min(8, (globalThis.navigator?.hardwareConcurrency as number | undefined) ?? 1));

/** Copy of an F32 GGUF with every matrix stored for `base` (tensor by tensor, ggml's quantizers). */
async function convert(from: GgufFile, file: string, base: Base): Promise<void> {
  const addon = loadAddon();
  const shapes: GgufTensorShape[] = from.tensors.map((t) => ({ name: t.name, dims: t.dims, type: t.dims.length === 2 ? storedType(base, t.dims[0]!) : t.type }));
  await writeGgufStreaming(file, from.metadata, shapes, async (i) => {
    const raw = await readTensorData(from, from.tensors[i]!.name);
    const type = shapes[i]!.type;
    if (type === GgmlType.F32) return raw;
    return addon.quantize(type, new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4), shapes[i]!.dims[0]!, threads());
  });
}

/** Random Qwen2-architecture GGUF (tied embeddings, q/k/v biases) stored for `base`, written tensor by tensor. */
export async function writeRandomQwen2(file: string, s: Shape, base: Base | GgmlType): Promise<void> {
  const hd = s.embd / s.heads;
  const kv = hd * s.kvHeads;
  const meta: [string, GgufValue][] = [
    ['general.architecture', gguf.str('qwen2')], ['general.name', gguf.str(`random ${s.key}`)],
    ['qwen2.context_length', gguf.u32(32768)], ['qwen2.embedding_length', gguf.u32(s.embd)],
    ['qwen2.feed_forward_length', gguf.u32(s.ff)], ['qwen2.attention.head_count', gguf.u32(s.heads)],
    ['qwen2.attention.head_count_kv', gguf.u32(s.kvHeads)], ['qwen2.block_count', gguf.u32(s.layers)],
    ['qwen2.rope.freq_base', gguf.f32(1_000_000)], ['qwen2.attention.layer_norm_rms_epsilon', { type: GgufValueType.FLOAT32, value: 1e-6 }],
  ];
  const tensors: (GgufTensorShape & { scale: number })[] = [{ name: 'token_embd.weight', dims: [s.embd, s.vocab], type: storedType(base, s.embd), scale: 0.02 }];
  const vec = (name: string, n: number, scale: number): void => void tensors.push({ name, dims: [n], type: GgmlType.F32, scale });
  const mat = (name: string, nIn: number, nOut: number): void => void tensors.push({ name, dims: [nIn, nOut], type: storedType(base, nIn), scale: 1 / Math.sqrt(nIn) });
  vec('output_norm.weight', s.embd, 0);
  for (let l = 0; l < s.layers; l++) {
    vec(`blk.${l}.attn_norm.weight`, s.embd, 0);
    vec(`blk.${l}.ffn_norm.weight`, s.embd, 0);
    mat(`blk.${l}.attn_q.weight`, s.embd, s.embd); vec(`blk.${l}.attn_q.bias`, s.embd, 0.1);
    mat(`blk.${l}.attn_k.weight`, s.embd, kv); vec(`blk.${l}.attn_k.bias`, kv, 0.1);
    mat(`blk.${l}.attn_v.weight`, s.embd, kv); vec(`blk.${l}.attn_v.bias`, kv, 0.1);
    mat(`blk.${l}.attn_output.weight`, s.embd, s.embd);
    mat(`blk.${l}.ffn_gate.weight`, s.embd, s.ff);
    mat(`blk.${l}.ffn_up.weight`, s.embd, s.ff);
    mat(`blk.${l}.ffn_down.weight`, s.ff, s.embd);
  }
  const addon = loadAddon();
  // One generator for every base, so the F32 file and its quantized twins hold the same weights.
  const next = rng(1234);
  await writeGgufStreaming(file, meta, tensors, (i) => {
    const t = tensors[i]!;
    const n = t.dims.reduce((a, b) => a * b, 1);
    const values = new Float32Array(n);
    if (t.scale === 0) values.fill(1); // norms
    else for (let k = 0; k < n; k++) values[k] = (next() * 2 - 1) * t.scale;
    return addon.quantize(t.type, values, t.dims[0]!, threads());
  });
}

/** The benchmark model for a shape and base in `dir` (written once, reused while the file exists). */
export async function benchModel(dir: string, s: Shape, base: Base): Promise<GgufFile> {
  const file = path.join(dir, `${s.key}-${base}.gguf`);
  if (fs.existsSync(file)) return readGguf(file);
  fs.mkdirSync(dir, { recursive: true });
  const partial = `${file}.partial`;
  if (s.arch === 'qwen2') {
    await writeRandomQwen2(partial, s, base);
  } else {
    const f32 = s.key === 'stories260K' ? await readGguf(TINY_MODEL)
      : base === 'f32' ? null : await benchModel(dir, s, 'f32');
    if (!f32) await writeRandomModel(partial, TINY_MODEL, { embd: s.embd, ff: s.ff, layers: s.layers, heads: s.heads, kvHeads: s.kvHeads }, 15);
    else await convert(f32, partial, base);
  }
  fs.renameSync(partial, file);
  return readGguf(file);
}

/**
 * Training FLOPs per token of a LoRA step, counted the same way for both sides: the frozen matrices'
 * forward and input gradients (4 per weight), LoRA's forward and gradients (6·r per adapted row and
 * column), and attention (QKᵀ and PV over the whole sequence, forward and backward).
 */
export function flopsPerToken(s: Shape, seq: number, rank: number): number {
  const hd = s.embd / s.heads;
  const kv = hd * s.kvHeads;
  const dims: [number, number][] = [[s.embd, s.embd], [s.embd, kv], [s.embd, kv], [s.embd, s.embd], [s.embd, s.ff], [s.embd, s.ff], [s.ff, s.embd]];
  const weights = s.layers * dims.reduce((a, [i, o]) => a + i * o, 0) + s.embd * s.vocab;
  const lora = s.layers * dims.reduce((a, [i, o]) => a + i + o, 0);
  return 4 * weights + 6 * rank * lora + 12 * s.layers * seq * s.embd;
}
