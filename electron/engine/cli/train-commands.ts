import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { resolveModelArg } from '../models/model-arg.js';
import { int, num, oneOf, seqLength, UsageError } from './options.js';
import { formatFit } from './format.js';
import { interruptible } from './interrupt.js';
import { LONG_SEQUENCES, type LongSequences } from '../train/prepare-examples.js';
import { teacherChoiceOf } from './teacher-spec.js';
import { exportPairs, type ExportFormat } from '../dataset/export.js';
import { acceptAllPending, generatePairs } from '../dataset/generate.js';
import { keychainDelete, keychainSet } from '../dataset/api-key.js';
import { addQaPairs, listQaPairs, pairsFromConversations, type QaStatus } from '../store/qa-store.js';
import { Workspace } from '../store/workspace.js';
import { readConversations } from '../train/sft-data.js';
import { DEVICES, LORA_TARGETS, PRECISIONS, type DeviceChoice, type LoraTarget, type Precision } from '../train/native-addon.js';
import { probeDevices } from '../train/devices.js';
import { describePlan, mib } from '../train/memory-plan.js';
import { CHECKPOINTING, DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../train/train-config.js';
import { runTraining, type TrainProgress } from '../train/train-supervisor.js';

const targets = (v: string): LoraTarget[] => {
  const list = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const t of list) if (!(LORA_TARGETS as readonly string[]).includes(t)) throw new InvalidArgumentError(`unknown target "${t}" (choose from ${LORA_TARGETS.join(', ')})`);
  return list as LoraTarget[];
};

function describe(e: TrainProgress): string | null {
  switch (e.type) {
    case 'prepared': return formatFit(e.examples, e.fit);
    case 'plan': return `device: ${e.device.backend} ${e.device.name} (${e.device.description})${e.notes ? ` [${e.notes}]` : ''}\n` +
      `precision: ${e.precision}${e.precisionNote ? ` [${e.precisionNote}]` : ''}\n` +
      `memory: ${describePlan(e.memory)}; batch ${e.batch} × ${e.seq} tokens${e.perUpdate > e.batch ? ` (${e.perUpdate} per update, accumulated)` : ''}${e.compactTransposed ? ', compact transposed weights' : ''}${e.checkpointing ? ', activation checkpointing' : ''}`;
    case 'start': return `training ${e.trainableParams.toLocaleString('en')} LoRA parameters on ${e.backend} (${e.arch}): ${e.trainExamples} train / ${e.evalExamples} eval examples, ${e.totalSteps} steps${e.resumedAt ? `, resuming at step ${e.resumedAt}` : ''}`;
    case 'step': return `step ${e.step}/${e.totalSteps}  epoch ${e.epoch}  loss ${e.loss.toFixed(4)}  lr ${e.lr.toExponential(2)}  ${Math.round(e.tokensPerSecond)} tok/s  eta ${Math.round(e.etaSeconds)}s`;
    case 'epoch': return `epoch ${e.epoch}: train loss ${e.trainLoss.toFixed(4)}${e.evalLoss === null ? '' : `, eval loss ${e.evalLoss.toFixed(4)}`}`;
    case 'checkpoint': return null;
  }
}

