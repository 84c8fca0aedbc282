import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { z } from 'zod';
import type { Channel, DeviceReport, DocumentSummary, EventName, EventOf, IngestSummary, ResultOf, WorkspaceInfo } from '../../shared/contract.js';
import { channels } from '../../shared/contract.js';
import { DocTuneError, toWireError } from '../errors.js';
import { ingestPaths } from '../ingest/ingest-files.js';
import { DocumentParser, type ParserOptions } from '../ingest/parse-pool.js';
import { Embedder } from '../models/embedder.js';
import { searchWorkspace } from '../store/search.js';
import { Workspace } from '../store/workspace.js';
import { probeDevices } from '../train/devices.js';
import { documentSummary, chunkView, deviceReport } from './views.js';
import { findDocument } from './find-document.js';
import { DatasetDoor } from './dataset-door.js';
import { ChatDoor } from './chat-door.js';
import { ServeDoor } from './serve-door.js';
import { ModelsDoor } from './models-door.js';
import { PipelineDoor } from './pipeline-door.js';
import { WatchDoor } from './watch-door.js';
import { TrainDoor } from './train-door.js';
import { AskDoor } from './ask-door.js';
import { AdapterDoor } from './adapter-door.js';
import { JobSlots } from './job-slots.js';
import { Serial } from '../serial.js';
import path from 'node:path';
import { userDataDir } from '../paths.js';
import { log, logFile, logged } from '../log.js';

export interface EngineOptions {
  /** The workspace; absent for work that names its own files (training on a data file, chat with a model, serving). */
  workspaceDir?: string;
  /** Create the workspace when it does not exist (default); commands that only read one refuse a missing folder instead. */
  createWorkspace?: boolean;
  parser?: ParserOptions;
  /** CPU threads for llama.cpp and training (default: the physical cores free when a model loads). */
  threads?: number;
  /** Load the PDF engine in the parsing threads at start (interactive doors), not on the first import. */
  warmUp?: boolean;
  /** How the compute devices are probed (the training worker process by default; tests replace it). */
  probeDevices?: () => Promise<DeviceReport>;
  /** Door-specific handlers (native dialogs in Electron). */
  pickPaths?: (kind: 'files' | 'folder' | 'model' | 'adapter') => Promise<string[]>;
  /** Opens a folder in the system's file manager (Electron's shell); absent where the user is elsewhere (browser mode). */
  openFolder?: (dir: string) => Promise<void>;
  capabilities?: { nativeDialogs: boolean; upload: boolean };
  /** Where model downloads go (default: the models folder beside the workspaces, shared with the CLI). */
  modelsDir?: string;
  /** Watch the workspace's watched folders while the engine runs (the app and browser mode). */
  watch?: boolean;
  /** How long a watched folder must be quiet before its changes are synced (ms). */
  watchQuietMs?: number;
}

type Handlers = { [C in Channel]: (args: ResultArgs<C>) => Promise<ResultOf<C>> };
type ResultArgs<C extends Channel> = z.infer<(typeof channels)[C]['args']>;

/**
 * The engine as the UI sees it: one object serving the contract's channels, whichever door (Electron IPC,
 * WebSocket, CLI) the call came through, and emitting the contract's events.
 */
export class Engine {
  private workspace: Workspace | null = null;
  private opening: Promise<Workspace> | null = null;
  private readonly parser: DocumentParser;
  private embedder: Embedder | null = null;
  private readonly events = new EventEmitter();
  /** Every background job, and which may not run together. A watched folder's sync counts while it runs. */
  private readonly jobs = new JobSlots(() => (this.watch?.syncing ? ['sync'] : []));
  /** Imports and watched-folder syncs, one at a time, in order. */
  private readonly queue = new Serial();
  /** The device probe, kept for the life of the engine (a failed one is forgotten so the next call retries). */
  private devices: Promise<DeviceReport> | null = null;

  /** QA pairs: review, teacher settings, generation and export. */
  readonly dataset: DatasetDoor;
  /** The chat window and evaluation. */
  readonly chat: ChatDoor;
  /** The OpenAI-compatible server, started from the app. */
  readonly serve: ServeDoor;
  /** Recommended and local models, downloads. */
  readonly models: ModelsDoor;
  /** Documents to a tested adapter in one run. */
  readonly pipeline: PipelineDoor;
  /** Watched folders, kept in step with the workspace. */
  readonly watch: WatchDoor;
  /** LoRA training on a named model, from a data file or the workspace's accepted pairs. */
  readonly train: TrainDoor;
  /** Questions to a model the request names, and evaluation of a named adapter (the command line's chat and eval). */
  readonly ask: AskDoor;
  /** Adapters to and from Hugging Face PEFT. */
  readonly adapters = new AdapterDoor();

