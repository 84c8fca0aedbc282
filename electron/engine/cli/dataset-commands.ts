/**
 * The QA pairs a workspace trains on: `generate` (a teacher writes them), `dataset list | accept | reject |
 * edit | export | import`, and `teacher set-key | delete-key` for API teachers' keys.
 */
import path from 'node:path';
import { type Command } from 'commander';
import { BUNDLE_ENGINES, EXPORT_FORMATS, QaStatus, type BundleEngine, type ExportFormat } from '../../shared/contract.js';
import type { Engine } from '../api/engine.js';
import { teacherChoiceOf } from '../api/teacher-spec.js';
import type { QaPairRow } from '../store/schema.js';
import { interruptible } from './interrupt.js';
import { int, num, oneOf, UsageError, workspaceOption } from './options.js';
import { named, withEngine } from './workspace-arg.js';

const STATUSES = QaStatus.options;

const pairLine = (p: Pick<QaPairRow, 'id' | 'status' | 'question' | 'answer'>): string => `${p.id.slice(0, 8)} [${p.status}] Q: ${p.question}\n${' '.repeat(9)}A: ${p.answer}`;

/** A document named by --doc, as its id (a name matching none or several is a usage error). */
const docId = async (engine: Engine, doc: string | undefined): Promise<string | undefined> => (doc ? (await named(engine.findDocument(doc))).id : undefined);

function addReviewCommands(dataset: Command): void {
  dataset.command('accept')
    .description('accept QA pairs: the ones named (ids from dataset list, or their first characters), or --all pending ones')
    .argument('[ids...]', 'pair ids')
    .addOption(workspaceOption())
    .option('--all', 'accept every pending pair')
    .option('--json', 'print as JSON')
    .action(async (ids: string[], o: { workspace: string; all?: boolean; json?: boolean }) => {
      if (!o.all === !ids.length) throw new UsageError('say which pairs: their ids (doctune dataset list shows them), or --all for every pending pair');
      await withEngine({ workspace: o.workspace }, async (engine) => {
        const accepted = o.all ? (await engine.dataset.acceptPending()).accepted : (await engine.dataset.setStatus(await named(engine.dataset.pairIds(ids)), 'accepted')).updated;
        process.stdout.write(o.json ? `${JSON.stringify({ accepted })}\n` : `accepted ${accepted} pair(s)\n`);
      });
    });

  dataset.command('reject')
    .description('reject QA pairs (they stay stored, and are not trained on)')
    .argument('<ids...>', 'pair ids (from dataset list, or their first characters)')
    .addOption(workspaceOption())
    .option('--json', 'print as JSON')
    .action(async (ids: string[], o: { workspace: string; json?: boolean }) => {
      await withEngine({ workspace: o.workspace }, async (engine) => {
        const rejected = (await engine.dataset.setStatus(await named(engine.dataset.pairIds(ids)), 'rejected')).updated;
        process.stdout.write(o.json ? `${JSON.stringify({ rejected })}\n` : `rejected ${rejected} pair(s)\n`);
      });
    });

  dataset.command('edit')
    .description("reword a QA pair: it becomes edited (accepted, in the reviewer's words)")
    .argument('<id>', 'pair id (from dataset list, or its first characters)')
    .addOption(workspaceOption())
    .option('-q, --question <text>', 'the new question')
    .option('-a, --answer <text>', 'the new answer')
    .option('--json', 'print the pair as JSON')
    .action(async (id: string, o: { workspace: string; question?: string; answer?: string; json?: boolean }) => {
      if (!o.question?.trim() && !o.answer?.trim()) throw new UsageError('give the new wording: --question TEXT and/or --answer TEXT');
      await withEngine({ workspace: o.workspace }, async (engine) => {
        const [full] = await named(engine.dataset.pairIds([id]));
        const pair = await engine.dataset.update({ id: full!, question: o.question, answer: o.answer });
        process.stdout.write(o.json ? `${JSON.stringify(pair)}\n` : `${pairLine(pair)}\n`);
      });
    });
}

