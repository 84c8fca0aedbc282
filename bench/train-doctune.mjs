/**
 * One DocTune side of `npm run bench:train`, in a process of its own so that its peak RSS is its own, and
 * plain Node on the built engine (dist/), as the training worker runs: LoRA steps on a GGUF with the token
 * sequences of the run (Int32 rows of seq + 1), the first ones untimed. Prints one JSON line:
 * {tokens_per_s, ms_per_step, first_loss, last_loss, rss_mb, kernel, precision, precision_note}.
 * Usage: node bench/train-doctune.mjs '{"model", "tokens", "seq", "batch", "steps", "warmup", "threads", "rank", "alpha", "lr", "precision"}'
 */
import fs from 'node:fs';
import { backendDirs, loadAddon, LORA_TARGETS, targetBits } from '../dist/engine/train/native-addon.js';

const job = JSON.parse(process.argv[2]);
const all = new Int32Array(fs.readFileSync(job.tokens).buffer.slice(0));
const width = job.seq + 1;
const addon = loadAddon();
const t = await addon.createTrainer({ modelPath: job.model, backendDirs: backendDirs(), device: 'cpu', rank: job.rank, alpha: job.alpha,
  targets: targetBits(LORA_TARGETS), seed: 1, threads: job.threads, precision: job.precision ?? 'auto' });
t.plan(job.seq, job.batch, true);
const step = async (i) => {
  // One micro-batch of `batch` sequences: one graph, as training runs it.
  const tokens = new Int32Array(job.batch * job.seq);
  const labels = new Int32Array(job.batch * job.seq);
  for (let k = 0; k < job.batch; k++) {
    const row = all.subarray((i * job.batch + k) * width, (i * job.batch + k + 1) * width);
    tokens.set(row.subarray(0, job.seq), k * job.seq);
    labels.set(row.subarray(1), k * job.seq);
  }
  const loss = await t.loss(tokens, labels, true, job.batch);
  await t.adamwStep({ lr: job.lr, clip: 1 });
  return loss;
};
const first = await step(0);
for (let i = 1; i < job.warmup; i++) await step(i);
const t0 = performance.now();
let last = first;
for (let i = job.warmup; i < job.steps; i++) last = await step(i);
const seconds = (performance.now() - t0) / 1000;
const timed = job.steps - job.warmup;
const info = t.info();
t.dispose();
console.log(JSON.stringify({
  tokens_per_s: (timed * job.batch * job.seq) / seconds, ms_per_step: (1000 * seconds) / timed, first_loss: first, last_loss: last,
  rss_mb: process.resourceUsage().maxRSS / 1024, kernel: addon.cpuMatmulKernel(), precision: info.precision, precision_note: info.precisionNote,
}));
