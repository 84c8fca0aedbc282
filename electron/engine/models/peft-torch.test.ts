/**
 * PEFT adapters against an independent reference: a PyTorch decoder (testing/torch_reference.py) running the
 * model in Hugging Face layout with the exported PEFT folder applied as PEFT applies it, against llama.cpp
 * running the GGUF base with the adapter imported back from that folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import { getLlama, type Llama } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, TINY_MODEL } from '../testing/corpus.js';
import { HF_CHECKPOINT_ARCHS, writeHfCheckpoint } from '../testing/hf-checkpoint.js';
import { maxAbsDifference, nextTokenProbabilities } from '../testing/llama-reference.js';
import { writeRandomAdapter } from '../testing/random-adapter.js';
import { writeRandomModel, type TinyModelShape } from '../testing/random-model.js';
import { torchNextTokenProbabilities, torchPython } from '../testing/torch-python.js';
import { readSafetensors, writeSafetensors } from './safetensors.js';
import { exportPeftAdapter, importPeftAdapter } from './peft-adapter.js';

const python = torchPython();
if (!python) {
  const why = 'no Python with PyTorch (Debian: apt-get install python3-torch)';
  if (process.env.DOCTUNE_REQUIRE_TORCH_TEST) throw new Error(`PyTorch reference tests required but ${why}`);
  console.log(`skipped: PyTorch reference tests: ${why}`);
}

// Weights at ±0.3 (not ±1/√n_in) give a peaked distribution, where a wrong adapter shows far above the tolerance.
// Grouped-query attention everywhere; qwen2 adds q/k/v biases, qwen3 q/k norms and a head size ≠ embd/heads.
const SHAPES: Record<(typeof HF_CHECKPOINT_ARCHS)[number], TinyModelShape> = {
  llama: { arch: 'llama', embd: 64, ff: 96, layers: 2, heads: 4, kvHeads: 2, randomNorms: true, weightScale: 0.3 },
  qwen2: { arch: 'qwen2', embd: 64, ff: 96, layers: 2, heads: 4, kvHeads: 2, randomNorms: true, weightScale: 0.3 },
  qwen3: { arch: 'qwen3', embd: 64, ff: 96, layers: 2, heads: 4, kvHeads: 2, headDim: 32, randomNorms: true, weightScale: 0.3 },
  // Five sliding-window layers (window 3, shorter than the prompt) and one global layer with linear RoPE scaling.
  gemma3: { arch: 'gemma3', embd: 64, ff: 96, layers: 6, heads: 4, kvHeads: 1, headDim: 32, slidingWindow: 3, ropeScaling: 8, randomNorms: true, weightScale: 0.3 },
  // Fused q|k|v and gate|up, RoPE on 12 of 16 dimensions, LongRoPE factors and attention factor.
  phi3: { arch: 'phi3', embd: 64, ff: 96, layers: 2, heads: 4, kvHeads: 2, rotDim: 12, ropeFactors: true, randomNorms: true, weightScale: 0.3 },
};
const TOKENS = [1, 400, 81, 261, 79, 302, 338, 45, 290];
const TOLERANCE = 1e-3;

describe.skipIf(!python)('PEFT adapters against a PyTorch reference', () => {
  let llama: Llama;
  beforeAll(async () => {
    llama = await getLlama({ gpu: false });
  });
  afterAll(async () => {
    await llama?.dispose();
  });

  for (const arch of HF_CHECKPOINT_ARCHS) {
    it(`${arch}: PyTorch with the exported PEFT adapter gives llama.cpp's next-token probabilities with it imported back`, async () => {
      const dir = tempDir(`peft-torch-${arch}`);
      const base = await writeRandomModel(path.join(dir, 'base.gguf'), TINY_MODEL, SHAPES[arch], 3);
      const hf = path.join(dir, 'hf');
      await writeHfCheckpoint(base, hf);
      const adapterPath = path.join(dir, 'adapter.gguf');
      // rsLoRA-free scale 12/4 = 3 with A, B in ±0.3: the adapter moves the distribution far past the tolerance.
      await writeRandomAdapter(base, adapterPath, 4, 12, 17);
      const peft = path.join(dir, 'peft');
      await exportPeftAdapter(adapterPath, base.path, peft, { baseModel: `test/${arch}` });
      const imported = path.join(dir, 'imported.gguf');
      await importPeftAdapter(peft, base.path, imported);

      // The reference itself first: without an adapter, PyTorch and llama.cpp agree on the base.
      const baseDiff = maxAbsDifference(torchNextTokenProbabilities(hf, TOKENS), await nextTokenProbabilities(llama, base.path, TOKENS));
      const torchAdapted = torchNextTokenProbabilities(hf, TOKENS, peft);
      const llamaImported = await nextTokenProbabilities(llama, base.path, TOKENS, imported);
      const adaptedDiff = maxAbsDifference(torchAdapted, llamaImported);
      const exportedDiff = maxAbsDifference(torchAdapted, await nextTokenProbabilities(llama, base.path, TOKENS, adapterPath));
      const withoutAdapter = maxAbsDifference(torchAdapted, await nextTokenProbabilities(llama, base.path, TOKENS));
      console.log(`${arch}: max |Δp| base ${baseDiff.toExponential(2)}, exported adapter ${exportedDiff.toExponential(2)}, imported adapter ${adaptedDiff.toExponential(2)}; without the adapter ${withoutAdapter.toExponential(2)}`);
      expect(baseDiff).toBeLessThan(TOLERANCE);
      expect(exportedDiff).toBeLessThan(TOLERANCE);
      expect(adaptedDiff).toBeLessThan(TOLERANCE);
      // The adapter matters many times over the tolerance, so agreement above is not agreement on the base alone.
      expect(withoutAdapter).toBeGreaterThan(10 * TOLERANCE);
    });
  }

  it("llama: a PEFT adapter whose q/k rows were left in GGUF's order is caught by the reference", async () => {
    const dir = tempDir('peft-torch-control');
    const base = await writeRandomModel(path.join(dir, 'base.gguf'), TINY_MODEL, SHAPES.llama, 3);
    const hf = path.join(dir, 'hf');
    await writeHfCheckpoint(base, hf);
    const adapterPath = path.join(dir, 'adapter.gguf');
    const adapter = await writeRandomAdapter(base, adapterPath, 4, 12, 17);
    const peft = path.join(dir, 'peft');
    await exportPeftAdapter(adapterPath, base.path, peft, { baseModel: 'test/llama' });
    // The same folder with q's and k's lora_B copied from the GGUF as they are: what an export that
    // forgot the conversion's permutation would write.
    const st = await readSafetensors(path.join(peft, 'adapter_model.safetensors'));
    for (const pair of adapter.pairs.filter((p) => /attn_[qk]\./.test(p.target))) {
      const [, layer, which] = /^blk\.(\d+)\.attn_([qk])\./.exec(pair.target)!;
      const name = `base_model.model.model.layers.${layer}.self_attn.${which}_proj.lora_B.weight`;
      st.tensors.set(name, { shape: st.tensors.get(name)!.shape, data: pair.b });
    }
    const wrong = path.join(dir, 'peft-unpermuted');
    fs.mkdirSync(wrong);
    fs.copyFileSync(path.join(peft, 'adapter_config.json'), path.join(wrong, 'adapter_config.json'));
    await writeSafetensors(path.join(wrong, 'adapter_model.safetensors'), st.tensors);
    const diff = maxAbsDifference(torchNextTokenProbabilities(hf, TOKENS, wrong), await nextTokenProbabilities(llama, base.path, TOKENS, adapterPath));
    console.log(`llama: max |Δp| with q/k lora_B left in GGUF order ${diff.toExponential(2)}`);
    expect(diff).toBeGreaterThan(10 * TOLERANCE);
  });
});
