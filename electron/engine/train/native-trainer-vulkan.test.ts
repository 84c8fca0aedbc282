/**
 * The training step on a GPU backend, checked against the CPU. CI runs it on Vulkan through Mesa's lavapipe
 * (a Vulkan device on the CPU; ggml lists it only with GGML_VK_VISIBLE_DEVICES); with a real GPU present
 * (DOCTUNE_TEST_DEVICE=cuda|vulkan|metal) the same checks run there. Every node must run on the device:
 * the fallback count is printed and asserted 0.
 */
import fs from 'node:fs';
import path from 'node:path';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import { describe, expect, it } from 'vitest';
import { readGguf, type GgufFile } from '../models/gguf/gguf-reader.js';
import { GgmlType } from '../models/gguf/gguf-types.js';
import { quantize } from '../models/gguf/quantize.js';
import { writeLoraAdapter } from '../models/lora-adapter.js';
import { tempDir, TINY_MODEL } from '../testing/corpus.js';
import { fiftySteps, gradientsAt, precisionTrainer, relativeL2 } from '../testing/precision-runs.js';
import { ARCH_CASES } from '../testing/arch-cases.js';
import { randomF32, rng, writeQuantizedCopy, writeRandomModel } from '../testing/random-model.js';
import { maxProbabilityDifference } from '../testing/llama-reference.js';
import { testDevice } from '../testing/test-device.js';
import { backendDirs, loadAddon, targetBits, LORA_TARGETS, type DeviceChoice, type NativeTrainer } from './native-addon.js';
import { adapterFromParams, packBatch } from './train-loop.js';
import { DEFAULT_TRAIN_CONFIG } from './train-config.js';
import { runTraining, type TrainProgress } from './train-supervisor.js';

const gpu = (process.env.DOCTUNE_TEST_DEVICE ?? 'vulkan') as DeviceChoice;
const { device: found, why } = testDevice(gpu);
if (!found) {
  if (process.env.DOCTUNE_REQUIRE_GPU_TEST) throw new Error(`GPU training tests required but ${why}`);
  console.log(`skipped: GPU training tests: ${why}`);
}

async function trainer(modelPath: string, device: DeviceChoice): Promise<NativeTrainer> {
  return loadAddon().createTrainer({ modelPath, backendDirs: backendDirs(), device, rank: 4, alpha: 8, targets: targetBits(LORA_TARGETS), seed: 7, threads: 1, precision: 'f32' });
}

// Two sequences of different lengths in one batch: the padding and the batch dimension are exercised too.
const examples = [
  { tokens: [1, 403, 407, 261, 378, 432, 290, 301, 302, 310], labels: [-1, -1, 261, 378, 432, 290, 301, 302, 310, -1] },
  { tokens: [1, 300, 310, 320, 330, 340, 350], labels: [300, 310, 320, 330, 340, 350, -1] },
];
const batch = packBatch(examples, 64);

async function twentySteps(modelPath: string, device: DeviceChoice): Promise<{ losses: number[]; splits: number; fallbacks: number; backend: string }> {
  const t = await trainer(modelPath, device);
  try {
    t.plan(batch.length, 2, true);
    const losses: number[] = [];
    for (let i = 0; i < 20; i++) {
      losses.push(await t.loss(batch.tokens, batch.labels, true, 2));
      await t.adamwStep({ lr: 5e-4, clip: 1 });
    }
    const info = t.info();
    return { losses, splits: info.nSplits, fallbacks: info.nFallbacks, backend: `${info.device.backend} ${info.device.description}` };
  } finally {
    t.dispose();
  }
}

