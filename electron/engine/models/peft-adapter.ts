/**
 * LoRA adapters between llama.cpp's GGUF form and Hugging Face PEFT's (`adapter_model.safetensors` +
 * `adapter_config.json`), so that an adapter trained here can be served by vLLM or merged with transformers,
 * and one trained by LLaMA-Factory or Axolotl can be chatted with and evaluated here.
 *
 * The tensors are the same numbers in both: PEFT's `lora_A.weight` is [r, n_in] and `lora_B.weight` is
 * [n_out, r], row-major, which is GGUF's `lora_a` ne=[n_in, r] and `lora_b` ne=[r, n_out]. Two things differ:
 * names (blk.N.attn_q ↔ model.layers.N.self_attn.q_proj), and, for the `llama` architecture only, the rows
 * of q and k, which llama.cpp's HF→GGUF conversion permutes for its RoPE layout (convert_hf_to_gguf.py
 * `LlamaModel.permute`): B's rows follow the weight's. Scaling: llama.cpp applies alpha/r; PEFT applies
 * lora_alpha/r, or lora_alpha/√r with `use_rslora`.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { DocTuneError } from '../errors.js';
import { writeFileAtomic } from '../atomic-write.js';
import { metaNumber, metaString, readGguf, readTensorData, type GgufFile } from './gguf/gguf-reader.js';
import { GgmlType } from './gguf/gguf-types.js';
import { dequantize } from './gguf/quantize.js';
import { targetShape, validateLoraAdapter, writeLoraAdapter, type LoraAdapter, type LoraPair } from './lora-adapter.js';
import { readSafetensors, writeSafetensors, type SafeTensor } from './safetensors.js';

/** GGUF tensor stem (after `blk.N.`) ↔ the Hugging Face module under `model.layers.N.`. */
const MODULES: Record<string, string> = {
  attn_q: 'self_attn.q_proj',
  attn_k: 'self_attn.k_proj',
  attn_v: 'self_attn.v_proj',
  attn_output: 'self_attn.o_proj',
  ffn_gate: 'mlp.gate_proj',
  ffn_up: 'mlp.up_proj',
  ffn_down: 'mlp.down_proj',
};
/** Phi-3 keeps q, k, v and gate|up fused, under its own names. */
const PHI3_MODULES: Record<string, string> = { ...MODULES, attn_qkv: 'self_attn.qkv_proj', ffn_up: 'mlp.gate_up_proj' };

const PREFIX = 'base_model.model.model.layers.';

function modulesFor(arch: string): Record<string, string> {
  return arch === 'phi3' ? PHI3_MODULES : MODULES;
}

/** `blk.3.attn_q.weight` → `base_model.model.model.layers.3.self_attn.q_proj`, or null for an unknown tensor. */
export function hfModuleOf(target: string, arch: string): string | null {
  const m = /^blk\.(\d+)\.(\w+)\.weight$/.exec(target);
  const module = m ? modulesFor(arch)[m[2]!] : undefined;
  return m && module ? `${PREFIX}${m[1]}.${module}` : null;
}

/** The Hugging Face module names (q_proj, …) of DocTune's LoRA targets (attn_q, …) for an architecture. */
export function hfTargetNames(targets: readonly string[], arch: string): string[] {
  return targets.map((t) => modulesFor(arch)[arch === 'phi3' && t === 'attn_q' ? 'attn_qkv' : t]?.split('.').at(-1))
    .filter((m, i, all): m is string => Boolean(m) && all.indexOf(m) === i);
}

/** The reverse: a PEFT module path → the GGUF tensor it adapts. */
export function ggufTargetOf(module: string, arch: string): string | null {
  // Gemma 3's multimodal checkpoints keep the text model under language_model (newer and older transformers).
  const m = /^(?:base_model\.model\.)?(?:model\.language_model\.|language_model\.model\.|model\.)layers\.(\d+)\.(.+)$/.exec(module);
  if (!m) return null;
  const stem = Object.entries(modulesFor(arch)).find(([, hf]) => hf === m[2])?.[0];
  return stem ? `blk.${m[1]}.${stem}.weight` : null;
}

/**
 * The row order of llama's q (n_head heads) or k (n_head_kv heads) in GGUF, from Hugging Face's: within
 * each head the first half and the second half of the rotary dimensions are interleaved. `toHf` undoes it.
 */
export function permuteRows(b: Float32Array, nOut: number, rank: number, heads: number, toHf: boolean): Float32Array {
  const d = nOut / heads;
  if (!Number.isInteger(d) || d % 2) throw new DocTuneError('MODEL', `cannot split ${nOut} rows into ${heads} heads of even size`);
  const out = new Float32Array(b.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < d / 2; i++) {
      for (let j = 0; j < 2; j++) {
        const gguf = h * d + i * 2 + j;
        const hf = h * d + j * (d / 2) + i;
        const [from, to] = toHf ? [gguf, hf] : [hf, gguf];
        out.set(b.subarray(from * rank, (from + 1) * rank), to * rank);
      }
    }
  }
  return out;
}

