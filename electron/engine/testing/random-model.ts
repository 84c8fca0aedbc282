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

export interface TinyLlamaShape {
  /** qwen2 adds q/k/v biases and NEOX rope; both borrow the tokenizer given. */
  arch?: 'llama' | 'qwen2';
  embd: number;
  ff: number;
  layers: number;
  heads: number;
  kvHeads: number;
}

const bytes = (f: Float32Array): Uint8Array => new Uint8Array(f.buffer, f.byteOffset, f.byteLength);

/**
 * A random Llama-architecture GGUF of the given shape that borrows a real model's tokenizer (every
 * tokenizer.* key), so llama.cpp loads it and the chat/training plumbing can run on it.
 */
export async function writeRandomLlama(path: string, tokenizerFrom: string, shape: TinyLlamaShape, seed = 1): Promise<GgufFile> {
  const src = await readGguf(tokenizerFrom);
  const next = rng(seed);
  const vocab = (src.metadata.get('tokenizer.ggml.tokens') as { value: unknown[] }).value.length;
  const headDim = shape.embd / shape.heads;
  const arch = shape.arch ?? 'llama';
  const metadata: [string, GgufValue][] = [
    ['general.architecture', gguf.str(arch)],
    ['general.name', gguf.str(`random tiny ${arch}`)],
    [`${arch}.context_length`, gguf.u32(256)],
    [`${arch}.embedding_length`, gguf.u32(shape.embd)],
    [`${arch}.feed_forward_length`, gguf.u32(shape.ff)],
    [`${arch}.attention.head_count`, gguf.u32(shape.heads)],
    [`${arch}.attention.head_count_kv`, gguf.u32(shape.kvHeads)],
    [`${arch}.block_count`, gguf.u32(shape.layers)],
    [`${arch}.rope.dimension_count`, gguf.u32(headDim)],
    [`${arch}.rope.freq_base`, gguf.f32(arch === 'qwen2' ? 1_000_000 : 10_000)],
    [`${arch}.attention.layer_norm_rms_epsilon`, { type: GgufValueType.FLOAT32, value: 1e-6 }],
    ...[...src.metadata].filter(([k]) => k.startsWith('tokenizer.')),
  ];
  const tensors: GgufTensorInput[] = [];
  const mat = (name: string, nIn: number, nOut: number): void => {
    tensors.push({ name, dims: [nIn, nOut], type: GgmlType.F32, data: bytes(randomF32(nIn * nOut, 1 / Math.sqrt(nIn), next)) });
  };
  const norm = (name: string): void => {
    tensors.push({ name, dims: [shape.embd], type: GgmlType.F32, data: bytes(new Float32Array(shape.embd).fill(1)) });
  };
  mat('token_embd.weight', shape.embd, vocab);
  norm('output_norm.weight');
  mat('output.weight', shape.embd, vocab);
  for (let l = 0; l < shape.layers; l++) {
    norm(`blk.${l}.attn_norm.weight`);
    mat(`blk.${l}.attn_q.weight`, shape.embd, shape.embd);
    mat(`blk.${l}.attn_k.weight`, shape.embd, headDim * shape.kvHeads);
    mat(`blk.${l}.attn_v.weight`, shape.embd, headDim * shape.kvHeads);
    if (arch === 'qwen2') {
      for (const [name, n] of [['attn_q', shape.embd], ['attn_k', headDim * shape.kvHeads], ['attn_v', headDim * shape.kvHeads]] as const) {
        tensors.push({ name: `blk.${l}.${name}.bias`, dims: [n], type: GgmlType.F32, data: bytes(randomF32(n, 0.5, next)) });
      }
    }
    mat(`blk.${l}.attn_output.weight`, shape.embd, shape.embd);
    norm(`blk.${l}.ffn_norm.weight`);
    mat(`blk.${l}.ffn_gate.weight`, shape.embd, shape.ff);
    mat(`blk.${l}.ffn_up.weight`, shape.embd, shape.ff);
    mat(`blk.${l}.ffn_down.weight`, shape.ff, shape.embd);
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

/** A copy of an F32 model with its 2-D weight matrices converted to `type` (norms and embeddings stay F32). */
export async function writeQuantizedCopy(path: string, base: GgufFile, type: GgmlType, quantize: (t: GgmlType, v: Float32Array) => Uint8Array): Promise<GgufFile> {
  const tensors: GgufTensorInput[] = [];
  for (const t of base.tensors) {
    const raw = await readTensorData(base, t.name);
    // Rows must fill whole blocks (stories260K's ffn_down rows of 172 stay F32 in Q8_0).
    const convert = t.dims.length === 2 && /^blk\./.test(t.name) && t.dims[0]! % (GGML_BLOCK[type]?.elements ?? 1) === 0;
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
