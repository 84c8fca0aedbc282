/**
 * A Hugging Face–layout checkpoint (`config.json` + `model.safetensors`) from a small F32 GGUF, by undoing
 * what llama.cpp's convert_hf_to_gguf.py did: the tests' own exporter, written from the converter's source and
 * independent of DocTune's PEFT code, so a reference model can run the weights as transformers would.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { metaNumber, metaString, readTensorData, type GgufFile } from '../models/gguf/gguf-reader.js';
import { GgmlType } from '../models/gguf/gguf-types.js';
import { writeSafetensors, type SafeTensor } from '../models/safetensors.js';

/**
 * convert_hf_to_gguf.py's `LlamaModel.permute`, as written there:
 * w.reshape(n_head, 2, rows // n_head // 2, *rest).swapaxes(1, 2).reshape(w.shape), on a row-major [rows][cols].
 */
export function convertPermute(w: Float32Array, rows: number, cols: number, nHead: number): Float32Array {
  const half = rows / nHead / 2;
  const out = new Float32Array(w.length);
  let o = 0;
  // Iterating the swapped view [n_head][half][2] in order reads the source at [n_head][2][half].
  for (let h = 0; h < nHead; h++) {
    for (let i = 0; i < half; i++) {
      for (let t = 0; t < 2; t++) {
        const src = (h * 2 * half + t * half + i) * cols;
        out.set(w.subarray(src, src + cols), o);
        o += cols;
      }
    }
  }
  return out;
}

/** The inverse, found by applying the permutation to row indices and inverting the map. */
export function inverseConvertPermute(w: Float32Array, rows: number, cols: number, nHead: number): Float32Array {
  const index = convertPermute(Float32Array.from({ length: rows }, (_, i) => i), rows, 1, nHead);
  const out = new Float32Array(w.length);
  index.forEach((src, dst) => out.set(w.subarray(dst * cols, (dst + 1) * cols), src * cols));
  return out;
}

async function f32(file: GgufFile, name: string): Promise<Float32Array> {
  const info = file.tensors.find((t) => t.name === name);
  if (!info) throw new Error(`${name} is missing`);
  if (info.type !== GgmlType.F32) throw new Error(`${name} is not F32`);
  return new Float32Array(new Uint8Array(await readTensorData(file, name)).slice().buffer);
}

/** GGUF stems → Hugging Face names under model.layers.N, per architecture (a stem the model lacks is skipped). */
const COMMON: [string, string][] = [
  ['attn_norm.weight', 'input_layernorm.weight'],
  ['attn_q.weight', 'self_attn.q_proj.weight'],
  ['attn_k.weight', 'self_attn.k_proj.weight'],
  ['attn_v.weight', 'self_attn.v_proj.weight'],
  ['attn_output.weight', 'self_attn.o_proj.weight'],
  ['ffn_gate.weight', 'mlp.gate_proj.weight'],
  ['ffn_up.weight', 'mlp.up_proj.weight'],
  ['ffn_down.weight', 'mlp.down_proj.weight'],
];
const LAYER_NAMES: Record<string, [string, string][]> = {
  llama: [...COMMON, ['ffn_norm.weight', 'post_attention_layernorm.weight']],
  qwen2: [...COMMON, ['ffn_norm.weight', 'post_attention_layernorm.weight'], ['attn_q.bias', 'self_attn.q_proj.bias'], ['attn_k.bias', 'self_attn.k_proj.bias'], ['attn_v.bias', 'self_attn.v_proj.bias']],
  qwen3: [...COMMON, ['ffn_norm.weight', 'post_attention_layernorm.weight'], ['attn_q_norm.weight', 'self_attn.q_norm.weight'], ['attn_k_norm.weight', 'self_attn.k_norm.weight']],
  // Gemma 3 norms its sublayers' outputs too; its GGUF "ffn_norm" is the pre-feed-forward norm.
  gemma3: [
    ...COMMON,
    ['attn_q_norm.weight', 'self_attn.q_norm.weight'],
    ['attn_k_norm.weight', 'self_attn.k_norm.weight'],
    ['post_attention_norm.weight', 'post_attention_layernorm.weight'],
    ['ffn_norm.weight', 'pre_feedforward_layernorm.weight'],
    ['post_ffw_norm.weight', 'post_feedforward_layernorm.weight'],
  ],
  // Phi-3 keeps q|k|v and gate|up fused, in that order, in both layouts.
  phi3: [...COMMON, ['ffn_norm.weight', 'post_attention_layernorm.weight'], ['attn_qkv.weight', 'self_attn.qkv_proj.weight'], ['ffn_up.weight', 'mlp.gate_up_proj.weight']],
};

