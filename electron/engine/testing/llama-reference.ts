import type { Llama, Token } from 'node-llama-cpp';

/** llama.cpp's next-token distribution after `tokens` (last position), with an adapter if given, over the vocabulary. */
export async function nextTokenProbabilities(llama: Llama, modelPath: string, tokens: number[], adapterPath?: string): Promise<Float64Array> {
  const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  try {
    const ctx = await model.createContext({ threads: 1, contextSize: 64, ...(adapterPath ? { lora: { adapters: [{ filePath: adapterPath, scale: 1 }] } } : {}) });
    try {
      const it = ctx.getSequence().evaluateWithMetadata(tokens as Token[], { probabilities: true }, { yieldEogToken: true });
      const first = (await it.next()).value!;
      await it.return();
      const probs = new Float64Array(Math.max(...first.probabilities.keys()) + 1);
      for (const [token, p] of first.probabilities) probs[token] = p;
      return probs;
    } finally {
      await ctx.dispose();
    }
  } finally {
    await model.dispose();
  }
}

/** The largest |a[i] − b[i]| over both arrays (a missing entry counts as 0). */
export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff = Math.max(diff, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
  return diff;
}

/** Softmax of the last position's logits. */
export function lastSoftmax(logits: Float32Array, positions: number, vocab: number): Float64Array {
  const last = logits.subarray((positions - 1) * vocab, positions * vocab);
  const max = Math.max(...last);
  const exp = Float64Array.from(last, (x) => Math.exp(x - max));
  const sum = exp.reduce((a, b) => a + b, 0);
  return exp.map((x) => x / sum);
}

/**
 * The largest difference between the next-token distribution our logits give (last position) and the one
 * llama.cpp computes loading the same model and adapter: the independent reference for the trainer's forward.
 */
export async function maxProbabilityDifference(llama: Llama, modelPath: string, adapterPath: string, tokens: number[], logits: Float32Array, vocab: number): Promise<number> {
  return maxAbsDifference(await nextTokenProbabilities(llama, modelPath, tokens, adapterPath), lastSoftmax(logits, tokens.length, vocab));
}
