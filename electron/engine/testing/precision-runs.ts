/**
 * Training runs that compare a reduced precision with F32 on one device (the precision tests, CPU and GPU):
 * gradients at random LoRA weights, and 50 steps from the same start.
 */
import { backendDirs, loadAddon, LORA_TARGETS, targetBits, type DeviceChoice, type NativeTrainer, type Precision } from '../train/native-addon.js';
import { packBatch } from '../train/train-loop.js';
import { randomF32, rng } from './random-model.js';

export async function precisionTrainer(modelPath: string, device: DeviceChoice, precision: Precision): Promise<NativeTrainer> {
  return loadAddon().createTrainer({ modelPath, backendDirs: backendDirs(), device, rank: 4, alpha: 8, targets: targetBits(LORA_TARGETS), seed: 7, threads: 1, precision });
}

// Two sequences of different lengths in one batch, so that padding is part of every product.
export const precisionBatch = packBatch([
  { tokens: [1, 403, 407, 261, 378, 432, 290, 301, 302, 310, 311, 320], labels: [-1, -1, 261, 378, 432, 290, 301, 302, 310, 311, 320, -1] },
  { tokens: [1, 300, 310, 320, 330, 340, 350, 360], labels: [300, 310, 320, 330, 340, 350, 360, -1] },
], 64);

export function relativeL2(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  b.forEach((x, i) => {
    num += (a[i]! - x) ** 2;
    den += x * x;
  });
  return den > 0 ? Math.sqrt(num / den) : Infinity;
}

/** The gradients at random LoRA weights (B non-zero, so every gradient is). */
export async function gradientsAt(modelPath: string, device: DeviceChoice, precision: Precision): Promise<{ grads: Float32Array; used: string }> {
  const t = await precisionTrainer(modelPath, device, precision);
  try {
    t.setParams(randomF32(t.info().nParams, 0.1, rng(11)));
    await t.loss(precisionBatch.tokens, precisionBatch.labels, true, 2);
    return { grads: t.getGrads(), used: t.info().precision };
  } finally {
    t.dispose();
  }
}

export async function fiftySteps(modelPath: string, device: DeviceChoice, precision: Precision): Promise<{ losses: number[]; used: string; fallbacks: number }> {
  const t = await precisionTrainer(modelPath, device, precision);
  try {
    t.plan(precisionBatch.length, 2, true);
    const losses: number[] = [];
    for (let i = 0; i < 50; i++) {
      losses.push(await t.loss(precisionBatch.tokens, precisionBatch.labels, true, 2));
      await t.adamwStep({ lr: 2e-4, clip: 1 }); // DocTune's default: a fine-tune, not a collapse to zero loss
    }
    return { losses, used: t.info().precision, fallbacks: t.info().nFallbacks };
  } finally {
    t.dispose();
  }
}

