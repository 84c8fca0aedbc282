import { InvalidArgumentError, Option, type Command } from 'commander';
import { CHECKPOINTING, DEVICE_CHOICES, LONG_SEQUENCES, LORA_TARGETS, PRECISION_CHOICES, type LoraTarget } from '../../shared/contract.js';
import { describePlan, mib, TRAIN_DEFAULTS, type TrainProgress } from '../api/train-door.js';
import { int, num, oneOf, seqLength, UsageError } from './options.js';
import { formatFit } from './format.js';
import { interruptible } from './interrupt.js';
import { withEngine } from './workspace-arg.js';

const targets = (v: string): LoraTarget[] => {
  const list = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const t of list) if (!(LORA_TARGETS as readonly string[]).includes(t)) throw new InvalidArgumentError(`unknown target "${t}" (choose from ${LORA_TARGETS.join(', ')})`);
  return list as LoraTarget[];
};

function describe(e: TrainProgress): string | null {
  switch (e.type) {
    case 'prepared': return formatFit(e.examples, e.fit) + (e.leftOut ? `\n${e.leftOut} accepted QA pairs left out: their documents were removed` : '');
    case 'plan': return `device: ${e.device.backend} ${e.device.name} (${e.device.description})${e.notes ? ` [${e.notes}]` : ''}\n` +
      `precision: ${e.precision}${e.precisionNote ? ` [${e.precisionNote}]` : ''}\n` +
      `memory: ${describePlan(e.memory)}; batch ${e.batch} × ${e.seq} tokens${e.perUpdate > e.batch ? ` (${e.perUpdate} per update, accumulated)` : ''}${e.compactTransposed ? ', compact transposed weights' : ''}${e.checkpointing ? ', activation checkpointing' : ''}`;
    case 'start': return `training ${e.trainableParams.toLocaleString('en')} LoRA parameters on ${e.backend} (${e.arch}): ${e.trainExamples} train / ${e.evalExamples} eval examples, ${e.totalSteps} steps${e.resumedAt ? `, resuming at step ${e.resumedAt}` : ''}`;
    case 'step': return `step ${e.step}/${e.totalSteps}  epoch ${e.epoch}  loss ${e.loss.toFixed(4)}  lr ${e.lr.toExponential(2)}  ${Math.round(e.tokensPerSecond)} tok/s  eta ${Math.round(e.etaSeconds)}s`;
    case 'epoch': return `epoch ${e.epoch}: train loss ${e.trainLoss.toFixed(4)}${e.evalLoss === null ? '' : `, eval loss ${e.evalLoss.toFixed(4)}`}`;
    case 'checkpoint': return null;
  }
}

interface TrainOptions {
  model: string; data?: string; workspace?: string; out: string; resume?: string; json?: boolean;
  rank: number; alpha: number; targets: LoraTarget[]; epochs: number; lr: number; batch: number; accum: number; seq: number;
  longSequences: (typeof LONG_SEQUENCES)[number]; evalSplit: number; seed: number; threads?: number; checkpointEvery: number;
  device: (typeof DEVICE_CHOICES)[number]; precision: (typeof PRECISION_CHOICES)[number]; checkpointing: (typeof CHECKPOINTING)[number];
}

export function addTrainCommands(program: Command): void {
  program
    .command('devices')
    .description('the compute devices training can use (GPUs first, as --device auto picks them)')
    .option('--json', 'print as JSON')
    .action(async (o: { json?: boolean }) => {
      const report = await withEngine({}, (engine) => engine.invoke('train.devices', {}));
      if (o.json) {
        process.stdout.write(`${JSON.stringify(report)}\n`);
        return;
      }
      for (const d of report.devices) process.stdout.write(`${d.backend.padEnd(7)} ${d.name.padEnd(10)} ${d.description}  ${mib(d.memoryFree)} free of ${mib(d.memoryTotal)}\n`);
      if (report.notes) process.stdout.write(`notes: ${report.notes}\n`);
    });

  const d = TRAIN_DEFAULTS;
  program
    .command('train')
    .description('train a LoRA adapter on a GGUF model (runs in a supervised child process)')
    .requiredOption('-m, --model <model>', 'base model: a GGUF path (F32, F16, BF16, Q8_0, Q4_K, …), hf:OWNER/REPO/FILE.gguf, or an Ollama model name')
    .option('--data <file>', 'training data: JSON or JSONL in Alpaca, ShareGPT or OpenAI-messages format')
    .option('-w, --workspace <dir>', "train on the workspace's accepted QA pairs")
    .requiredOption('-o, --out <dir>', 'output folder (adapter, checkpoint, run record)')
    .option('--rank <n>', 'LoRA rank', int, d.rank)
    .option('--alpha <x>', 'LoRA alpha (scale = alpha / rank)', num, d.alpha)
    .option('--targets <list>', `comma-separated, from ${LORA_TARGETS.join(',')}`, targets, d.targets)
    .option('--epochs <n>', 'passes over the data', int, d.epochs)
    .option('--lr <x>', 'peak learning rate', num, d.lr)
    .option('--batch <n>', 'sequences per gradient', int, d.batch)
    .option('--accum <n>', 'gradients accumulated per update', int, d.accum)
    .addOption(new Option('--seq <n>', "longest sequence in tokens (auto: the model's context, at most 1024)").argParser(seqLength).default(d.seq, 'auto'))
    .option('--long-sequences <mode>', 'longer conversations: refuse | fit (answers split at sentences, the question repeated) | split (cut into windows)', oneOf(LONG_SEQUENCES), d.longSequences)
    .option('--eval-split <x>', 'share of examples held out for evaluation', num, d.evalSplit)
    .option('--seed <n>', 'seed for initialisation and data order', int, d.seed)
    .option('--threads <n>', 'CPU threads (default: the physical cores free when training starts)', int)
    .option('--checkpoint-every <n>', 'steps between checkpoints', int, d.checkpointEvery)
    .option('--device <kind>', 'auto (CUDA, then Vulkan or Metal, then CPU) | cpu | cuda | vulkan | metal', oneOf(DEVICE_CHOICES), d.device)
    .option('--precision <p>', 'auto (the fastest on the device, measured) | f32 | f16 | bf16: operands of the products; accumulation, LoRA weights and optimizer stay F32', oneOf(PRECISION_CHOICES), d.precision)
    .option('--checkpointing <mode>', 'auto (when the step does not fit otherwise) | on | off: recompute each layer in the backward to save activation memory', oneOf(CHECKPOINTING), d.checkpointing)
    .option('--resume <dir>', 'continue the run whose checkpoint is in this folder')
    .option('--json', 'progress as JSON lines on stderr, the result as JSON on stdout')
    .action(async (o: TrainOptions) => {
      if (!o.data === !o.workspace) throw new UsageError('give the training data with --data FILE or --workspace DIR (one of them)');
      if (o.rank < 1) throw new UsageError('--rank must be at least 1');
      const { model, data, workspace, out, resume, json, threads, ...settings } = o;
      await withEngine({ workspace }, async (engine) => {
        const interrupt = interruptible('stopping after the current step, with a checkpoint');
        try {
          const result = await engine.train.train(
            { model, dataFile: data, outDir: out, resumeFrom: resume, settings: { ...settings, threads: threads ?? 0 } },
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
    });
}