describe.skipIf(!found)(`native LoRA trainer on ${gpu}`, () => {
  const dir = tempDir('trainer-gpu');
  const bases: { name: string; file: () => Promise<GgufFile> }[] = [
    { name: 'F32', file: () => readGguf(TINY_MODEL) },
    { name: 'Q8_0', file: async () => writeQuantizedCopy(path.join(dir, 'stories260K-q8_0.gguf'), await readGguf(TINY_MODEL), GgmlType.Q8_0, quantize) },
  ];

  for (const b of bases) {
    it(`${b.name} base: 20 steps give the CPU's losses (within 2%) with every node on the device`, async () => {
      const model = await b.file();
      const cpu = await twentySteps(model.path, 'cpu');
      const dev = await twentySteps(model.path, gpu);
      console.log(`${b.name} on ${dev.backend}: ${dev.splits} split(s), ${dev.fallbacks} CPU fallback node(s); losses ${dev.losses[0]!.toFixed(4)} → ${dev.losses.at(-1)!.toFixed(4)} (CPU ${cpu.losses[0]!.toFixed(4)} → ${cpu.losses.at(-1)!.toFixed(4)})`);
      expect(dev.backend.toLowerCase()).toContain(gpu);
      expect(dev.fallbacks).toBe(0);
      expect(dev.splits).toBe(1);
      expect(cpu.losses.at(-1)!).toBeLessThan(cpu.losses[0]! * 0.7); // it learned something to compare
      dev.losses.forEach((l, i) => expect(Math.abs(l - cpu.losses[i]!) / cpu.losses[i]!, `step ${i}`).toBeLessThan(0.02));
    });
  }

  // The CPU's gradients are checked against finite differences in native-trainer.test.ts; finite differences
  // on the device itself are noise, since GPU matmuls may round activations to F16 (lavapipe's do).
  it("gradients on the device equal the CPU's, with ggml's fused backward ops and with the portable ones", async () => {
    const grads: Float32Array[] = [];
    for (const [device, portable] of [['cpu', ''], [gpu, ''], [gpu, '1']] as const) {
      process.env.DOCTUNE_PORTABLE_BACKWARD = portable;
      const t = await trainer(TINY_MODEL, device);
      try {
        t.setParams(randomF32(t.info().nParams, 0.1, rng(11)));
        await t.loss(batch.tokens, batch.labels, true, 2);
        grads.push(t.getGrads());
        expect(t.info().nFallbacks).toBe(0);
      } finally {
        t.dispose();
        delete process.env.DOCTUNE_PORTABLE_BACKWARD;
      }
    }
    for (const [k, label] of [[1, 'fused'], [2, 'portable']] as const) {
      let num = 0;
      let den = 0;
      grads[k]!.forEach((g, i) => {
        num += (g - grads[0]![i]!) ** 2;
        den += grads[0]![i]! ** 2;
      });
      console.log(`gradients on ${gpu} (${label} backward ops) vs CPU: ${(Math.sqrt(num / den) * 100).toFixed(3)}% relative L2`);
      expect(den).toBeGreaterThan(0);
      expect(Math.sqrt(num / den)).toBeLessThan(1e-2);
    }
  });

  // Every architecture's step on the device (q/k norms, post-norms, GELU, sliding windows, fused matrices,
  // RoPE factors): the CPU's gradients (checked against finite differences and llama.cpp elsewhere), from
  // one device graph with no node left to the CPU, with ggml's fused backward ops and with the portable ones.
  ARCH_CASES.forEach((c, n) => {
    it(`${c.name}: gradients on ${gpu} equal the CPU's, every node on the device`, async () => {
      const model = await writeRandomModel(path.join(dir, `${c.shape.arch}.gguf`), TINY_MODEL, c.shape, 70 + n);
      const grads: Float32Array[] = [];
      for (const [device, portable] of [['cpu', ''], [gpu, ''], [gpu, '1']] as const) {
        process.env.DOCTUNE_PORTABLE_BACKWARD = portable;
        const t = await trainer(model.path, device);
        try {
          t.setParams(randomF32(t.info().nParams, 0.05, rng(12)));
          await t.loss(batch.tokens, batch.labels, true, 2);
          grads.push(t.getGrads());
          if (device !== 'cpu') {
            expect(t.info().nFallbacks, `${device} fallbacks`).toBe(0);
            expect(t.info().nSplits).toBe(1);
          }
        } finally {
          t.dispose();
          delete process.env.DOCTUNE_PORTABLE_BACKWARD;
        }
      }
      for (const k of [1, 2]) {
        const err = relativeL2(grads[k]!, grads[0]!);
        console.log(`${c.shape.arch} on ${gpu} (${k === 1 ? 'fused' : 'portable'} backward ops) vs CPU: ${(err * 100).toFixed(3)}% relative L2`);
        expect(err).toBeLessThan(2e-2);
      }
    });
  });

  it(`training through the supervised process on ${gpu}: memory plan first, then every step on the device`, async () => {
    const out = path.join(dir, 'run');
    const data = path.join(dir, 'qa.jsonl');
    fs.writeFileSync(data, [['What color is the ball?', 'The ball is red.'], ['Where does the cat sleep?', 'The cat sleeps in the box.']]
      .map(([instruction, output]) => JSON.stringify({ instruction, output })).join('\n'));
    const events: TrainProgress[] = [];
    const result = await runTraining(
      { config: { ...DEFAULT_TRAIN_CONFIG, modelPath: TINY_MODEL, device: gpu, epochs: 2, batch: 2, evalSplit: 0, lr: 1e-3 }, dataFile: data, outDir: out },
      { onEvent: (e) => events.push(e) },
    );
    const plan = events.find((e) => e.type === 'plan');
    expect(plan && plan.type === 'plan' && plan.device.backend.toLowerCase()).toBe(gpu);
    expect(plan && plan.type === 'plan' && plan.memory.compute).toBeGreaterThan(0);
    expect(events.findIndex((e) => e.type === 'plan')).toBeLessThan(events.findIndex((e) => e.type === 'step'));
    expect(result.device.backend.toLowerCase()).toBe(gpu);
    expect(result.splits).toBe(1);
    expect(result.cpu_fallbacks).toBe(0);
    const run = JSON.parse(fs.readFileSync(result.run, 'utf8'));
    expect(run.graph).toEqual({ splits: 1, cpu_fallbacks: 0 });
    expect(run.memory_plan.seq).toBeGreaterThan(0);
  });

  // Reduced precision on the device: the activation operand of every product cast to F16/BF16 (frozen
  // weights stay in their type), products accumulated in F32, every node still on the device.
  for (const [name, file] of [
    ['stories260K', async () => TINY_MODEL],
    ['random qwen2', async () => (await writeRandomModel(path.join(dir, 'qwen2.gguf'), TINY_MODEL, { arch: 'qwen2', embd: 64, ff: 128, layers: 2, heads: 4, kvHeads: 2 }, 5)).path],
  ] as const) {
    it(`${name}, f16 and bf16 on ${gpu}: gradients within 5% and 50 steps' losses within 1% of F32, no CPU fallback`, async () => {
      const model = await file();
      const f32 = await gradientsAt(model, gpu, 'f32');
      const ref = await fiftySteps(model, gpu, 'f32');
      for (const precision of ['f16', 'bf16'] as const) {
        const low = await gradientsAt(model, gpu, precision);
        expect(low.used).toBe(precision);
        const gradError = relativeL2(low.grads, f32.grads);
        const run = await fiftySteps(model, gpu, precision);
        const lossError = Math.max(...run.losses.map((l, i) => Math.abs(l - ref.losses[i]!) / ref.losses[i]!));
        console.log(`${name} ${precision} on ${gpu}: gradients ${(gradError * 100).toFixed(3)}% from F32, losses within ${(lossError * 100).toFixed(3)}% over 50 steps, ${run.fallbacks} CPU fallback(s)`);
        expect(gradError).toBeGreaterThan(0);
        expect(gradError).toBeLessThan(0.05);
        expect(ref.losses.at(-1)!).toBeLessThan(ref.losses[0]! * 0.95);
        expect(lossError).toBeLessThan(0.01);
        expect(run.fallbacks).toBe(0);
      }
      // Six runs of 50 steps on lavapipe (a CPU pretending to be a GPU): minutes on a small machine.
    }, 300_000);
  }

  it(`auto measures the products on ${gpu} and says what it chose`, async () => {
    const t = await precisionTrainer(TINY_MODEL, gpu, 'auto');
    try {
      expect(t.info().precisionNote).toMatch(/^auto: (f32|f16|bf16) \(products on \S+: f32 [\d.]+ ms, f16 ([\d.]+ ms|n\/a), bf16 ([\d.]+ ms|n\/a)\)$/);
    } finally {
      t.dispose();
    }
  });

  it("the device's forward with an adapter equals llama.cpp loading the written adapter", async () => {
    const base = await readGguf(TINY_MODEL);
    const t = await trainer(TINY_MODEL, gpu);
    const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, logger: () => undefined });
    try {
      t.setParams(randomF32(t.info().nParams, 0.1, rng(5)));
      const adapterPath = path.join(dir, 'gpu-adapter.gguf');
      await writeLoraAdapter(adapterPath, base, adapterFromParams(t, 4, 8));
      const tokens = [403, 407, 261, 378];
      const logits = await t.logits(new Int32Array(tokens));
      const maxDiff = await maxProbabilityDifference(llama, TINY_MODEL, adapterPath, tokens, logits, t.info().nVocab);
      expect(maxDiff).toBeLessThan(1e-3);
    } finally {
      t.dispose();
      await llama.dispose();
    }
  });
});
