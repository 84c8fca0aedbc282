/**
 * Training throughput: tokens/s of DocTune's native LoRA trainer against PyTorch (CPU) doing the same LoRA
 * training (same weights, data, sequence length, batch, rank, targets, thread count), in one run, on
 * stories260K and on a stories15M-shaped Llama (dim 288, 6 layers, 6 heads, ff 768; random weights and the
 * 512-token vocabulary of stories260K). Goal: ≥ 3×.
 * Needs Debian's python3-torch (apt-get install python3-torch). Usage: npm run bench:train [-- --threads 1]
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readGguf, readTensorData, metaNumber, type GgufFile } from '../electron/engine/models/gguf/gguf-reader.js';
import { TINY_MODEL } from '../electron/engine/testing/corpus.js';
import { rng, writeRandomLlama } from '../electron/engine/testing/random-model.js';
import { backendDirs, loadAddon, targetBits, LORA_TARGETS } from '../electron/engine/train/native-addon.js';

const arg = (name: string, d: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const threads = arg('--threads', 1);
const SEQ = 128;
const BATCH = 4;
const RANK = 16;
const ALPHA = 32;
const STEPS = 12;
const WARMUP = 2;
const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';

function sequences(vocab: number, seed: number): number[][] {
  const next = rng(seed);
  return Array.from({ length: STEPS * BATCH }, () => Array.from({ length: SEQ + 1 }, () => 3 + Math.floor(next() * (vocab - 3))));
}

async function doctune(model: GgufFile, seqs: number[][]): Promise<{ tokensPerS: number; msPerStep: number; first: number; last: number }> {
  const t = await loadAddon().createTrainer({ modelPath: model.path, backendDirs: backendDirs(), device: 'cpu', rank: RANK, alpha: ALPHA, targets: targetBits(LORA_TARGETS), seed: 1, threads });
  try {
    const step = async (i: number): Promise<number> => {
      // One micro-batch of BATCH sequences: one graph.
      const batch = seqs.slice(i * BATCH, (i + 1) * BATCH);
      const loss = await t.loss(Int32Array.from(batch.flatMap((s) => s.slice(0, -1))), Int32Array.from(batch.flatMap((s) => s.slice(1))), true, BATCH);
      await t.adamwStep({ lr: 1e-3, clip: 1, accum: 1 });
      return loss;
    };
    const first = await step(0);
    for (let i = 1; i < WARMUP; i++) await step(i);
    const t0 = performance.now();
    let last = first;
    for (let i = WARMUP; i < STEPS; i++) last = await step(i);
    const s = (performance.now() - t0) / 1000;
    return { tokensPerS: ((STEPS - WARMUP) * BATCH * SEQ) / s, msPerStep: (1000 * s) / (STEPS - WARMUP), first, last };
  } finally {
    t.dispose();
  }
}

async function pytorch(model: GgufFile, seqs: number[][], dir: string): Promise<{ tokens_per_s: number; ms_per_step: number; first_loss: number; last_loss: number }> {
  const tensors: Record<string, { file: string; ne: number[] }> = {};
  for (const t of model.tensors) {
    const file = path.join(dir, `${t.name}.f32`);
    fs.writeFileSync(file, await readTensorData(model, t.name));
    tensors[t.name] = { file, ne: t.dims };
  }
  if (!tensors['output.weight']) tensors['output.weight'] = tensors['token_embd.weight']!;
  const arch = 'llama';
  const cfg = {
    threads, rank: RANK, alpha: ALPHA, lr: 1e-3, batch: BATCH, warmup_steps: WARMUP, targets: LORA_TARGETS, sequences: seqs, tensors,
    hparams: {
      n_embd: metaNumber(model, `${arch}.embedding_length`), n_head: metaNumber(model, `${arch}.attention.head_count`),
      n_head_kv: metaNumber(model, `${arch}.attention.head_count_kv`), n_layer: metaNumber(model, `${arch}.block_count`),
      rms_eps: metaNumber(model, `${arch}.attention.layer_norm_rms_epsilon`) ?? 1e-5, rope_base: metaNumber(model, `${arch}.rope.freq_base`) ?? 10000,
    },
  };
  const cfgFile = path.join(dir, 'bench.json');
  fs.writeFileSync(cfgFile, JSON.stringify(cfg));
  const out = execFileSync(PYTHON, [path.join(import.meta.dirname, 'torch_lora.py'), cfgFile], { env: { ...process.env, OMP_NUM_THREADS: String(threads) }, maxBuffer: 1 << 24 }).toString();
  return JSON.parse(out.trim().split('\n').pop()!);
}

try {
  execFileSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
} catch {
  console.error(`bench:train needs PyTorch for ${PYTHON} (Debian: apt-get install python3-torch)`);
  process.exit(1);
}
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'doctune-bench-train-'));
const models: [string, GgufFile][] = [
  ['stories260K', await readGguf(TINY_MODEL)],
  ['stories15M shape', await writeRandomLlama(path.join(dir, 'stories15M-shape.gguf'), TINY_MODEL, { embd: 288, ff: 768, layers: 6, heads: 6, kvHeads: 6 }, 15)],
];
const results = [];
console.log(`LoRA training benchmark: seq ${SEQ}, batch ${BATCH}, rank ${RANK}, all 7 targets, ${STEPS - WARMUP} timed steps, ${threads} thread(s), CPU`);
for (const [name, model] of models) {
  const vocab = model.tensors.find((t) => t.name === 'token_embd.weight')!.dims[1]!;
  const seqs = sequences(vocab, name.length);
  const ours = await doctune(model, seqs);
  const peer = await pytorch(model, seqs, dir);
  const ratio = ours.tokensPerS / peer.tokens_per_s;
  results.push({ model: name, doctune: ours, pytorch: peer, ratio });
  console.log(`  ${name.padEnd(16)} DocTune ${ours.tokensPerS.toFixed(0).padStart(7)} tok/s (${ours.msPerStep.toFixed(1)} ms/step, loss ${ours.first.toFixed(3)}→${ours.last.toFixed(3)})` +
    `   PyTorch ${peer.tokens_per_s.toFixed(0).padStart(7)} tok/s (${peer.ms_per_step.toFixed(1)} ms/step, loss ${peer.first_loss.toFixed(3)}→${peer.last_loss.toFixed(3)})   ratio ${ratio.toFixed(2)}× (goal ≥ 3×)`);
}
fs.mkdirSync(path.join(import.meta.dirname, 'output'), { recursive: true });
fs.writeFileSync(path.join(import.meta.dirname, 'output', 'train.json'), JSON.stringify({ threads, seq: SEQ, batch: BATCH, rank: RANK, results }, null, 2));
fs.rmSync(dir, { recursive: true, force: true });
