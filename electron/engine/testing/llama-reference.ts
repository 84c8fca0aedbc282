import type { Llama, Token } from 'node-llama-cpp';

/**
 * The largest difference between the next-token distribution our logits give (last position) and the one
 * llama.cpp computes loading the same model and adapter: the independent reference for the trainer's forward.
 */
export async function maxProbabilityDifference(llama: Llama, modelPath: string, adapterPath: string, tokens: number[], logits: Float32Array, vocab: number): Promise<number> {
  const last = logits.subarray((tokens.length - 1) * vocab, tokens.length * vocab);
  const max = Math.max(...last);
  const exp = last.map((x) => Math.exp(x - max));
  const sum = exp.reduce((a, b) => a + b, 0);
  const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  try {
    const ctx = await model.createContext({ threads: 1, contextSize: 64, lora: { adapters: [{ filePath: adapterPath, scale: 1 }] } });
    const it = ctx.getSequence().evaluateWithMetadata(tokens as Token[], { probabilities: true }, { yieldEogToken: true });
    const first = (await it.next()).value!;
    await it.return();
    let diff = 0;
    for (const [token, prob] of first.probabilities) diff = Math.max(diff, Math.abs(prob - exp[token]! / sum));
    await ctx.dispose();
    return diff;
  } finally {
    await model.dispose();
  }
}
