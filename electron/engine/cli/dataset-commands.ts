/**
 * The QA pairs a workspace trains on: `generate` (a teacher writes them), `dataset list | accept | reject |
 * edit | export | import`, and `teacher set-key | delete-key` for API teachers' keys.
 */
import path from 'node:path';
import { type Command } from 'commander';
import { keychainDelete, keychainSet } from '../dataset/api-key.js';
import { EXPORT_FORMATS, exportPairs, pairSources, type ExportFormat } from '../dataset/export.js';
import { acceptAllPending, generatePairs } from '../dataset/generate.js';
import { BUNDLE_ENGINES, writeTrainingBundle, type BundleEngine } from '../dataset/training-bundle.js';
import { bundleChoice } from './bundle-options.js';
import { addQaPairs, listQaPairs, pairsFromConversations, queryQaPairs, setQaStatus, updateQaPair, type QaStatus } from '../store/qa-store.js';
import type { QaPairRow } from '../store/schema.js';
import { Workspace } from '../store/workspace.js';
import { readConversations } from '../dataset/conversation.js';
import { interruptible } from './interrupt.js';
import { int, num, oneOf, UsageError, workspaceOption } from './options.js';
import { teacherChoiceOf } from './teacher-spec.js';
import { findDocument, openExistingWorkspace } from './workspace-arg.js';

const STATUSES = ['pending', 'accepted', 'rejected', 'edited'] as const satisfies readonly QaStatus[];

/** Pairs named on the command line by id, or by the start of one (as `dataset list` shows them). */
async function pairIds(ws: Workspace, args: string[]): Promise<string[]> {
  const ids = ((await (await ws.qaTable()).query().select(['id']).toArray()) as { id: string }[]).map((r) => r.id);
  const known = new Set(ids);
  return args.map((arg) => {
    const want = arg.trim().toLowerCase();
    if (known.has(want)) return want;
    const matches = want.length >= 4 ? ids.filter((id) => id.startsWith(want)) : [];
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) throw new UsageError(`"${arg}" is the start of ${matches.length} pairs' ids: give more of it`);
    throw new UsageError(`no QA pair "${arg}" (doctune dataset list shows the ids)`);
  });
}

const pairLine = (p: QaPairRow): string => `${p.id.slice(0, 8)} [${p.status}] Q: ${p.question}\n${' '.repeat(9)}A: ${p.answer}`;

