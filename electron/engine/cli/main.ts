import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { Engine } from '../api/engine.js';
import { DocTuneError, toWireError } from '../errors.js';
import { closeLogging, configureLogging, defaultLogDir, log } from '../log.js';
import { startBrowserServer } from '../server/browser-server.js';
import { formatDocuments, formatHits, formatIngestSummary, formatPassages, formatSyncSummary } from './format.js';
import { addTrainCommands } from './train-commands.js';
import { addDatasetCommands } from './dataset-commands.js';
import { addServeCommand } from './serve-command.js';
import { addChatCommands } from './chat-commands.js';
import { addPipelineCommand } from './pipeline-command.js';
import { addModelsCommand } from './models-command.js';
import { addAdapterCommands } from './adapter-commands.js';
import { int, oneOf, port, positiveInt, UsageError, workspaceOption } from './options.js';
import type { OcrLanguageSetting } from '../ingest/ocr/ocr-engine.js';
import type { EventOf } from '../../shared/contract.js';
import { EXIT_INTERRUPTED, interruptible } from './interrupt.js';
import { ensurePortFree, listenError } from '../api/port.js';
import { named, withEngine } from './workspace-arg.js';

/** Exit codes: 0 success, 1 the work failed, 2 bad arguments, 3 busy (other work holds the workspace, or the port), 130 stopped by Ctrl-C. */
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_BUSY = 3;


/** Commands that keep running (servers): they log to the user-data folder unless --log-file says otherwise. */
const LONG_RUNNING = new Set(['ui', 'serve']);

/** --chunk-tokens and --chunk-overlap as the workspace takes them (checked before anything is opened). */
function checkChunking(tokens: number | undefined, overlap: number | undefined): void {
  if (tokens !== undefined && (tokens < 32 || tokens > 8192)) throw new UsageError('--chunk-tokens must be 32–8192');
  if (tokens !== undefined && overlap !== undefined && overlap >= tokens) throw new UsageError('--chunk-overlap must be smaller than --chunk-tokens');
}

function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'electron'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