function addDatasetGroup(program: Command): void {
  const dataset = program.command('dataset').description('the QA pairs a workspace trains on');
  dataset.command('import')
    .description('add reviewed QA pairs from a file (Alpaca, ShareGPT or OpenAI-messages JSON/JSONL); creates the workspace if needed')
    .argument('<file>', 'the pairs')
    .addOption(workspaceOption())
    .option('--status <s>', 'accepted | pending', oneOf(['accepted', 'pending'] as const), 'accepted')
    .option('--json', 'print as JSON')
    .action(async (file: string, o: { workspace: string; status: 'accepted' | 'pending'; json?: boolean }) => {
      await withEngine({ workspace: o.workspace, create: true }, async (engine) => {
        const { added } = await engine.dataset.importFile(file, o.status);
        process.stdout.write(o.json ? `${JSON.stringify({ added })}\n` : `added ${added} QA pair(s) as ${o.status}\n`);
      });
    });

  dataset.command('list')
    .description('list QA pairs (oldest first) with their ids')
    .addOption(workspaceOption())
    .option('--status <s>', STATUSES.join(' | '), oneOf(STATUSES))
    .option('--doc <doc>', 'only pairs from this document (file name, title or id)')
    .option('--json', 'print as JSON')
    .action(async (o: { workspace: string; status?: QaStatus; doc?: string; json?: boolean }) => {
      await withEngine({ workspace: o.workspace }, async (engine) => {
        const pairs = await engine.dataset.rows({ status: o.status, documentId: await docId(engine, o.doc) });
        process.stdout.write(o.json ? `${JSON.stringify(pairs, null, 2)}\n` : `${pairs.map(pairLine).join('\n') || 'No QA pairs.'}\n`);
      });
    });

  addReviewCommands(dataset);

  dataset.command('export')
    .description('write QA pairs for training elsewhere, each with its source (document, page, heading), and add them to a LLaMA-Factory dataset_info.json; or, with --bundle, a folder ready to train on a GPU cluster')
    .addOption(workspaceOption())
    .option('--format <f>', 'alpaca | sharegpt (JSON) | messages (JSON Lines)', oneOf(EXPORT_FORMATS))
    .requiredOption('--out <file>', 'output file (.json, or .jsonl for messages); with --bundle, a folder')
    .option('--bundle <engine>', 'llama-factory | axolotl: the pairs, the dataset description, LoRA configs (one GPU, and DeepSpeed ZeRO-3) and the commands', oneOf(BUNDLE_ENGINES))
    .option('--run <dir>', 'with --bundle: train with this DocTune run\'s settings and base model (default: DocTune\'s defaults)')
    .option('-m, --model <model>', 'with --bundle: the base model GGUF (its architecture, chat template and the Hugging Face model it records)')
    .option('--base <hf-model>', 'with --bundle: the Hugging Face model to train (default: what the GGUF records)')
    .option('--template <name>', 'with --bundle llama-factory: its chat template name (default: from the model)')
    .option('--status <s>', 'accepted | all', oneOf(['accepted', 'all'] as const), 'accepted')
    .option('--doc <doc>', 'only pairs from this document (file name, title or id)')
    .option('--name <name>', 'the entry in dataset_info.json (default: the file name without extension)')
    .option('--no-source', 'leave out where each pair came from')
    .action(async (o: {
      workspace: string; format?: ExportFormat; out: string; status: 'accepted' | 'all'; doc?: string; name?: string; source: boolean;
      bundle?: BundleEngine; run?: string; model?: string; base?: string; template?: string;
    }) => {
      if (!o.format && !o.bundle) throw new UsageError('give --format (a data file) or --bundle (a training folder)');
      await withEngine({ workspace: o.workspace }, async (engine) => {
        const documentId = await docId(engine, o.doc);
        if (o.bundle) {
          const r = await named(engine.dataset.bundle({ engine: o.bundle, out: o.out, status: o.status, documentId, run: o.run, model: o.model, base: o.base, template: o.template }));
          if (r.templateNote) process.stdout.write(`note: ${r.templateNote}\n`);
          if (r.heldOutLeftOut) process.stdout.write(`left out the run's ${r.heldOutLeftOut} held-out pair(s): \`doctune eval --run\` scores on them\n`);
          const c = r.bundle.commands;
          process.stdout.write(`wrote a ${o.bundle} bundle of ${r.pairs} pair(s) for ${r.baseModel} to ${r.bundle.dir}\n  train:      ${c.train}\n  multi-GPU:  ${c.trainMultiGpu}\n  back:       ${c.importBack}\n  serve:      ${c.serve}\n`);
          return;
        }
        const format = o.format!;
        const r = await engine.dataset.exportTo({ format, out: o.out, status: o.status, documentId, name: o.name, sources: o.source });
        const asked = path.resolve(o.out);
        process.stdout.write(`wrote ${r.count} pair(s) to ${r.path}${r.path !== asked ? ` (${format === 'messages' ? 'JSON Lines' : 'a JSON array'}: ${path.extname(r.path)})` : ''}\n`);
      });
    });
}