function addReviewCommands(dataset: Command): void {
  dataset.command('accept')
    .description('accept QA pairs: the ones named (ids from dataset list, or their first characters), or --all pending ones')
    .argument('[ids...]', 'pair ids')
    .addOption(workspaceOption())
    .option('--all', 'accept every pending pair')
    .option('--json', 'print as JSON')
    .action(async (ids: string[], o: { workspace: string; all?: boolean; json?: boolean }) => {
      if (!o.all === !ids.length) throw new UsageError('say which pairs: their ids (doctune dataset list shows them), or --all for every pending pair');
      const ws = await openExistingWorkspace(o.workspace);
      try {
        const accepted = o.all ? await acceptAllPending(ws) : await setQaStatus(ws, await pairIds(ws, ids), 'accepted');
        process.stdout.write(o.json ? `${JSON.stringify({ accepted })}\n` : `accepted ${accepted} pair(s)\n`);
      } finally {
        ws.close();
      }
    });

  dataset.command('reject')
    .description('reject QA pairs (they stay stored, and are not trained on)')
    .argument('<ids...>', 'pair ids (from dataset list, or their first characters)')
    .addOption(workspaceOption())
    .option('--json', 'print as JSON')
    .action(async (ids: string[], o: { workspace: string; json?: boolean }) => {
      const ws = await openExistingWorkspace(o.workspace);
      try {
        const rejected = await setQaStatus(ws, await pairIds(ws, ids), 'rejected');
        process.stdout.write(o.json ? `${JSON.stringify({ rejected })}\n` : `rejected ${rejected} pair(s)\n`);
      } finally {
        ws.close();
      }
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
      const ws = await openExistingWorkspace(o.workspace);
      try {
        const [full] = await pairIds(ws, [id]);
        const pair = await updateQaPair(ws, full!, { ...(o.question ? { question: o.question } : {}), ...(o.answer ? { answer: o.answer } : {}) });
        if (!pair) throw new UsageError(`no QA pair "${id}"`);
        process.stdout.write(o.json ? `${JSON.stringify(pair)}\n` : `${pairLine(pair)}\n`);
      } finally {
        ws.close();
      }
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
      const conversations = await readConversations(path.resolve(file));
      const ws = await Workspace.open(o.workspace);
      try {
        const added = await addQaPairs(ws, pairsFromConversations(conversations, o.status));
        process.stdout.write(o.json ? `${JSON.stringify({ added })}\n` : `added ${added} QA pair(s) as ${o.status}\n`);
      } finally {
        ws.close();
      }
    });

  dataset.command('list')
    .description('list QA pairs (oldest first) with their ids')
    .addOption(workspaceOption())
    .option('--status <s>', STATUSES.join(' | '), oneOf(STATUSES))
    .option('--doc <doc>', 'only pairs from this document (file name, title or id)')
    .option('--json', 'print as JSON')
    .action(async (o: { workspace: string; status?: QaStatus; doc?: string; json?: boolean }) => {
      const ws = await openExistingWorkspace(o.workspace);
      try {
        const documentId = o.doc ? (await findDocument(ws, o.doc)).id : undefined;
        const pairs = await queryQaPairs(ws, { ...(o.status ? { status: o.status } : {}), ...(documentId ? { documentId } : {}) });
        process.stdout.write(o.json ? `${JSON.stringify(pairs, null, 2)}\n` : `${pairs.map(pairLine).join('\n') || 'No QA pairs.'}\n`);
      } finally {
        ws.close();
      }
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
      const choice = o.bundle ? await bundleChoice(o) : null;
      const ws = await openExistingWorkspace(o.workspace);
      try {
        const documentId = o.doc ? (await findDocument(ws, o.doc)).id : undefined;
        let pairs = o.status === 'all' ? await listQaPairs(ws) : [...(await listQaPairs(ws, 'accepted')), ...(await listQaPairs(ws, 'edited'))];
        if (documentId) pairs = pairs.filter((p) => p.document_id === documentId);
        if (o.bundle && choice) {
          const { heldOut, ...settings } = choice;
          const kept = pairs.filter((p) => !heldOut.has(p.question));
          if (!kept.length) throw new UsageError('no accepted QA pairs to bundle (review some first, or --status all)');
          const bundle = await writeTrainingBundle({ engine: o.bundle, outDir: o.out, pairs: kept, ...settings });
          if (o.bundle === 'llama-factory' && choice.templateNote) process.stdout.write(`note: ${choice.templateNote}\n`);
          if (kept.length < pairs.length) process.stdout.write(`left out the run's ${pairs.length - kept.length} held-out pair(s): \`doctune eval --run\` scores on them\n`);
          process.stdout.write(`wrote a ${o.bundle} bundle of ${kept.length} pair(s) for ${choice.baseModel} to ${bundle.dir}\n  train:      ${bundle.commands.train}\n  multi-GPU:  ${bundle.commands.trainMultiGpu}\n  back:       ${bundle.commands.importBack}\n  serve:      ${bundle.commands.serve}\n`);
          return;
        }
        if (!o.format) return;
        const file = await exportPairs(pairs, o.format, path.resolve(o.out), {
          name: o.name ?? path.basename(o.out).replace(/\.jsonl?$/i, ''), ...(o.source ? { sources: await pairSources(ws, pairs) } : {}),
        });
        process.stdout.write(`wrote ${pairs.length} pair(s) to ${file}${file !== path.resolve(o.out) ? ` (${o.format === 'messages' ? 'JSON Lines' : 'a JSON array'}: ${path.extname(file)})` : ''}\n`);
      } finally {
        ws.close();
      }
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
      const teacher = teacherChoiceOf(o.teacher, {
        concurrency: o.concurrency, apiKeyEnv: o.apiKeyEnv, timeoutSeconds: o.timeout,
        price: o.priceIn !== undefined || o.priceOut !== undefined ? { input: o.priceIn ?? 0, output: o.priceOut ?? 0 } : undefined,
      });
      const ws = await openExistingWorkspace(o.workspace);
      const interrupt = interruptible('stopping: the pairs written so far are kept, and a rerun skips their passages');
      try {
        // A section may finish several passages at once: a line each time a multiple of 25 is passed.
        let shown = 0;
        const summary = await generatePairs(ws, {
          teacher,
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
}