  constructor(private readonly options: EngineOptions) {
    this.parser = new DocumentParser(options.parser);
    this.dataset = new DatasetDoor(() => this.ws(), (e, p) => this.emit(e, p), options.threads, this.jobs);
    this.chat = new ChatDoor(() => this.ws(), (ws) => this.embedderFor(ws), (e, p) => this.emit(e, p), options.threads, () => this.dataset.openJudge(), this.jobs);
    this.serve = new ServeDoor(() => this.chat.settings(), options.threads);
    this.models = new ModelsDoor(options.modelsDir ?? path.join(userDataDir(), 'models'), (refresh) => this.devicesReport(refresh), (e, p) => this.emit(e, p), this.jobs);
    this.pipeline = new PipelineDoor(() => this.ws(), () => this.dataset.teacherChoice(), (e, p) => this.emit(e, p), options.threads, this.jobs);
    this.ask = new AskDoor(() => this.ws(), (ws) => this.embedderFor(ws), options.threads, this.jobs);
    this.train = new TrainDoor(() => options.workspaceDir, options.threads);
    this.watch = new WatchDoor({
      ws: () => this.ws(),
      exclusive: (work) => this.exclusive(work),
      ingestOptions: async (ws) => ({ parser: this.parser, embedder: await this.embedderFor(ws) }),
      emit: (e, p) => this.emit(e, p),
      // A watched folder's sync waits while the pipeline or generation writes to the workspace.
      blocked: () => this.jobs.busyWith('sync'),
      ...(options.watchQuietMs !== undefined ? { quietMs: options.watchQuietMs } : {}),
    });
    if (options.warmUp) void this.parser.warmUp().catch(logged('warming up the document parser'));
    // Failures show on the folder (watch.list); starting never fails the engine.
    if (options.watch) void this.watch.start().catch(logged('starting the watched folders'));
  }

  /** The language most of the workspace's documents are in, where it is English or Chinese (what model choice weighs). */
  private async documentsLanguage(): Promise<'en' | 'zh' | undefined> {
    if (!this.options.workspaceDir) return undefined;
    const docs = (await (await this.ws()).listDocuments()).filter((d) => d.status !== 'removed');
    const zh = docs.filter((d) => d.language === 'zh').length;
    const en = docs.filter((d) => d.language === 'en').length;
    return zh + en === 0 ? undefined : zh > en ? 'zh' : 'en';
  }

  /** Run work in the import queue: imports and watched-folder syncs one at a time, in order. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.queue.run(work);
  }

  async ws(): Promise<Workspace> {
    if (this.workspace) return this.workspace;
    const dir = this.options.workspaceDir;
    if (!dir) throw new DocTuneError('BAD_ARGUMENT', 'this needs a workspace: give its folder');
    this.opening ??= Workspace.open(dir, { create: this.options.createWorkspace !== false }).then((w) => (this.workspace = w));
    // A failed open is forgotten, so that the next request tries again.
    this.opening.catch(() => (this.opening = null));
    return this.opening;
  }

  /** Whether a folder holds a workspace (without creating one). */
  static workspaceExists(dir: string): Promise<boolean> {
    return Workspace.exists(dir);
  }

  /** A document named by the user: its id (or the start of one), its file's path or name, or its title (see findDocument). */
  async findDocument(name: string): Promise<DocumentSummary> {
    const ws = await this.ws();
    return documentSummary(findDocument(await ws.listDocuments(), name, ws.dir));
  }

  /** The embedding model named in the workspace settings, loaded on first use. */
  async embedderFor(ws: Workspace): Promise<Embedder | null> {
    const model = ws.settings.embeddingModel;
    if (!model) return null;
    if (this.embedder?.modelPath === model) return this.embedder;
    await this.embedder?.dispose();
    this.embedder = await Embedder.load(model, { threads: this.options.threads });
    return this.embedder;
  }

  on<E extends EventName>(event: E, listener: (payload: EventOf<E>) => void): () => void {
    this.events.on(event, listener);
    return () => this.events.off(event, listener);
  }

  private emit<E extends EventName>(event: E, payload: EventOf<E>): void {
    this.events.emit(event, payload);
  }

  /** Validate and dispatch one request. Throws DocTuneError; doors convert with toWireError. */
  async invoke<C extends Channel>(channel: C, rawArgs: unknown): Promise<ResultOf<C>> {
    const spec = channels[channel];
    if (!spec) throw new DocTuneError('BAD_ARGUMENT', `unknown channel ${String(channel)}`);
    const handler = this.handlers[channel] as (a: unknown) => Promise<ResultOf<C>>;
    try {
      return await handler(spec.args.parse(rawArgs ?? {}));
    } catch (err) {
      // One place for every door: a failure the user is told about is noted; an unexpected one with its stack.
      const wire = toWireError(err);
      if (wire.code === 'INTERNAL') log.error('request failed unexpectedly', { channel, err });
      else log.info('request refused', { channel, code: wire.code, message: wire.message });
      throw err;
    }
  }