/** Heads whose rows the conversion permuted for this target, or null when it did not. */
function permutedHeads(base: GgufFile, target: string): number | null {
  const arch = metaString(base, 'general.architecture');
  if (arch !== 'llama') return null;
  const heads = metaNumber(base, 'llama.attention.head_count');
  const kv = metaNumber(base, 'llama.attention.head_count_kv') ?? heads;
  if (/\.attn_q\.weight$/.test(target)) return heads ?? null;
  if (/\.attn_k\.weight$/.test(target)) return kv ?? null;
  return null;
}

/** A GGUF LoRA adapter's pairs as F32 (F16 and BF16 adapters widened). */
export async function readLoraGguf(adapterPath: string, base: GgufFile): Promise<LoraAdapter> {
  const file = await readGguf(adapterPath);
  validateLoraAdapter(file, base);
  const alpha = metaNumber(file, 'adapter.lora.alpha') ?? 0;
  const pairs: LoraPair[] = [];
  let rank = 0;
  for (const t of file.tensors.filter((x) => x.name.endsWith('.lora_a'))) {
    const target = t.name.slice(0, -'.lora_a'.length);
    const bInfo = file.tensors.find((x) => x.name === `${target}.lora_b`)!;
    const values = async (info: typeof t): Promise<Float32Array> => {
      const raw = new Uint8Array(await readTensorData(file, info.name));
      const n = info.dims.reduce((a, d) => a * d, 1);
      return info.type === GgmlType.F32 ? new Float32Array(raw.slice().buffer) : dequantize(info.type, raw, n);
    };
    rank = t.dims[1]!;
    pairs.push({ target, a: await values(t), b: await values(bInfo) });
  }
  // alpha 0 means "no alpha" to llama.cpp: the scale is 1, the same as alpha = r.
  return { rank, alpha: alpha || rank, pairs };
}

export interface PeftExport {
  dir: string;
  files: string[];
  targetModules: string[];
  baseModel: string;
}

/** Write a DocTune (llama.cpp) adapter as a PEFT adapter folder. */
export async function exportPeftAdapter(adapterPath: string, basePath: string, outDir: string, options: { baseModel?: string } = {}): Promise<PeftExport> {
  const base = await readGguf(basePath);
  const arch = metaString(base, 'general.architecture') ?? 'llama';
  const adapter = await readLoraGguf(adapterPath, base);
  const tensors = new Map<string, SafeTensor>();
  const targetModules = new Set<string>();
  for (const pair of adapter.pairs) {
    const module = hfModuleOf(pair.target, arch);
    if (!module) throw new DocTuneError('MODEL', `no Hugging Face module for "${pair.target}" in a ${arch} model`, { path: adapterPath });
    const { nIn, nOut } = targetShape(base, pair.target);
    const heads = permutedHeads(base, pair.target);
    const b = heads ? permuteRows(pair.b, nOut, adapter.rank, heads, true) : pair.b;
    tensors.set(`${module}.lora_A.weight`, { shape: [adapter.rank, nIn], data: pair.a });
    tensors.set(`${module}.lora_B.weight`, { shape: [nOut, adapter.rank], data: b });
    targetModules.add(module.split('.').at(-1)!);
  }
  const baseModel = options.baseModel ?? hfRepoOf(base) ?? '';
  if (!baseModel) {
    throw new DocTuneError('BAD_ARGUMENT', 'the base model does not record the Hugging Face model it was converted from: give it with --base (e.g. --base Qwen/Qwen2.5-0.5B-Instruct)', { path: basePath });
  }
  await fs.mkdir(outDir, { recursive: true });
  const config = {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: baseModel,
    r: adapter.rank,
    lora_alpha: adapter.alpha,
    target_modules: [...targetModules].sort(),
    lora_dropout: 0,
    bias: 'none',
    fan_in_fan_out: false,
    use_rslora: false,
    use_dora: false,
    modules_to_save: null,
    inference_mode: true,
  };
  const weights = path.join(outDir, 'adapter_model.safetensors');
  await writeSafetensors(weights, tensors, { format: 'pt' });
  const configPath = path.join(outDir, 'adapter_config.json');
  await writeFileAtomic(configPath, `${JSON.stringify(config, null, 2)}\n`);
  return { dir: outDir, files: [weights, configPath], targetModules: config.target_modules, baseModel };
}

/** The Hugging Face repository a GGUF was converted from, where its converter recorded it. */
export function hfRepoOf(base: GgufFile): string | null {
  const url = metaString(base, 'general.source.url') ?? metaString(base, 'general.base_model.0.repo_url') ?? '';
  const m = /huggingface\.co\/([\w.-]+\/[\w.-]+)/.exec(url);
  return m ? m[1]! : metaString(base, 'general.source.huggingface.repository') ?? null;
}