export function addDatasetCommands(program: Command): void {
  addDatasetGroup(program);

  program
    .command('generate')
    .description('generate QA pairs from the workspace passages (pending review)')
    .addOption(workspaceOption())
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
      const teacher = await named(() => teacherChoiceOf(o.teacher, {
        concurrency: o.concurrency, apiKeyEnv: o.apiKeyEnv, timeoutSeconds: o.timeout,
        price: o.priceIn !== undefined || o.priceOut !== undefined ? { input: o.priceIn ?? 0, output: o.priceOut ?? 0 } : undefined,
      }));
      await withEngine({ workspace: o.workspace }, async (engine) => {
        const interrupt = interruptible('stopping: the pairs written so far are kept, and a rerun skips their passages');
        try {
          // A section may finish several passages at once: a line each time a multiple of 25 is passed.
          let shown = 0;
          const summary = await engine.dataset.generateWith(teacher, {
            questionsPerChunk: Math.max(1, o.questionsPerChunk),
            paraphrases: o.paraphrases,
            signal: interrupt.signal,
            onProgress: (p) => {
              if (o.json) process.stderr.write(`${JSON.stringify(p)}\n`);
              else if (p.done === p.total || Math.floor(p.done / 25) > Math.floor(shown / 25)) {
                shown = p.done;
                process.stderr.write(`[${p.done}/${p.total}] ${p.pairs} pairs${p.eta === null ? '' : `, ${p.eta}s left`}\n`);
              }
            },
          });
          const cost = summary.outputs?.cost !== undefined ? `, $${summary.outputs.cost.toFixed(4)}` : '';
          const tokens = summary.outputs?.promptTokens !== undefined ? `; ${summary.outputs.requests} requests (${summary.outputs.retries} retried), ${summary.outputs.promptTokens} + ${summary.outputs.completionTokens} tokens${cost}` : '';
          process.stdout.write(o.json ? `${JSON.stringify(summary)}\n` : `${summary.pairs} pairs from ${summary.chunks} passages (${summary.paraphrases} paraphrases, ${summary.duplicates} near-duplicates dropped, ${summary.rejected_ungrounded} ungrounded rejected, ${summary.failed} failed)${tokens}\n`);
        } finally {
          interrupt.dispose();
        }
      });
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
      await withEngine({}, async (engine) => engine.dataset.setKey(baseUrl, key));
      process.stdout.write(`stored the key for ${baseUrl} in the keychain\n`);
    });
  teacherCmd.command('delete-key')
    .description('remove the stored API key for a base URL')
    .argument('<base-url>')
    .action(async (baseUrl: string) => {
      const { deleted } = await withEngine({}, async (engine) => engine.dataset.deleteKey(baseUrl));
      process.stdout.write(deleted ? `removed the key for ${baseUrl}\n` : `no key stored for ${baseUrl}\n`);
    });
}