function print(json: boolean, value: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

export function buildCli(): Command {
  const program = new Command('doctune')
    .description('DocTune: turn domain documents into a LoRA adapter for a local language model')
    .version('0.1.0')
    .showHelpAfterError()
    // Options after a subcommand's name are that subcommand's (docs --workspace W, docs show DOC --workspace W).
    .enablePositionalOptions()
    .addOption(new Option('--log-file <file>', 'write a log of what DocTune does and any errors (rotated at 10 MB); `ui` and `serve` log to the user-data folder by default').env('DOCTUNE_LOG_FILE'))
    .exitOverride();
  // The log is set up once the command is known: the long-running servers always keep one.
  program.hook('preAction', (_root, action) => {
    const name = action.parent && action.parent !== program ? `${action.parent.name()} ${action.name()}` : action.name();
    const file = (program.opts() as { logFile?: string }).logFile || (LONG_RUNNING.has(name) ? path.join(defaultLogDir(), `doctune-${name}.log`) : undefined);
    if (!file) return;
    configureLogging(file, { process: `cli ${name}` });
    log.info('command started', { command: name, args: action.args });
  });

  program
    .command('ingest')
    .description('import documents and folders into the workspace (PDF, DOCX, XLSX, ODS, CSV, EPUB, PPTX, HTML, Markdown, text; scans and images by OCR)')
    .argument('<paths...>', 'files or folders')
    .addOption(workspaceOption(true))
    .option('--chunk-tokens <n>', 'target chunk size in tokens (saved to the workspace)', positiveInt)
    .option('--chunk-overlap <n>', 'overlap between chunks in tokens (saved to the workspace)', int)
    .option('--ocr <language>', 'OCR for scanned pages and images: auto (detected per page) | en | zh | off (saved to the workspace)', oneOf(['auto', 'en', 'zh', 'off'] as const))
    .option('--watch', 'keep the folders in step until Ctrl-C: new and changed files are imported, deleted ones marked removed')
    .option('--json', 'print the result as JSON (with --watch: one line per sync)')
    .action(async (paths: string[], opts: { workspace: string; json?: boolean; watch?: boolean; chunkTokens?: number; chunkOverlap?: number; ocr?: OcrLanguageSetting | 'off' }) => {
      checkChunking(opts.chunkTokens, opts.chunkOverlap);
      await withEngine({ workspace: opts.workspace, create: true }, async (engine) => {
        if (opts.ocr) await engine.invoke('workspace.setOcr', { ocr: opts.ocr });
        if (opts.chunkTokens !== undefined || opts.chunkOverlap !== undefined) {
          const s = await engine.invoke('workspace.info', {});
          await engine.setChunking(opts.chunkTokens ?? s.chunkTokens, opts.chunkOverlap ?? s.chunkOverlap);
        }
        const printProgress = (p: Omit<EventOf<'ingest.progress'>, 'jobId'>): void => {
          if (p.ocr) process.stderr.write(`[${p.filesDone + 1}/${p.filesTotal}] ${p.path}: OCR page ${p.ocr.done} of ${p.ocr.total}\n`);
          else if (['done', 'error'].includes(p.stage) || (p.stage === 'unchanged' && !opts.watch)) {
            const note = p.stage === 'error' ? `error: ${p.reason}` : p.stage === 'unchanged' ? 'unchanged' : `${p.chunks} chunks`;
            process.stderr.write(`[${p.filesDone}/${p.filesTotal}] ${p.path}: ${note}\n`);
          }
        };
        if (!opts.json) engine.on('ingest.progress', printProgress);
        if (opts.watch) {
          const stop = interruptible('stopping: the import in progress finishes first');
          process.stderr.write(`Watching ${paths.join(', ')} (Ctrl-C to stop)\n`);
          try {
            await engine.watch.follow(paths, {
              signal: stop.signal,
              onSync: (folder, summary) => process.stdout.write(`${opts.json ? JSON.stringify({ folder, at: new Date().toISOString(), ...summary }) : formatSyncSummary(folder, summary)}\n`),
              onError: (folder, err) => process.stderr.write(`${folder}: ${toWireError(err).message}\n`),
              ...(opts.json ? {} : { progress: printProgress }),
            });
          } finally {
            stop.dispose();
          }
          return;
        }
        const summary = await engine.ingest(paths);
        print(Boolean(opts.json), summary, () => formatIngestSummary(summary));
        // Failed only when files were tried and none got in or was already in.
        if (summary.documents === 0 && summary.unchanged === 0 && summary.errors.length > 0) process.exitCode = EXIT_FAILED;
      });
    });

  const docs = program
    .command('docs')
    .description('list the documents in the workspace (docs show DOC: one document\'s passages)')
    .addOption(workspaceOption())
    .option('--json', 'print as JSON')
    .action(async (opts: { workspace: string; json?: boolean }) => {
      await withEngine({ workspace: opts.workspace }, async (engine) => {
        const docs = await engine.invoke('docs.list', {});
        print(Boolean(opts.json), docs, () => formatDocuments(docs));
      });
    });

  docs
    .command('show')
    .description("a document's passages with their page and heading path")
    .argument('<doc>', 'the document: its file name, title, or id (or part of one)')
    .addOption(workspaceOption())
    .option('--json', 'print {"document", "passages": [{"id","ordinal","page","heading","text","tokens","ocr"}]} as JSON')
    .action(async (arg: string, opts: { workspace: string; json?: boolean }) => {
      await withEngine({ workspace: opts.workspace }, async (engine) => {
        const doc = await named(engine.findDocument(arg));
        const passages = (await engine.invoke('docs.chunks', { documentId: doc.id })).map(({ id, ordinal, page, heading, text, tokens, ocr }) => ({ id, ordinal, page, heading, text, tokens, ocr }));
        print(Boolean(opts.json), { document: doc, passages }, () => formatPassages(doc, passages));
      });
    });

  program
    .command('search')
    .description('search the workspace (full-text, plus vectors when an embedding model is set)')
    .argument('<query>', 'what to look for')
    .addOption(workspaceOption())
    .option('-k, --k <n>', 'number of results (at most 100)', positiveInt, 5)
    .option('--doc <doc>', 'only in this document (file name, title or id)')
    .option('--json', 'print as JSON')
    .action(async (query: string, opts: { workspace: string; k: number; doc?: string; json?: boolean }) => {
      if (!query.trim()) throw new UsageError('give something to search for: doctune search "words" [--k N]');
      await withEngine({ workspace: opts.workspace }, async (engine) => {
        const documentId = opts.doc ? (await named(engine.findDocument(opts.doc))).id : undefined;
        const hits = await engine.invoke('search.query', { query, k: Math.min(100, opts.k), ...(documentId ? { documentId } : {}) });
        const out = hits.map((h) => ({ text: h.text, path: h.path, page: h.page, heading: h.heading.join(' > '), score: h.score, title: h.title }));
        print(Boolean(opts.json), out, () => formatHits(hits));
      });
    });

  program
    .command('config')
    .description('show or change workspace settings')
    .addOption(workspaceOption())
    .option('--embedding-model <gguf>', 'GGUF embedding model for vector search ("none" to turn it off); re-embeds existing chunks')
    .option('--chunk-tokens <n>', 'target chunk size in tokens for future imports', positiveInt)
    .option('--chunk-overlap <n>', 'overlap in tokens for future imports', int)
    .option('--threads <n>', 'CPU threads for the embedding model (default: the physical cores free when it loads)', positiveInt)
    .option('--json', 'print as JSON')
    .action(async (opts: { workspace: string; embeddingModel?: string; chunkTokens?: number; chunkOverlap?: number; threads?: number; json?: boolean }) => {
      checkChunking(opts.chunkTokens, opts.chunkOverlap);
      await withEngine({ workspace: opts.workspace, threads: opts.threads }, async (engine) => {
        if (opts.chunkTokens !== undefined || opts.chunkOverlap !== undefined) {
          const s = await engine.invoke('workspace.info', {});
          await engine.setChunking(opts.chunkTokens ?? s.chunkTokens, opts.chunkOverlap ?? s.chunkOverlap);
        }
        if (opts.embeddingModel !== undefined) await engine.setEmbeddingModel(opts.embeddingModel === 'none' ? null : opts.embeddingModel);
        const info = await engine.invoke('workspace.info', {});
        print(Boolean(opts.json), info, () =>
          [`workspace:       ${info.path}`, `documents:       ${info.documents}`, `chunks:          ${info.chunks}`,
            `embedding model: ${info.embeddingModel ?? '(none: full-text search only)'}`, `chunk size:      ${info.chunkTokens} tokens, overlap ${info.chunkOverlap}`].join('\n'));
      });
    });

  program
    .command('ui')
    .description('serve the DocTune UI to a browser on this machine (e.g. a GPU box reached over an SSH tunnel)')
    .addOption(workspaceOption(true))
    .option('-p, --port <n>', 'port (0 picks a free one)', port, 0)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--threads <n>', 'CPU threads for models and training (default: the physical cores free when each starts)', positiveInt)
    .action(async (opts: { workspace: string; port: number; host: string; threads?: number }) => {
      await ensurePortFree(opts.host, opts.port);
      const engine = new Engine({ workspaceDir: opts.workspace, ...(opts.threads ? { threads: opts.threads } : {}), warmUp: true, watch: true, capabilities: { nativeDialogs: false, upload: true } });
      await engine.ws();
      const server = await startBrowserServer({
        engine,
        staticDir: path.join(packageRoot(), 'dist', 'renderer'),
        uploadDir: path.join(path.resolve(opts.workspace), 'uploads'),
        host: opts.host,
        port: opts.port,
      }).catch(async (err: unknown) => {
        await engine.close();
        throw listenError(err, opts.host, opts.port);
      });
      process.stdout.write(`DocTune is serving workspace ${path.resolve(opts.workspace)}\nOpen: ${server.url}\n`);
      const stop = (): void => {
        void server.close().then(() => engine.close()).then(() => closeLogging()).then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await new Promise(() => undefined);
    });

  addTrainCommands(program);
  addDatasetCommands(program);
  addServeCommand(program);
  addChatCommands(program);
  addPipelineCommand(program);
  addModelsCommand(program);
  addAdapterCommands(program, print);
  return program;
}

export async function runCli(argv: string[]): Promise<number> {
  const code = await run(argv);
  log.info('command ended', { exitCode: code });
  await closeLogging();
  return code;
}

async function run(argv: string[]): Promise<number> {
  const program = buildCli();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return EXIT_USAGE;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`doctune: ${err.message}\n`);
      return EXIT_USAGE;
    }
    const wire = toWireError(err);
    process.stderr.write(`doctune: ${wire.path ? `${wire.path}: ` : ''}${wire.message}\n`);
    if (wire.code === 'INTERNAL') log.error('command failed unexpectedly', { err });
    else log.warn('command failed', { code: wire.code, message: wire.message, ...(wire.path ? { path: wire.path } : {}) });
    if (err instanceof DocTuneError && err.code === 'CANCELLED') return EXIT_INTERRUPTED;
    return err instanceof DocTuneError && err.code === 'BUSY' ? EXIT_BUSY : EXIT_FAILED;
  }
}
