import { Option, type Command } from 'commander';
import { DEVICE_CHOICES, LONG_SEQUENCES, PRECISION_CHOICES, type DeviceChoice, type LongSequences, type PrecisionChoice } from '../../shared/contract.js';
import { PIPELINE_TRAIN_DEFAULTS, type PipelineProgress } from '../api/pipeline-door.js';
import { int, num, oneOf, seqLength } from './options.js';
import { formatFit } from './format.js';
import { interruptible } from './interrupt.js';
import { named, withEngine } from './workspace-arg.js';

/** Generation reports each section it finishes (a section may hold several passages): a line every 25 passages. */
let shownPassages = 0;

function describe(p: PipelineProgress): string | null {
  if (p.status !== 'progress') return p.status === 'start' ? `== ${p.stage}` : p.status === 'skipped' ? `== ${p.stage}: done in an earlier run` : null;
  if (p.stage === 'generate') {
    if (p.done !== p.total && Math.floor(p.done / 25) === Math.floor(shownPassages / 25)) return null;
    shownPassages = p.done;
    return `   ${p.done}/${p.total} passages, ${p.pairs} pairs`;
  }
  if (p.stage === 'eval') return `   ${p.done}/${p.total} questions`;
  if (p.stage === 'train' && p.event.type === 'step') return `   step ${p.event.step}/${p.event.totalSteps}  loss ${p.event.loss.toFixed(4)}  eta ${Math.round(p.event.etaSeconds)}s`;
  if (p.stage === 'train' && p.event.type === 'prepared') return `   ${formatFit(p.event.examples, p.event.fit)}`;
  if (p.stage === 'train' && p.event.type === 'start' && p.event.resumedAt > 0) {
    return `   resuming at step ${p.event.resumedAt} of ${p.event.totalSteps}, from the checkpoint an earlier run saved`;
  }
  if (p.stage === 'train' && p.event.type === 'plan') {
    return `   ${p.event.device.backend} ${p.event.device.description}, ${p.event.precision}${p.event.checkpointing ? ', activation checkpointing' : ''}`;
  }
  return null;
}

export function addPipelineCommand(program: Command): void {
  program
    .command('pipeline')
    .description('documents to a tested adapter: ingest → generate → accept → train → eval → export (rerun to resume)')
    .argument('<inputs...>', 'documents and folders')
    .requiredOption('-m, --model <model>', 'base model: a GGUF path, hf:OWNER/REPO/FILE.gguf, or an Ollama model name')
    .requiredOption('-o, --out <dir>', 'output folder: workspace, run, adapter, Modelfile, eval report')
    .option('--teacher <teacher>', 'auto (the model if it is an instruct model, else extractive) | extractive | local:PATH.gguf | openai:BASE_URL#MODEL', 'auto')
    .option('--epochs <n>', 'passes over the pairs', int, PIPELINE_TRAIN_DEFAULTS.epochs)
    .option('--batch <n>', 'sequences per micro-batch', int, PIPELINE_TRAIN_DEFAULTS.batch)
    .option('--lr <x>', 'peak learning rate', num)
    .option('--rank <n>', 'LoRA rank', int)
    .addOption(new Option('--seq <n>', "longest training sequence in tokens (auto: the model's context, at most 1024)").argParser(seqLength).default(PIPELINE_TRAIN_DEFAULTS.seq, 'auto'))
    .option('--long-sequences <mode>', 'longer conversations: fit (answers split at sentences, the question repeated) | split (cut into windows) | refuse', oneOf(LONG_SEQUENCES), PIPELINE_TRAIN_DEFAULTS.longSequences)
    .option('--device <kind>', 'auto | cpu | cuda | vulkan | metal', oneOf(DEVICE_CHOICES), PIPELINE_TRAIN_DEFAULTS.device)
    .option('--precision <p>', 'auto (the fastest on the device, measured) | f32 | f16 | bf16', oneOf(PRECISION_CHOICES), PIPELINE_TRAIN_DEFAULTS.precision)
    .option('--threads <n>', 'CPU threads (default: the physical cores free when the model loads)', int)
    .option('--json', 'progress as JSON lines on stderr, the result as JSON on stdout')
    .action(async (inputs: string[], o: { model: string; out: string; teacher: string; epochs: number; batch: number; lr?: number; rank?: number; seq: number; longSequences: LongSequences; device: DeviceChoice; precision: PrecisionChoice; threads?: number; json?: boolean }) => {
      await withEngine({ threads: o.threads }, async (engine) => {
        const teacher = await named(() => engine.pipeline.teacherOf(o.teacher));
        const interrupt = interruptible('stopping: training saves a checkpoint at the end of its step; run the same command again to continue');
        try {
          let shown = -1;
          const r = await engine.pipeline.runInFolder({
            inputs, model: o.model, outDir: o.out, teacher, device: o.device, precision: o.precision,
            train: { epochs: o.epochs, batch: Math.max(1, o.batch), seq: o.seq, longSequences: o.longSequences, ...(o.lr !== undefined ? { lr: o.lr } : {}), ...(o.rank !== undefined ? { rank: o.rank, alpha: 2 * o.rank } : {}) },
            signal: interrupt.signal,
            onDownload: (received, total) => {
              const pct = total ? Math.floor((100 * received) / total) : -1;
              if (pct !== shown && pct % 5 === 0) process.stderr.write(`downloading the model: ${pct}%\n`);
              shown = pct;
            },
            onProgress: (p) => {
              const line = o.json ? JSON.stringify(p) : describe(p);
              if (line) process.stderr.write(`${line}\n`);
            },
          });
          process.stdout.write(o.json ? `${JSON.stringify(r)}\n`
            : `adapter: ${r.adapter}\nModelfile: ${r.modelfile}\nreport: ${r.report}\n${r.scores.n} held-out questions: base F1 ${(100 * r.scores.base.f1).toFixed(1)}%, adapted F1 ${(100 * r.scores.adapted.f1).toFixed(1)}%\n`);
        } finally {
          interrupt.dispose();
        }
      });
    });
}