export function addTrainCommands(program: Command): void {
  program
    .command('devices')
    .description('the compute devices training can use (GPUs first, as --device auto picks them)')
    .option('--json', 'print as JSON')
    .action(async (o: { json?: boolean }) => {
      const report = await probeDevices();
      if (o.json) {
        process.stdout.write(`${JSON.stringify(report)}\n`);
        return;
      }
      for (const d of report.devices) process.stdout.write(`${d.backend.padEnd(7)} ${d.name.padEnd(10)} ${d.description}  ${mib(d.memoryFree)} free of ${mib(d.memoryTotal)}\n`);
      if (report.notes) process.stdout.write(`notes: ${report.notes}\n`);
    });

  program
    .command('train')
    .description('train a LoRA adapter on a GGUF model (runs in a supervised child process)')
    .requiredOption('-m, --model <model>', 'base model: a GGUF path (F32, F16, BF16, Q8_0, Q4_K, …), hf:OWNER/REPO/FILE.gguf, or an Ollama model name')
    .option('--data <file>', 'training data: JSON or JSONL in Alpaca, ShareGPT or OpenAI-messages format')
    .option('-w, --workspace <dir>', "train on the workspace's accepted QA pairs")
    .requiredOption('-o, --out <dir>', 'output folder (adapter, checkpoint, run record)')
    .option('--rank <n>', 'LoRA rank', int, DEFAULT_TRAIN_CONFIG.rank)
    .option('--alpha <x>', 'LoRA alpha (scale = alpha / rank)', num, DEFAULT_TRAIN_CONFIG.alpha)
    .option('--targets <list>', `comma-separated, from ${LORA_TARGETS.join(',')}`, targets, DEFAULT_TRAIN_CONFIG.targets)
    .option('--epochs <n>', 'passes over the data', int, DEFAULT_TRAIN_CONFIG.epochs)
    .option('--lr <x>', 'peak learning rate', num, DEFAULT_TRAIN_CONFIG.lr)
    .option('--batch <n>', 'sequences per gradient', int, DEFAULT_TRAIN_CONFIG.batch)
    .option('--accum <n>', 'gradients accumulated per update', int, DEFAULT_TRAIN_CONFIG.accum)
    .addOption(new Option('--seq <n>', "longest sequence in tokens (auto: the model's context, at most 1024)").argParser(seqLength).default(DEFAULT_TRAIN_CONFIG.seq, 'auto'))
    .option('--long-sequences <mode>', 'longer conversations: refuse | fit (answers split at sentences, the question repeated) | split (cut into windows)', oneOf(LONG_SEQUENCES), DEFAULT_TRAIN_CONFIG.longSequences)
    .option('--eval-split <x>', 'share of examples held out for evaluation', num, DEFAULT_TRAIN_CONFIG.evalSplit)
    .option('--seed <n>', 'seed for initialisation and data order', int, DEFAULT_TRAIN_CONFIG.seed)
    .option('--threads <n>', 'CPU threads (default: the physical cores free when training starts)', int)
    .option('--checkpoint-every <n>', 'steps between checkpoints', int, DEFAULT_TRAIN_CONFIG.checkpointEvery)
    .option('--device <kind>', 'auto (CUDA, then Vulkan or Metal, then CPU) | cpu | cuda | vulkan | metal', DEFAULT_TRAIN_CONFIG.device)
    .option('--precision <p>', 'auto (the fastest on the device, measured) | f32 | f16 | bf16: operands of the products; accumulation, LoRA weights and optimizer stay F32', DEFAULT_TRAIN_CONFIG.precision)
    .option('--checkpointing <mode>', 'auto (when the step does not fit otherwise) | on | off: recompute each layer in the backward to save activation memory', DEFAULT_TRAIN_CONFIG.checkpointing)
    .option('--resume <dir>', 'continue the run whose checkpoint is in this folder')
    .option('--json', 'progress as JSON lines on stderr, the result as JSON on stdout')
    .action(async (o: Record<string, unknown>) => {
      const device = String(o.device).toLowerCase() as DeviceChoice;
      if (!DEVICES.includes(device)) throw new UsageError(`unknown --device ${device} (${DEVICES.join(', ')})`);
      const precision = String(o.precision).toLowerCase() as Precision;
      if (!PRECISIONS.includes(precision)) throw new UsageError(`unknown --precision ${String(o.precision)} (${PRECISIONS.join(', ')})`);
      const checkpointing = String(o.checkpointing).toLowerCase() as TrainConfig['checkpointing'];
      if (!CHECKPOINTING.includes(checkpointing)) throw new UsageError(`unknown --checkpointing ${String(o.checkpointing)} (${CHECKPOINTING.join(', ')})`);
      if (!o.data === !o.workspace) throw new UsageError('give the training data with --data FILE or --workspace DIR (one of them)');
      const config: TrainConfig = {
        ...DEFAULT_TRAIN_CONFIG,
        modelPath: await resolveModelArg(String(o.model)),
        rank: o.rank as number, alpha: o.alpha as number, targets: o.targets as LoraTarget[], epochs: o.epochs as number,
        lr: o.lr as number, batch: Math.max(1, o.batch as number), accum: Math.max(1, o.accum as number), seq: o.seq as number,
        longSequences: o.longSequences as LongSequences, evalSplit: o.evalSplit as number, seed: o.seed as number,
        threads: o.threads ? Math.max(1, o.threads as number) : 0, checkpointEvery: o.checkpointEvery as number, device, precision, checkpointing,
      };
      if (config.rank < 1) throw new UsageError('--rank must be at least 1');
      const json = Boolean(o.json);
      const interrupt = interruptible('stopping after the current step, with a checkpoint');
      try {
        const result = await runTraining(
          {
            config,
            ...(o.data ? { dataFile: path.resolve(String(o.data)) } : { workspace: path.resolve(String(o.workspace)) }),
            outDir: path.resolve(String(o.out)),
            ...(o.resume ? { resumeFrom: path.resolve(String(o.resume)) } : {}),
          },
          {
            signal: interrupt.signal,
            onEvent: (e) => {
              const line = json ? JSON.stringify(e) : describe(e);
              if (line) process.stderr.write(`${line}\n`);
            },
          },
        );
        process.stdout.write(json ? `${JSON.stringify(result)}\n` : `adapter: ${result.adapter}\nsteps: ${result.steps}, train loss ${result.train_loss.toFixed(4)}${result.eval_loss === null ? '' : `, eval loss ${result.eval_loss.toFixed(4)}`}, ${result.tokens_per_s} tokens/s\n`);
      } finally {
        interrupt.dispose();
      }
    });

  const dataset = program.command('dataset').description('the QA pairs a workspace trains on');
  dataset.command('import')
    .description('add reviewed QA pairs from a file (Alpaca, ShareGPT or OpenAI-messages JSON/JSONL)')
    .argument('<file>', 'the pairs')
    .requiredOption('-w, --workspace <dir>', 'workspace folder')
    .option('--status <s>', 'accepted | pending', 'accepted')
    .option('--json', 'print as JSON')
    .action(async (file: string, o: { workspace: string; status: string; json?: boolean }) => {
      if (o.status !== 'accepted' && o.status !== 'pending') throw new UsageError('--status is accepted or pending');
      const ws = await Workspace.open(o.workspace);
      try {
        const added = await addQaPairs(ws, pairsFromConversations(await readConversations(path.resolve(file)), o.status));
        process.stdout.write(o.json ? `${JSON.stringify({ added })}\n` : `added ${added} QA pair(s) as ${o.status}\n`);
      } finally {
        ws.close();
      }
    });
  dataset.command('accept')
    .description('accept pending QA pairs')
    .requiredOption('-w, --workspace <dir>', 'workspace folder')
    .option('--all', 'accept every pending pair')
    .option('--json', 'print as JSON')
    .action(async (o: { workspace: string; all?: boolean; json?: boolean }) => {
      if (!o.all) throw new UsageError('say which pairs: --all');
      const ws = await Workspace.open(o.workspace);
      try {
        const accepted = await acceptAllPending(ws);
        process.stdout.write(o.json ? `${JSON.stringify({ accepted })}\n` : `accepted ${accepted} pair(s)\n`);
      } finally {
        ws.close();
      }
    });

  program
    .command('generate')
    .description('generate QA pairs from the workspace passages (pending review)')
    .requiredOption('-w, --workspace <dir>', 'workspace folder')
    .option('--teacher <teacher>', 'extractive (no model) | local:PATH.gguf | openai:BASE_URL#MODEL', 'extractive')
    .option('--questions-per-chunk <n>', 'most questions per passage', int, 4)
    .option('--concurrency <n>', 'passages in flight (local model) or requests in flight (API)', int, 4)
    .option('--paraphrases <k>', 'rewordings per stored question (model teachers)', int, 0)
    .option('--api-key-env <var>', "environment variable holding the API key (else the OS keychain's key for the base URL)")
    .option('--timeout <s>', 'seconds per API request', num, 120)
    .option('--price-in <usd>', 'API price per million prompt tokens, for the cost line', num)
    .option('--price-out <usd>', 'API price per million completion tokens', num)
    .option('--json', 'progress as JSON lines on stderr, the summary as JSON on stdout')
    .action(async (o: {
      workspace: string; teacher: string; questionsPerChunk: number; concurrency: number; paraphrases: number; apiKeyEnv?: string;
      timeout: number; priceIn?: number; priceOut?: number; json?: boolean;
    }) => {
      const teacher = teacherChoiceOf(o.teacher, {
        concurrency: o.concurrency, apiKeyEnv: o.apiKeyEnv, timeoutSeconds: o.timeout,
        price: o.priceIn !== undefined || o.priceOut !== undefined ? { input: o.priceIn ?? 0, output: o.priceOut ?? 0 } : undefined,
      });
      const ws = await Workspace.open(o.workspace);
      const interrupt = interruptible('stopping: the pairs written so far are kept, and a rerun skips their passages');
      try {
        const summary = await generatePairs(ws, {
          teacher,
          questionsPerChunk: Math.max(1, o.questionsPerChunk),
          paraphrases: o.paraphrases,
          signal: interrupt.signal,
          onProgress: (p) => {
            if (o.json) process.stderr.write(`${JSON.stringify(p)}\n`);
            else if (p.done % 25 === 0 || p.done === p.total) process.stderr.write(`[${p.done}/${p.total}] ${p.pairs} pairs${p.eta === null ? '' : `, ${p.eta}s left`}\n`);
          },
        });
        const cost = summary.outputs?.cost !== undefined ? `, $${summary.outputs.cost.toFixed(4)}` : '';
        const tokens = summary.outputs?.promptTokens !== undefined ? `; ${summary.outputs.requests} requests (${summary.outputs.retries} retried), ${summary.outputs.promptTokens} + ${summary.outputs.completionTokens} tokens${cost}` : '';
        process.stdout.write(o.json ? `${JSON.stringify(summary)}\n` : `${summary.pairs} pairs from ${summary.chunks} passages (${summary.paraphrases} paraphrases, ${summary.duplicates} near-duplicates dropped, ${summary.rejected_ungrounded} ungrounded rejected, ${summary.failed} failed)${tokens}\n`);
      } finally {
        interrupt.dispose();
        ws.close();
      }
    });

  const teacherCmd = program.command('teacher').description('teacher endpoints');
  teacherCmd.command('set-key')
    .description("store an API key for a base URL in the OS keychain (read from stdin; never written to a workspace)")
    .argument('<base-url>', 'e.g. https://api.openai.com/v1')
    .action(async (baseUrl: string) => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      const key = Buffer.concat(chunks).toString('utf8').trim();
      if (!key) throw new UsageError('no key on standard input');
      keychainSet(baseUrl, key);
      process.stdout.write(`stored the key for ${baseUrl} in the keychain\n`);
    });
  teacherCmd.command('delete-key')
    .description('remove the stored API key for a base URL')
    .argument('<base-url>')
    .action((baseUrl: string) => {
      process.stdout.write(keychainDelete(baseUrl) ? `removed the key for ${baseUrl}\n` : `no key stored for ${baseUrl}\n`);
    });

  dataset.command('export')
    .description('write QA pairs for training elsewhere (with a LLaMA-Factory dataset_info.json)')
    .requiredOption('-w, --workspace <dir>', 'workspace folder')
    .requiredOption('--format <f>', 'alpaca | sharegpt | messages')
    .requiredOption('--out <file>', 'output file')
    .option('--status <s>', 'accepted | all', 'accepted')
    .action(async (o: { workspace: string; format: string; out: string; status: string }) => {
      if (!['alpaca', 'sharegpt', 'messages'].includes(o.format)) throw new UsageError('--format is alpaca, sharegpt or messages');
      if (o.status !== 'accepted' && o.status !== 'all') throw new UsageError('--status is accepted or all');
      const ws = await Workspace.open(o.workspace);
      try {
        const pairs = o.status === 'all' ? await listQaPairs(ws) : [...(await listQaPairs(ws, 'accepted')), ...(await listQaPairs(ws, 'edited'))];
        await exportPairs(pairs, o.format as ExportFormat, path.resolve(o.out));
        process.stdout.write(`wrote ${pairs.length} pair(s) to ${path.resolve(o.out)}\n`);
      } finally {
        ws.close();
      }
    });

  dataset.command('list')
    .description('list QA pairs')
    .requiredOption('-w, --workspace <dir>', 'workspace folder')
    .option('--status <s>', 'pending | accepted | rejected | edited')
    .option('--json', 'print as JSON')
    .action(async (o: { workspace: string; status?: QaStatus; json?: boolean }) => {
      const ws = await Workspace.open(o.workspace);
      try {
        const pairs = await listQaPairs(ws, o.status);
        process.stdout.write(o.json ? `${JSON.stringify(pairs, null, 2)}\n` : `${pairs.map((p) => `[${p.status}] Q: ${p.question}\n           A: ${p.answer}`).join('\n') || 'No QA pairs.'}\n`);
      } finally {
        ws.close();
      }
    });

}
