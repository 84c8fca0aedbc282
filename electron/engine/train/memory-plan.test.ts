import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readGguf } from '../models/gguf/gguf-reader.js';
import { GgmlType } from '../models/gguf/gguf-types.js';
import { quantize } from '../models/gguf/quantize.js';
import { tempDir, TINY_MODEL } from '../testing/corpus.js';
import { ARCH_CASES } from '../testing/arch-cases.js';
import { writeQuantizedCopy, writeRandomModel } from '../testing/random-model.js';
import { chooseCheckpointing, decideLoad, estimateStaticMemory, proposeSmallerStep, stepFits } from './memory-plan.js';
import { backendDirs, loadAddon, LORA_TARGETS, targetBits, type MemoryPlan } from './native-addon.js';

const plan = (compute: number, free: number): MemoryPlan => ({ weights: 0, transposed: 0, lora: 0, optimizer: 0, compute, deviceFree: free, deviceTotal: free });

describe('memory plan', () => {
  const dir = tempDir('memory-plan');

  it("predicts what the trainer allocates, before loading (F32 and Q4_K bases, both transposed layouts, none in the CPU GEMM)", async () => {
    const f32 = await writeRandomModel(path.join(dir, 'f32.gguf'), TINY_MODEL, { embd: 256, ff: 512, layers: 2, heads: 4, kvHeads: 2 }, 9);
    const q4 = await writeQuantizedCopy(path.join(dir, 'q4_k.gguf'), f32, GgmlType.Q4_K, quantize);
    const gemm = loadAddon().cpuMatmulKernel() !== 'none';
    // Every architecture's layout too: q/k norms, post-norms, a head size of its own, phi3's fused matrices.
    const others = await Promise.all(ARCH_CASES.map((c, i) => writeRandomModel(path.join(dir, `${c.shape.arch}.gguf`), TINY_MODEL, c.shape, 40 + i)));
    for (const model of [await readGguf(TINY_MODEL), f32, q4, ...others]) {
      const est = estimateStaticMemory(model, 8, [...LORA_TARGETS]);
      // ggml's mul_mat with transposed copies (what GPUs run), in both layouts; DocTune's CPU GEMM, without copies
      for (const [compactTransposed, cpuMatmul] of [[false, false], [true, false], [false, true]] as const) {
        if (cpuMatmul && !gemm) continue;
        const t = await loadAddon().createTrainer({ modelPath: model.path, backendDirs: backendDirs(), device: 'cpu', rank: 8, alpha: 16, targets: targetBits(LORA_TARGETS), seed: 1, threads: 1, compactTransposed, cpuMatmul });
        try {
          const p = t.plan(32, 2, false);
          expect(t.info().cpuMatmul).toBe(cpuMatmul);
          const close = (a: number, b: number): void => expect(Math.abs(a - b) / b).toBeLessThan(0.02);
          close(est.weights, p.weights);
          if (cpuMatmul) {
            expect(p.transposed).toBe(0);
            expect(estimateStaticMemory(model, 8, [...LORA_TARGETS], false).transposed).toBe(0);
          } else {
            close(compactTransposed ? est.transposedCompact : est.transposed, p.transposed);
          }
          close(est.lora, p.lora);
          close(est.optimizer, p.optimizer);
          expect(p.compute).toBeGreaterThan(0);
          // A longer step needs more: activations grow with batch × seq.
          expect(t.plan(64, 4, false).compute).toBeGreaterThan(p.compute);
        } finally {
          t.dispose();
        }
      }
      if (model === q4) expect(est.transposedCompact).toBeLessThan(est.transposed);
    }
  });

  it('falls back to compact transposed copies when only those fit, and refuses with numbers when nothing does', () => {
    const s = { weights: 1000, transposed: 900, transposedCompact: 500, lora: 10, optimizer: 30 };
    expect(decideLoad(s, 10_000, 'GPU')).toEqual({ compactTransposed: false, needed: 1940 });
    expect(decideLoad(s, 1700, 'GPU').compactTransposed).toBe(true);
    expect(() => decideLoad(s, 1000, 'Vulkan0 (test)')).toThrow(/does not fit on Vulkan0 \(test\).*free/);
  });

  it('turns activation checkpointing on when, and only when, the step fits with it and not without', () => {
    const measure = (free: number) => (on: boolean): MemoryPlan => plan(on ? 300 : 1000, free);
    expect(chooseCheckpointing(measure(2000), 'auto')).toMatchObject({ checkpointing: false, plan: { compute: 1000 } });
    expect(chooseCheckpointing(measure(600), 'auto')).toMatchObject({ checkpointing: true, plan: { compute: 300 } });
    // Not even with it: off, and the plain step's numbers for the error message.
    expect(chooseCheckpointing(measure(100), 'auto')).toMatchObject({ checkpointing: false, plan: { compute: 1000 } });
    expect(chooseCheckpointing(measure(2000), 'on')).toMatchObject({ checkpointing: true, plan: { compute: 300 } });
    expect(chooseCheckpointing(measure(600), 'off')).toMatchObject({ checkpointing: false, plan: { compute: 1000 } });
  });

  it('proposes the largest batch, then sequence length, that fits', () => {
    // compute = 10 per token of the step; 1000 free (94% usable)
    const measure = (seq: number, batch: number): MemoryPlan => plan(seq * batch * 10, 1000);
    expect(stepFits(measure(8, 8))).toBe(true);
    expect(proposeSmallerStep(measure, 32, 8, 10)).toEqual({ seq: 32, batch: 2 });
    expect(proposeSmallerStep(measure, 256, 4, 20)).toEqual({ seq: 64, batch: 1 });
    expect(proposeSmallerStep(measure, 256, 4, 200)).toBeNull(); // the longest example alone does not fit
  });
});
