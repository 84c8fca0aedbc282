/**
 * Reduced precision on the CPU: the step's products with F16 or BF16 operands (BF16 in the AVX512-BF16
 * kernel where the CPU has it, else rounded and multiplied in F32) train like F32: 50 steps give losses
 * within 1% of F32's, gradients within 5% relative L2, on stories260K and a random Qwen2 (GQA, biases).
 * The same checks on Vulkan are in native-trainer-vulkan.test.ts.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, TINY_MODEL } from '../testing/corpus.js';
import { fiftySteps, gradientsAt, precisionTrainer, relativeL2 } from '../testing/precision-runs.js';
import { writeRandomModel } from '../testing/random-model.js';
import { loadAddon, type Precision } from './native-addon.js';

const addon = loadAddon();

describe('reduced precision on the CPU', () => {
  const dir = tempDir('precision');
  const models: { name: string; file: () => Promise<string> }[] = [
    { name: 'stories260K', file: async () => TINY_MODEL },
    { name: 'random qwen2', file: async () => (await writeRandomModel(path.join(dir, 'qwen2.gguf'), TINY_MODEL, { arch: 'qwen2', embd: 64, ff: 128, layers: 2, heads: 4, kvHeads: 2 }, 5)).path },
  ];

  for (const m of models) {
    it(`${m.name}, f16 and bf16: gradients within 5% and 50 steps' losses within 1% of F32`, async () => {
      const file = await m.file();
      const f32 = await gradientsAt(file, 'cpu', 'f32');
      const ref = await fiftySteps(file, 'cpu', 'f32');
      for (const precision of ['f16', 'bf16'] as const) {
        const low = await gradientsAt(file, 'cpu', precision);
        expect(low.used).toBe(precision);
        const gradError = relativeL2(low.grads, f32.grads);
        const run = await fiftySteps(file, 'cpu', precision);
        const lossError = Math.max(...run.losses.map((l, i) => Math.abs(l - ref.losses[i]!) / ref.losses[i]!));
        console.log(`${m.name} ${precision} on the CPU: gradients ${(gradError * 100).toFixed(3)}% from F32, losses within ${(lossError * 100).toFixed(3)}% over 50 steps (${ref.losses[0]!.toFixed(3)} → ${ref.losses.at(-1)!.toFixed(3)})`);
        expect(gradError).toBeGreaterThan(0); // the precision did change the products
        expect(gradError).toBeLessThan(0.05);
        expect(ref.losses.at(-1)!).toBeLessThan(ref.losses[0]! * 0.95); // it learned, so the comparison means something
        expect(lossError).toBeLessThan(0.01);
      }
    });
  }

  it('auto measures the CPU and says what it chose', async () => {
    const t = await precisionTrainer(TINY_MODEL, 'cpu', 'auto');
    try {
      const info = t.info();
      expect(['f32', 'bf16']).toContain(info.precision);
      expect(info.precisionNote).toMatch(/^auto: (f32|bf16) \(/);
      if (addon.cpuMatmulKernel().includes('BF16')) expect(info.precisionNote).toMatch(/BF16 products [\d.]+x the speed of F32/);
    } finally {
      t.dispose();
    }
  });

  it('refuses an unknown precision by name', async () => {
    await expect(precisionTrainer(TINY_MODEL, 'cpu', 'fp8' as Precision)).rejects.toThrow(/precision must be auto, f32, f16 or bf16/);
  });
});