/** What DocTune reads of adapter_config.json (PEFT writes more; the rest is left alone). */
const PeftConfig = z
  .object({
    peft_type: z.string().optional(),
    r: z.number().int().positive().optional(),
    lora_alpha: z.number().positive().optional(),
    use_rslora: z.boolean().optional(),
    use_dora: z.boolean().optional(),
    modules_to_save: z.array(z.string()).nullable().optional(),
    rank_pattern: z.record(z.string(), z.number()).optional(),
    alpha_pattern: z.record(z.string(), z.number()).optional(),
    bias: z.string().optional(),
  })
  .loose();
type PeftConfig = z.infer<typeof PeftConfig>;

/** Read a PEFT adapter folder into a llama.cpp adapter for `basePath`, checked against the base like any adapter. */
export async function importPeftAdapter(dir: string, basePath: string, outPath: string): Promise<{ path: string; pairs: number; rank: number; alpha: number }> {
  const configPath = path.join(dir, 'adapter_config.json');
  const weightsPath = path.join(dir, 'adapter_model.safetensors');
  let raw: unknown;
  try {
    raw = JSON.parse(await fs.readFile(configPath, 'utf8'));
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new DocTuneError('BAD_ARGUMENT', missing ? 'no adapter_config.json: not a PEFT adapter folder' : `adapter_config.json is not valid JSON: ${(err as Error).message}`, { path: configPath });
  }
  const parsed = PeftConfig.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DocTuneError('BAD_ARGUMENT', `adapter_config.json: ${issue ? `${issue.path.join('.') || 'config'}: ${issue.message}` : 'not a PEFT adapter config'}`, { path: configPath });
  }
  const config: PeftConfig = parsed.data;
  const refuse = (why: string): never => {
    throw new DocTuneError('UNSUPPORTED_FORMAT', `cannot import this adapter: ${why}`, { path: dir });
  };
  if (config.peft_type && config.peft_type !== 'LORA') refuse(`it is a ${config.peft_type} adapter, not LoRA`);
  if (config.use_dora) refuse('it is a DoRA adapter (use_dora), which llama.cpp cannot apply');
  if (config.modules_to_save?.length) refuse(`it trains whole modules too (modules_to_save: ${config.modules_to_save.join(', ')}), which a LoRA adapter cannot carry`);
  if (config.bias && config.bias !== 'none') refuse(`it trains biases (bias: ${config.bias})`);
  if (config.alpha_pattern && Object.keys(config.alpha_pattern).length) refuse('it has a different alpha per module (alpha_pattern)');
  const st = await readSafetensors(weightsPath).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new DocTuneError('BAD_ARGUMENT', 'no adapter_model.safetensors (a .bin adapter must be converted to safetensors first)', { path: weightsPath });
    throw err;
  });

  const base = await readGguf(basePath);
  const arch = metaString(base, 'general.architecture') ?? 'llama';
  const pairs: LoraPair[] = [];
  const ranks = new Set<number>();
  for (const [name, a] of st.tensors) {
    if (/lora_embedding_|embed_tokens|lm_head/.test(name)) refuse(`it adapts the embeddings or the output layer ("${name}")`);
    const m = /^(.*)\.lora_A(?:\.default)?\.weight$/.exec(name);
    if (!m) {
      if (!/\.lora_B(?:\.default)?\.weight$/.test(name)) refuse(`unexpected tensor "${name}"`);
      continue;
    }
    const b = st.tensors.get(`${m[1]}.lora_B.weight`) ?? st.tensors.get(`${m[1]}.lora_B.default.weight`);
    if (!b) refuse(`"${m[1]}" has lora_A but no lora_B`);
    const target = ggufTargetOf(m[1]!, arch);
    if (!target) refuse(`no GGUF tensor for module "${m[1]}" in a ${arch} model`);
    const { nIn, nOut } = targetShape(base, target!);
    const rank = a.shape[0]!;
    if (a.shape[1] !== nIn || b!.shape[0] !== nOut || b!.shape[1] !== rank) {
      refuse(`"${m[1]}" has shapes A [${a.shape.join(', ')}], B [${b!.shape.join(', ')}], which do not fit the base's [${nOut}, ${nIn}]`);
    }
    ranks.add(rank);
    const heads = permutedHeads(base, target!);
    pairs.push({ target: target!, a: a.data, b: heads ? permuteRows(b!.data, nOut, rank, heads, false) : b!.data });
  }
  if (!pairs.length) refuse('it holds no LoRA weights');
  if (ranks.size > 1) refuse(`its modules have different ranks (${[...ranks].join(', ')})`);
  const rank = [...ranks][0]!;
  const loraAlpha = config.lora_alpha ?? rank;
  // llama.cpp scales by alpha/r: rsLoRA's lora_alpha/√r is the same with alpha = lora_alpha·√r.
  const alpha = config.use_rslora ? loraAlpha * Math.sqrt(rank) : loraAlpha;
  await writeLoraAdapter(outPath, base, { rank, alpha, pairs });
  validateLoraAdapter(await readGguf(outPath), base);
  return { path: outPath, pairs: pairs.length, rank, alpha };
}
