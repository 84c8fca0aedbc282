import fs from 'node:fs';
import path from 'node:path';
import { getLlama, type Llama } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, TINY_MODEL } from '../testing/corpus.js';
import { convertPermute, inverseConvertPermute } from '../testing/hf-checkpoint.js';
import { maxAbsDifference, nextTokenProbabilities } from '../testing/llama-reference.js';
import { writeRandomModel, writeWithReplacedTensors } from '../testing/random-model.js';
import { ALL_TARGETS, writeRandomAdapter } from '../testing/random-adapter.js';
import { readTensorData, type GgufFile } from './gguf/gguf-reader.js';
import { mergeLoraPair, targetShape } from './lora-adapter.js';
import { exportPeftAdapter, ggufTargetOf, importPeftAdapter, readLoraGguf } from './peft-adapter.js';
import { readSafetensors, writeSafetensors } from './safetensors.js';


async function f32Tensor(file: GgufFile, name: string): Promise<Float32Array> {
  return new Float32Array(new Uint8Array(await readTensorData(file, name)).slice().buffer);
}

describe('PEFT adapters in and out', () => {
  const dir = tempDir('peft');
  let llama: Llama;
  let base: GgufFile;
  const basePath = path.join(dir, 'llama-gqa.gguf');
  beforeAll(async () => {
    // Grouped-query attention (4 heads, 2 for k/v) and a head size of 16: q and k are permuted differently.
    base = await writeRandomModel(basePath, TINY_MODEL, { arch: 'llama', embd: 64, ff: 96, layers: 2, heads: 4, kvHeads: 2 }, 3);
    llama = await getLlama({ gpu: false });
  });
  afterAll(async () => {
    await llama?.dispose();
  });

  it('writes PEFT names, shapes and config, and reads back the very same adapter', async () => {
    const adapterPath = path.join(dir, 'adapter.gguf');
    const adapter = await writeRandomAdapter(base, adapterPath, 4, 8, 11);
    const out = path.join(dir, 'peft');
    const exported = await exportPeftAdapter(adapterPath, basePath, out, { baseModel: 'meta-llama/Llama-3.2-1B-Instruct' });
    expect(exported.targetModules).toEqual(['down_proj', 'gate_proj', 'k_proj', 'o_proj', 'q_proj', 'up_proj', 'v_proj']);
    const config = JSON.parse(fs.readFileSync(path.join(out, 'adapter_config.json'), 'utf8'));
    expect(config).toMatchObject({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 4, lora_alpha: 8, base_model_name_or_path: 'meta-llama/Llama-3.2-1B-Instruct', use_rslora: false, use_dora: false });
    const st = await readSafetensors(path.join(out, 'adapter_model.safetensors'));
    expect(st.tensors.get('base_model.model.model.layers.1.self_attn.k_proj.lora_A.weight')!.shape).toEqual([4, 64]);
    expect(st.tensors.get('base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight')!.shape).toEqual([32, 4]);
    expect(st.tensors.get('base_model.model.model.layers.0.mlp.down_proj.lora_B.weight')!.shape).toEqual([64, 4]);
    expect(st.tensors.size).toBe(2 * 2 * ALL_TARGETS.length);
    // q's and k's B rows are in Hugging Face's order: the conversion's permutation of them gives GGUF's back.
    const q = adapter.pairs.find((p) => p.target === 'blk.0.attn_q.weight')!;
    const qB = st.tensors.get('base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight')!.data;
    expect(qB).not.toEqual(q.b);
    expect(convertPermute(qB, 64, 4, 4)).toEqual(q.b);
    const k = adapter.pairs.find((p) => p.target === 'blk.0.attn_k.weight')!;
    expect(convertPermute(st.tensors.get('base_model.model.model.layers.0.self_attn.k_proj.lora_B.weight')!.data, 32, 4, 2)).toEqual(k.b);
    expect(st.tensors.get('base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight')!.data).toEqual(adapter.pairs.find((p) => p.target === 'blk.0.attn_v.weight')!.b);

    const back = path.join(dir, 'back.gguf');
    await importPeftAdapter(out, basePath, back);
    const again = await readLoraGguf(back, base);
    expect(again.rank).toBe(4);
    expect(again.alpha).toBe(8);
    const byTarget = new Map(again.pairs.map((p) => [p.target, p]));
    for (const p of adapter.pairs) {
      expect(byTarget.get(p.target)!.a).toEqual(p.a);
      expect(byTarget.get(p.target)!.b).toEqual(p.b);
    }
  });

  it('an adapter applied in Hugging Face layout and converted gives the probabilities llama.cpp gives with the GGUF adapter', async () => {
    const adapterPath = path.join(dir, 'numeric.gguf');
    // A strong adapter (scale 24/4), so that a wrong row order would show far above the tolerance.
    const adapter = await writeRandomAdapter(base, adapterPath, 4, 24, 21);
    const out = path.join(dir, 'peft-numeric');
    await exportPeftAdapter(adapterPath, basePath, out, { baseModel: 'x/y' });
    const st = await readSafetensors(path.join(out, 'adapter_model.safetensors'));
    // What transformers + PEFT hold: the base weights in HF layout (the conversion undone) plus the PEFT
    // adapter merged there (W += lora_alpha/r · B·A); then converted to GGUF as convert_hf_to_gguf does.
    const mergedVia = async (file: string, peftB: boolean): Promise<void> => {
    const replace = new Map<string, Float32Array>();
    for (const p of adapter.pairs) {
      const { nIn, nOut } = targetShape(base, p.target);
      const m = /^blk\.(\d+)\.(\w+)\.weight$/.exec(p.target)!;
      const module = { attn_q: 'self_attn.q_proj', attn_k: 'self_attn.k_proj', attn_v: 'self_attn.v_proj', attn_output: 'self_attn.o_proj', ffn_gate: 'mlp.gate_proj', ffn_up: 'mlp.up_proj', ffn_down: 'mlp.down_proj' }[m[2]!]!;
      const key = `base_model.model.model.layers.${m[1]}.${module}`;
      const heads = m[2] === 'attn_q' ? 4 : m[2] === 'attn_k' ? 2 : 0;
      const w = await f32Tensor(base, p.target);
      const hf = heads ? inverseConvertPermute(w, nOut, nIn, heads) : w;
      // peftB false: the control, B left in GGUF's row order as if the export had not undone the permutation.
      const b = peftB ? st.tensors.get(`${key}.lora_B.weight`)!.data : p.b;
      const merged = mergeLoraPair(hf, { target: p.target, a: st.tensors.get(`${key}.lora_A.weight`)!.data, b }, nIn, nOut, 4, 24 / 4);
      replace.set(p.target, heads ? convertPermute(merged, nOut, nIn, heads) : merged);
    }
    await writeWithReplacedTensors(file, base, replace);
    };
    const mergedPath = path.join(dir, 'merged.gguf');
    await mergedVia(mergedPath, true);
    const controlPath = path.join(dir, 'merged-unpermuted.gguf');
    await mergedVia(controlPath, false);

    const tokens = [1, 400, 81, 261, 79, 302, 338];
    const probs = (modelPath: string, lora?: string) => nextTokenProbabilities(llama, modelPath, tokens, lora);
    const withAdapter = await probs(basePath, adapterPath);
    const viaHf = await probs(mergedPath);
    const plain = await probs(basePath);
    const control = await probs(controlPath);
    const diff = maxAbsDifference;
    expect(diff(withAdapter, viaHf)).toBeLessThan(1e-3);
    // The adapter matters, and so does q's and k's row order: without either the difference is many times the
    // tolerance (measured: 4.7e-9 as exported, 7.6e-3 without the adapter, 1.0e-2 with B left in GGUF order).
    expect(diff(withAdapter, plain)).toBeGreaterThan(5e-3);
    expect(diff(withAdapter, control)).toBeGreaterThan(5e-3);
  });

  it('honours rsLoRA scaling and refuses what llama.cpp cannot apply, naming the folder', async () => {
    const adapterPath = path.join(dir, 'rs.gguf');
    await writeRandomAdapter(base, adapterPath, 4, 8, 31);
    const out = path.join(dir, 'peft-rs');
    await exportPeftAdapter(adapterPath, basePath, out, { baseModel: 'x/y' });
    const configPath = path.join(out, 'adapter_config.json');
    const config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
    fs.writeFileSync(configPath, JSON.stringify({ ...config, use_rslora: true, lora_alpha: 16 }));
    const imported = await importPeftAdapter(out, basePath, path.join(dir, 'rs-back.gguf'));
    // PEFT scales by 16/√4 = 8; llama.cpp by alpha/4, so alpha = 32.
    expect(imported.alpha).toBe(32);

    const refusals: [Record<string, unknown>, RegExp][] = [
      [{ use_dora: true }, /DoRA/],
      [{ modules_to_save: ['lm_head'] }, /modules_to_save/],
      [{ peft_type: 'IA3' }, /IA3/],
      [{ alpha_pattern: { q_proj: 4 } }, /alpha per module/],
    ];
    // A field of the wrong type is named, not misread.
    fs.writeFileSync(configPath, JSON.stringify({ ...config, lora_alpha: 'sixteen' }));
    await expect(importPeftAdapter(out, basePath, path.join(dir, 'refused.gguf'))).rejects.toMatchObject({ code: 'BAD_ARGUMENT', path: configPath, message: expect.stringMatching(/adapter_config\.json: lora_alpha/) });
    for (const [patch, why] of refusals) {
      fs.writeFileSync(configPath, JSON.stringify({ ...config, ...patch }));
      await expect(importPeftAdapter(out, basePath, path.join(dir, 'refused.gguf'))).rejects.toMatchObject({ path: out, message: expect.stringMatching(why) });
    }
    fs.writeFileSync(configPath, JSON.stringify(config));
    // An embedding LoRA, and a module of the wrong size.
    const st = await readSafetensors(path.join(out, 'adapter_model.safetensors'));
    const withEmbedding = new Map(st.tensors);
    withEmbedding.set('base_model.model.model.embed_tokens.lora_embedding_A', { shape: [4, 8], data: new Float32Array(32) });
    const embDir = path.join(dir, 'peft-emb');
    fs.mkdirSync(embDir);
    fs.copyFileSync(configPath, path.join(embDir, 'adapter_config.json'));
    await writeSafetensors(path.join(embDir, 'adapter_model.safetensors'), withEmbedding);
    await expect(importPeftAdapter(embDir, basePath, path.join(dir, 'refused.gguf'))).rejects.toThrow(/embeddings or the output layer/);
    const other = await writeRandomModel(path.join(dir, 'other.gguf'), TINY_MODEL, { arch: 'llama', embd: 32, ff: 48, layers: 2, heads: 2, kvHeads: 2 }, 5);
    await expect(importPeftAdapter(out, other.path, path.join(dir, 'refused.gguf'))).rejects.toThrow(/do not fit the base/);
    await expect(importPeftAdapter(dir, basePath, path.join(dir, 'refused.gguf'))).rejects.toThrow(/not a PEFT adapter folder/);
    expect(fs.existsSync(path.join(dir, 'refused.gguf'))).toBe(false);
  });

  it('finds the GGUF tensor of PEFT module paths as transformers names them, Gemma 3 multimodal ones included', () => {
    expect(ggufTargetOf('base_model.model.model.layers.3.self_attn.q_proj', 'llama')).toBe('blk.3.attn_q.weight');
    expect(ggufTargetOf('model.layers.0.mlp.down_proj', 'qwen2')).toBe('blk.0.ffn_down.weight');
    expect(ggufTargetOf('base_model.model.model.language_model.layers.5.self_attn.o_proj', 'gemma3')).toBe('blk.5.attn_output.weight');
    expect(ggufTargetOf('base_model.model.language_model.model.layers.2.mlp.up_proj', 'gemma3')).toBe('blk.2.ffn_up.weight');
    expect(ggufTargetOf('base_model.model.model.layers.1.self_attn.qkv_proj', 'phi3')).toBe('blk.1.attn_qkv.weight');
    expect(ggufTargetOf('base_model.model.model.layers.1.mlp.gate_up_proj', 'phi3')).toBe('blk.1.ffn_up.weight');
    expect(ggufTargetOf('base_model.model.model.vision_tower.layers.0.self_attn.q_proj', 'gemma3')).toBeNull();
    expect(ggufTargetOf('base_model.model.model.layers.1.self_attn.rotary_emb', 'llama')).toBeNull();
  });

  it('asks for the Hugging Face model when the GGUF does not record it', async () => {
    const adapterPath = path.join(dir, 'nobase.gguf');
    await writeRandomAdapter(base, adapterPath, 2, 2, 41);
    await expect(exportPeftAdapter(adapterPath, basePath, path.join(dir, 'nobase'))).rejects.toThrow(/--base/);
  });
});