  private readonly handlers: Handlers = {
    'app.capabilities': async () => this.options.capabilities ?? { nativeDialogs: false, upload: false },
    'app.logs': async () => {
      const file = logFile();
      return { folder: file ? path.dirname(file) : null, canOpen: Boolean(file && this.options.openFolder) };
    },
    'app.openLogs': async () => {
      const file = logFile();
      if (!file) throw new DocTuneError('NOT_FOUND', 'logging is off in this session');
      if (!this.options.openFolder) throw new DocTuneError('BAD_ARGUMENT', 'folders open in the desktop app only: the logs are on the DocTune machine', { path: path.dirname(file) });
      await this.options.openFolder(path.dirname(file));
      return { opened: true };
    },
    'workspace.info': async () => this.workspaceInfo(),
    'workspace.setOcr': async ({ ocr }) => {
      await (await this.ws()).updateSettings({ ocr });
      return this.workspaceInfo();
    },
    'docs.list': async () => (await (await this.ws()).listDocuments()).map(documentSummary),
    'docs.chunks': async ({ documentId }) => (await (await this.ws()).chunksOf(documentId)).map(chunkView),
    'docs.remove': async ({ documentId }) => ({ removed: await (await this.ws()).removeDocument(documentId) }),
    'ingest.start': async ({ paths }) => {
      // Imports run one after another; the request returns at once and progress arrives as events.
      const { jobId } = await this.jobs.start({
        kind: 'import',
        run: (_none, job) =>
          this.queue.run(() =>
            this.ingest(paths, { signal: job.signal, jobId: job.id })
              .then((summary) => this.emit('ingest.done', { jobId: job.id, summary }))
              .catch((err: unknown) => this.emit('ingest.failed', { jobId: job.id, error: toWireError(err).message })),
          ),
      });
      return { jobId };
    },
    'watch.list': async () => this.watch.list(),
    'watch.add': async ({ path: folder }) => this.watch.add(folder),
    'watch.remove': async ({ path: folder }) => this.watch.remove(folder),
    'ingest.cancel': async ({ jobId }) => ({ cancelled: this.jobs.cancel(jobId, 'import') }),
    'search.query': async ({ query, k, documentId }) => {
      const ws = await this.ws();
      return searchWorkspace(ws, query, k, await this.embedderFor(ws), documentId ? { documentId } : {});
    },
    'train.devices': async ({ refresh }) => this.devicesReport(Boolean(refresh)),
    'models.overview': async ({ refresh, language }) => this.models.overview(Boolean(refresh), language ?? (await this.documentsLanguage())),
    'models.pull': async ({ id }) => this.models.pull(id),
    'models.cancel': async ({ jobId }) => this.models.cancel(jobId),
    'models.inspect': async ({ path: file }) => this.models.inspect(file),
    'pipeline.start': async (a) => this.pipeline.start(a),
    'pipeline.cancel': async ({ jobId }) => this.pipeline.cancel(jobId),
    'pipeline.runs': async () => this.pipeline.runs(),
    'qa.list': async (f) => this.dataset.list(f),
    'qa.passage': async ({ id }) => this.dataset.passage(id),
    'qa.update': async (a) => this.dataset.update(a),
    'qa.setStatus': async ({ ids, status }) => this.dataset.setStatus(ids, status),
    'teacher.get': async () => this.dataset.teacher(),
    'teacher.set': async (patch) => this.dataset.setTeacher(patch),
    'teacher.setKey': async ({ baseUrl, key }) => this.dataset.setKey(baseUrl, key),
    'dataset.generate': async () => this.dataset.generate(),
    'dataset.cancel': async ({ jobId }) => this.dataset.cancel(jobId),
    'dataset.export': async ({ format, status }) => this.dataset.export(format, status),
    'chat.settings.get': async () => this.chat.settings(),
    'chat.settings.set': async (patch) => this.chat.setSettings(patch),
    'chat.adapters': async () => this.chat.adapters(),
    'chat.adapters.add': async ({ path: file }) => this.chat.addAdapter(file),
    'chat.adapters.forget': async ({ path: file }) => this.chat.forgetAdapter(file),
    'chat.send': async ({ messages }) => this.chat.send(messages),
    'chat.stop': async ({ jobId }) => this.chat.stop(jobId),
    'chat.history': async () => this.chat.history(),
    'chat.save': async ({ conversation }) => this.chat.save(conversation),
    'chat.delete': async ({ id }) => this.chat.remove(id),
    'eval.run': async ({ rag, judge }) => this.chat.runEval(rag, judge),
    'eval.cancel': async ({ jobId }) => this.chat.cancelEval(jobId),
    'eval.reports': async () => this.chat.reports(),
    'eval.report': async ({ fileName, lang, embedded }) => this.chat.report(fileName, lang, embedded),
    'serve.start': async (o) => this.serve.start(o),
    'serve.stop': async () => this.serve.stop(),
    'serve.status': async () => this.serve.status(),
    'dialog.pickPaths': async ({ kind }) => {
      if (!this.options.pickPaths) throw new DocTuneError('BAD_ARGUMENT', 'file dialogs are only available in the desktop app');
      return { paths: await this.options.pickPaths(kind) };
    },
  };

