/**
 * What a decoder shape (catalog.ts) holds: its parameter count, and the GGUF tensor list llama.cpp's
 * converter and llama-quantize would write for it, with llama.cpp's tensor names, ggml dimension order and
 * types. Memory estimates (model-fit.ts) run the trainer's own static estimate on that list.
 */
import type { CatalogQuant, ModelShape } from './catalog.js';
import type { GgufFile, GgufTensorInfo } from './gguf/gguf-reader.js';
import { GGML_BLOCK, GgmlType, tensorBytes } from './gguf/gguf-types.js';

export interface AttentionDims {
  /** Size of one head (keys, values and queries alike). */
  headDim: number;
  /** All query heads together (the q projection's output, the o projection's input). */
  q: number;
  /** All key (or value) heads together. */
  kv: number;
}

/** Head size from config.json's head_dim where the shape has one (Qwen3, Gemma 3), else hidden / heads. */
export function attentionDims(s: ModelShape): AttentionDims {
  const headDim = s.headDim ?? s.nEmbd / s.nHead;
  return { headDim, q: s.nHead * headDim, kv: s.nHeadKv * headDim };
}

/**
 * Parameters of the decoder this shape describes: the projections (phi3's fused q·k·v and gate·up hold the
 * same numbers), the RMS norms, qwen2's q/k/v biases, qwen3's and gemma3's per-head q/k norms, gemma3's
 * norms after attention and after the FFN, the embedding, and the output matrix unless it is tied.
 */
export function shapeParameters(s: ModelShape): number {
  const E = s.nEmbd;
  const { headDim, q, kv } = attentionDims(s);
  let layer = 2 * E * q + 2 * E * kv + 3 * E * s.nFf + 2 * E;
  if (s.arch === 'qwen2') layer += q + 2 * kv;
  if (s.arch === 'qwen3' || s.arch === 'gemma3') layer += 2 * headDim;
  if (s.arch === 'gemma3') layer += 2 * E;
  return s.nLayer * layer + s.nVocab * E * (s.tiedEmbeddings ? 1 : 2) + E;
}

/** llama.cpp's use_more_bits: the first and last eighth of the layers and every third one between. */
function useMoreBits(layer: number, layers: number): boolean {
  const eighth = Math.floor(layers / 8);
  return layer < eighth || layer >= Math.floor((7 * layers) / 8) || (layer - eighth) % 3 === 2;
}

/**
 * The ggml type llama-quantize gives a matrix. Q8_0 is uniform. Q4_K_M follows llama_tensor_get_type: Q6_K
 * for the output matrix (the token embedding when tied) and, in use_more_bits layers, for ffn_down and the
 * value projection (attn_v, or phi3's fused attn_qkv, which llama.cpp quantizes as attn_v), Q4_K elsewhere;
 * rows that are not whole 256-value blocks fall back to Q5_0 (for Q4_K) or Q8_0 (for Q6_K), as in
 * Qwen2.5-0.5B (896) and Gemma 3 1B (1152) whose rows do not split into K-quant blocks.
 */
function matrixType(scheme: CatalogQuant | 'F32', name: string, rowLength: number, tied: boolean, layers: number): GgmlType {
  if (scheme === 'F32') return GgmlType.F32;
  let type: GgmlType;
  if (scheme === 'Q8_0') type = GgmlType.Q8_0;
  else {
    const layer = /^blk\.(\d+)\.(attn_v|attn_qkv|ffn_down)\./.exec(name);
    const isOutput = name === 'output.weight' || (tied && name === 'token_embd.weight');
    type = isOutput || (layer && useMoreBits(Number(layer[1]), layers)) ? GgmlType.Q6_K : GgmlType.Q4_K;
    if (rowLength % 256 !== 0) type = type === GgmlType.Q6_K ? GgmlType.Q8_0 : GgmlType.Q5_0;
  }
  return rowLength % (GGML_BLOCK[type]?.elements ?? 1) === 0 ? type : GgmlType.F16;
}

/**
 * A GgufFile-like tensor list for this shape in this quantization: enough for estimateStaticMemory, which
 * reads only names, dims, types and bytes. Per layer, as llama.cpp loads them: llama and qwen2 have separate
 * q, k, v (qwen2 with biases); qwen3 adds attn_q_norm and attn_k_norm over one head; gemma3 adds those and
 * the norms after attention and after the FFN (post_attention_norm, post_ffw_norm); phi3 fuses q, k and v
 * into attn_qkv [E, q + 2·kv] and gate and up into ffn_up [E, 2·F], with no ffn_gate (Phi-4-mini's
 * rope_factors_long/short, a few dozen floats, are left out).
 */
export function syntheticGguf(shape: ModelShape, scheme: CatalogQuant | 'F32', name = 'synthetic'): GgufFile {
  const { nEmbd: E, nFf: F, nVocab: V, nLayer: L, arch } = shape;
  const { headDim, q, kv } = attentionDims(shape);
  const tensors: GgufTensorInfo[] = [];
  let offset = 0;
  const add = (tensorName: string, dims: number[], type: GgmlType): void => {
    const bytes = tensorBytes(type, dims)!;
    tensors.push({ name: tensorName, dims, type, offset, bytes });
    offset += Math.ceil(bytes / 32) * 32;
  };
  const mat = (tensorName: string, nIn: number, nOut: number): void => add(tensorName, [nIn, nOut], matrixType(scheme, tensorName, nIn, shape.tiedEmbeddings, L));
  const vec = (tensorName: string, n: number): void => add(tensorName, [n], GgmlType.F32);
  mat('token_embd.weight', E, V);
  vec('output_norm.weight', E);
  if (!shape.tiedEmbeddings) mat('output.weight', E, V);
  for (let l = 0; l < L; l++) {
    const blk = `blk.${l}`;
    vec(`${blk}.attn_norm.weight`, E);
    if (arch === 'phi3') mat(`${blk}.attn_qkv.weight`, E, q + 2 * kv);
    else {
      mat(`${blk}.attn_q.weight`, E, q);
      mat(`${blk}.attn_k.weight`, E, kv);
      mat(`${blk}.attn_v.weight`, E, kv);
    }
    if (arch === 'qwen2') {
      vec(`${blk}.attn_q.bias`, q);
      vec(`${blk}.attn_k.bias`, kv);
      vec(`${blk}.attn_v.bias`, kv);
    }
    if (arch === 'qwen3' || arch === 'gemma3') {
      vec(`${blk}.attn_q_norm.weight`, headDim);
      vec(`${blk}.attn_k_norm.weight`, headDim);
    }
    mat(`${blk}.attn_output.weight`, q, E);
    if (arch === 'gemma3') vec(`${blk}.post_attention_norm.weight`, E);
    vec(`${blk}.ffn_norm.weight`, E);
    if (arch === 'phi3') mat(`${blk}.ffn_up.weight`, E, 2 * F);
    else {
      mat(`${blk}.ffn_gate.weight`, E, F);
      mat(`${blk}.ffn_up.weight`, E, F);
    }
    mat(`${blk}.ffn_down.weight`, F, E);
    if (arch === 'gemma3') vec(`${blk}.post_ffw_norm.weight`, E);
  }
  return { path: name, version: 3, metadata: new Map(), tensors, alignment: 32, dataOffset: 0, fileSize: offset };
}
