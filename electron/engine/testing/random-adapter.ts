/** A random LoRA adapter on every linear layer of a small model's blocks (those it has), written as llama.cpp's GGUF adapter. */
import { metaNumber, metaString, type GgufFile } from '../models/gguf/gguf-reader.js';
import { targetShape, writeLoraAdapter, type LoraAdapter } from '../models/lora-adapter.js';
import { randomF32, rng } from './random-model.js';

export const ALL_TARGETS = ['attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down'];
/** Phi-3's fused q|k|v and gate|up stand in for the separate matrices. */
const FUSED_TARGETS = ['attn_qkv'];

/** A and B uniform in ±0.3, so that even a small scale changes the output well above float noise. */
export async function writeRandomAdapter(base: GgufFile, out: string, rank: number, alpha: number, seed: number): Promise<LoraAdapter> {
  const next = rng(seed);
  const layers = metaNumber(base, `${metaString(base, 'general.architecture')}.block_count`) ?? 0;
  const pairs = [];
  for (let l = 0; l < layers; l++) {
    for (const t of [...ALL_TARGETS, ...FUSED_TARGETS]) {
      const target = `blk.${l}.${t}.weight`;
      if (!base.tensors.some((x) => x.name === target)) continue;
      const { nIn, nOut } = targetShape(base, target);
      pairs.push({ target, a: randomF32(rank * nIn, 0.3, next), b: randomF32(nOut * rank, 0.3, next) });
    }
  }
  const adapter = { rank, alpha, pairs };
  await writeLoraAdapter(out, base, adapter);
  return adapter;
}