  /** The device probe, kept for the life of the engine (a failed one is forgotten so the next call retries). */
  private devicesReport(refresh: boolean): Promise<DeviceReport> {
    if (refresh || !this.devices) {
      const probe = this.options.probeDevices ? this.options.probeDevices() : probeDevices().then(deviceReport);
      this.devices = probe;
      probe.catch(() => {
        if (this.devices === probe) this.devices = null;
      });
    }
    return this.devices;
  }

  private async workspaceInfo(): Promise<WorkspaceInfo> {
    const ws = await this.ws();
    const counts = await ws.counts();
    const s = ws.settings;
    return { path: ws.dir, ...counts, embeddingModel: s.embeddingModel, chunkTokens: s.chunkTokens, chunkOverlap: s.chunkOverlap, ocr: s.ocr };
  }

  /** Import files; used directly by the CLI and through `ingest.start` by the UI. */
  async ingest(paths: string[], opts: { signal?: AbortSignal; jobId?: string } = {}): Promise<IngestSummary> {
    const ws = await this.ws();
    const embedder = await this.embedderFor(ws);
    const jobId = opts.jobId ?? randomUUID();
    return ingestPaths(ws, paths, {
      parser: this.parser,
      embedder,
      ...(opts.signal ? { signal: opts.signal } : {}),
      onProgress: (p) => this.emit('ingest.progress', { jobId, ...p }),
    });
  }

  /**
   * Choose (or clear) the workspace's embedding model. Existing chunks are re-embedded and the chunks
   * table rewritten with vectors in one commit, so search never sees a mix of models.
   */
  async setEmbeddingModel(modelPath: string | null): Promise<{ dimensions: number | null; chunks: number }> {
    // In the import queue: an import or a watched folder's sync writing meanwhile would be lost in the rewrite.
    return this.exclusive(() => this.rewriteEmbeddings(modelPath));
  }

  private async rewriteEmbeddings(modelPath: string | null): Promise<{ dimensions: number | null; chunks: number }> {
    const ws = await this.ws();
    // Removed documents' passages are rewritten too: their QA pairs still show them.
    const chunks = await ws.keptChunks();
    if (!modelPath) {
      await ws.rewriteChunks(chunks, null);
      await ws.updateSettings({ embeddingModel: null, embeddingDim: null });
      return { dimensions: null, chunks: chunks.length };
    }
    await this.embedder?.dispose();
    this.embedder = await Embedder.load(modelPath, { threads: this.options.threads });
    for (const c of chunks) c.vector = await this.embedder.embed(c.heading.length ? `${c.heading.join(' > ')}\n${c.text}` : c.text);
    await ws.rewriteChunks(chunks, this.embedder.dimensions);
    await ws.updateSettings({ embeddingModel: this.embedder.modelPath, embeddingDim: this.embedder.dimensions });
    return { dimensions: this.embedder.dimensions, chunks: chunks.length };
  }

  async setChunking(targetTokens: number, overlapTokens: number): Promise<void> {
    if (!(targetTokens >= 32 && targetTokens <= 8192) || !(overlapTokens >= 0 && overlapTokens < targetTokens)) {
      throw new DocTuneError('BAD_ARGUMENT', 'chunk size must be 32–8192 tokens and overlap smaller than the chunk');
    }
    await (await this.ws()).updateSettings({ chunkTokens: targetTokens, chunkOverlap: overlapTokens });
  }

  async close(): Promise<void> {
    await this.watch.close();
    await this.models.close();
    await this.pipeline.close();
    await this.dataset.close();
    await this.chat.close();
    await this.serve.stop();
    await this.jobs.close();
    await this.queue.idle();
    await this.parser.close();
    await this.embedder?.dispose();
    this.workspace?.close();
  }
}