export const HF_CHECKPOINT_ARCHS = ['llama', 'qwen2', 'qwen3', 'gemma3', 'phi3'] as const;

/** Write `dir/config.json` and `dir/model.safetensors` for a small F32 GGUF of one of HF_CHECKPOINT_ARCHS. */
export async function writeHfCheckpoint(base: GgufFile, dir: string): Promise<void> {
  const arch = metaString(base, 'general.architecture')!;
  if (!(HF_CHECKPOINT_ARCHS as readonly string[]).includes(arch)) throw new Error(`no Hugging Face layout for ${arch} here`);
  const meta = (key: string): number | undefined => metaNumber(base, `${arch}.${key}`);
  const num = (key: string): number => {
    const v = meta(key);
    if (v === undefined) throw new Error(`${arch}.${key} is missing`);
    return v;
  };
  const embd = num('embedding_length');
  const heads = num('attention.head_count');
  const kvHeads = meta('attention.head_count_kv') ?? heads;
  const headDim = meta('attention.key_length') ?? embd / heads;
  const layers = num('block_count');
  const vocab = base.tensors.find((t) => t.name === 'token_embd.weight')!.dims[1]!;
  // Gemma3RMSNorm computes x·(1 + w); the converter stored 1 + w.
  const normShift = arch === 'gemma3' ? 1 : 0;
  const tensors = new Map<string, SafeTensor>();
  const put = (name: string, dims: readonly number[], data: Float32Array): void => {
    // GGUF's ne = [n_in, n_out] is row-major [n_out][n_in]: PyTorch's [out, in], the same bytes.
    tensors.set(name, { shape: [...dims].reverse(), data: normShift && name.endsWith('norm.weight') ? data.map((x) => x - normShift) : data });
  };
  const tensor = (name: string) => base.tensors.find((t) => t.name === name);
  put('model.embed_tokens.weight', tensor('token_embd.weight')!.dims, await f32(base, 'token_embd.weight'));
  put('model.norm.weight', tensor('output_norm.weight')!.dims, await f32(base, 'output_norm.weight'));
  const tied = !tensor('output.weight');
  if (!tied) put('lm_head.weight', tensor('output.weight')!.dims, await f32(base, 'output.weight'));
  for (let l = 0; l < layers; l++) {
    for (const [stem, hf] of LAYER_NAMES[arch]!) {
      const info = tensor(`blk.${l}.${stem}`);
      if (!info) continue;
      let data = await f32(base, info.name);
      // Only llama's q and k were permuted by the conversion (the others use RoPE in Hugging Face's layout).
      if (arch === 'llama' && (stem === 'attn_q.weight' || stem === 'attn_k.weight')) {
        const nHead = stem === 'attn_q.weight' ? heads : kvHeads;
        data = inverseConvertPermute(data, info.dims[1]!, info.dims[0]!, nHead);
      }
      put(`model.layers.${l}.${hf}`, info.dims, data);
    }
  }
  const config: Record<string, unknown> = {
    model_type: arch,
    hidden_size: embd,
    intermediate_size: num('feed_forward_length'),
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: headDim,
    num_hidden_layers: layers,
    rms_norm_eps: meta('attention.layer_norm_rms_epsilon') ?? 1e-6,
    rope_theta: meta('rope.freq_base') ?? 10_000,
    partial_rotary_factor: (meta('rope.dimension_count') ?? headDim) / headDim,
    max_position_embeddings: num('context_length'),
    vocab_size: vocab,
    tie_word_embeddings: tied,
  };
  if (metaString(base, `${arch}.rope.scaling.type`) === 'linear') config.rope_scaling = { rope_type: 'linear', factor: num('rope.scaling.factor') };
  if (tensor('rope_factors_short.weight')) {
    config.original_max_position_embeddings = num('rope.scaling.original_context_length');
    config.rope_scaling = { rope_type: 'longrope', short_factor: [...(await f32(base, 'rope_factors_short.weight'))], long_factor: [...(await f32(base, 'rope_factors_long.weight'))] };
  }
  if (arch === 'gemma3') {
    Object.assign(config, {
      hidden_activation: 'gelu_pytorch_tanh',
      query_pre_attn_scalar: headDim,
      sliding_window: num('attention.sliding_window'),
      sliding_window_pattern: 6,
      // Not recorded in the GGUF unless it differs: llama.cpp's default and transformers' are both 10,000.
      rope_local_base_freq: meta('rope.freq_base_swa') ?? 10_000,
    });
  }
  await fs.mkdir(dir, { recursive: true });
  await writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  await fs.writeFile(path.join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
}
