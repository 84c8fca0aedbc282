/**
 * The one typed contract between the UI and the engine. Electron IPC (main + preload), the browser-mode
 * WebSocket server and the renderer all import this module; every payload crossing a process boundary is
 * validated against these schemas on the receiving side.
 */
import { z } from 'zod';
import { EvalExamples, EvalReliability } from './eval-reliability.js';
import { EXPORT_FORMATS, ModelInfo, ModelsOverview, PipelineProgressEvent, PipelineResultView, PipelineRunInfo, PipelineStartArgs } from './pipeline-schemas.js';

export * from './eval-reliability.js';
export * from './pipeline-schemas.js';

/** removed: the file left a watched folder; kept for the QA pairs written from it. */
export const DocumentStatus = z.enum(['ready', 'error', 'removed']);

export const DocumentSummary = z.object({
  id: z.string(),
  path: z.string(),
  title: z.string(),
  format: z.string(),
  language: z.string(),
  pages: z.number().int().nullable(),
  chunks: z.number().int(),
  status: DocumentStatus,
  error: z.string().nullable(),
  sha256: z.string(),
  importedAt: z.string(),
});
export type DocumentSummary = z.infer<typeof DocumentSummary>;

export const ChunkView = z.object({
  id: z.string(),
  documentId: z.string(),
  ordinal: z.number().int(),
  text: z.string(),
  page: z.number().int().nullable(),
  heading: z.array(z.string()),
  language: z.string(),
  tokens: z.number().int(),
  /** Recognised from a page image (OCR): it may hold recognition errors. */
  ocr: z.boolean(),
});
export type ChunkView = z.infer<typeof ChunkView>;

export const SearchHit = z.object({
  chunkId: z.string(),
  documentId: z.string(),
  text: z.string(),
  path: z.string(),
  title: z.string(),
  page: z.number().int().nullable(),
  heading: z.array(z.string()),
  score: z.number(),
  /** Query terms to highlight in `text`, as the search tokenised them. */
  terms: z.array(z.string()),
});
export type SearchHit = z.infer<typeof SearchHit>;

export const FileOutcome = z.object({ path: z.string(), reason: z.string() });
export type FileOutcome = z.infer<typeof FileOutcome>;

export const IngestSummary = z.object({
  documents: z.number().int(),
  chunks: z.number().int(),
  unchanged: z.number().int(),
  skipped: z.array(FileOutcome),
  errors: z.array(FileOutcome),
});
export type IngestSummary = z.infer<typeof IngestSummary>;

/** A watched folder's sync: the import's summary, and the files that left, moved or came back. */
export const SyncSummary = IngestSummary.extend({
  /** Files gone from the folder: their documents are marked removed (kept for their QA pairs). */
  removed: z.array(z.string()),
  /** Files moved or renamed: the document follows, with its passages and QA pairs. */
  renamed: z.array(z.object({ from: z.string(), to: z.string() })),
  /** Removed files back in place: their documents are ready again. */
  restored: z.array(z.string()),
});
export type SyncSummary = z.infer<typeof SyncSummary>;

/** A folder the workspace keeps in step with (new, changed, renamed and deleted files). */
export const WatchedFolder = z.object({
  path: z.string(),
  /** watching: listening for changes; syncing: importing what changed; error: the folder cannot be watched. */
  state: z.enum(['watching', 'syncing', 'error']),
  error: z.string().nullable(),
  /** When it was last brought in step, and what that changed. */
  lastSync: z.object({ at: z.string(), summary: SyncSummary }).nullable(),
});
export type WatchedFolder = z.infer<typeof WatchedFolder>;

export const FileStage = z.enum(['queued', 'parsing', 'indexing', 'done', 'unchanged', 'skipped', 'error']);
export type FileStage = z.infer<typeof FileStage>;

export const IngestProgress = z.object({
  jobId: z.string(),
  path: z.string(),
  stage: FileStage,
  /** 0..1 for this file. */
  fraction: z.number(),
  reason: z.string().optional(),
  chunks: z.number().int().optional(),
  /** While scanned pages are read by OCR: pages read and to read in this file. */
  ocr: z.object({ done: z.number().int(), total: z.number().int() }).optional(),
  filesDone: z.number().int(),
  filesTotal: z.number().int(),
});
export type IngestProgress = z.infer<typeof IngestProgress>;

/** OCR for scanned pages and images: the language (detected per page with auto), or off. */
export const OcrSetting = z.enum(['auto', 'en', 'zh', 'off']);
export type OcrSetting = z.infer<typeof OcrSetting>;

export const WorkspaceInfo = z.object({
  path: z.string(),
  documents: z.number().int(),
  chunks: z.number().int(),
  embeddingModel: z.string().nullable(),
  chunkTokens: z.number().int(),
  chunkOverlap: z.number().int(),
  ocr: OcrSetting,
});
export type WorkspaceInfo = z.infer<typeof WorkspaceInfo>;

export const Capabilities = z.object({
  /** Native file/folder pickers (Electron). */
  nativeDialogs: z.boolean(),
  /** Files are uploaded over HTTP to the engine's machine (browser mode). */
  upload: z.boolean(),
});
export type Capabilities = z.infer<typeof Capabilities>;

/** Where the engine writes its log (null: logging is off), and whether the app can open that folder. */
export const LogsInfo = z.object({ folder: z.string().nullable(), canOpen: z.boolean() });
export type LogsInfo = z.infer<typeof LogsInfo>;

/** A compute device training can use (memory in bytes; for the CPU, the machine's RAM). */
export const ComputeDevice = z.object({
  /** CPU, CUDA, Vulkan or Metal. */
  backend: z.string(),
  /** ggml's device name, e.g. CUDA0. */
  name: z.string(),
  description: z.string(),
  memoryFree: z.number(),
  memoryTotal: z.number(),
});
export type ComputeDevice = z.infer<typeof ComputeDevice>;

export const DeviceReport = z.object({
  /** GPUs first, in the order `--device auto` picks them; the CPU last. */
  devices: z.array(ComputeDevice),
  /** Why a GPU library could not be used (e.g. a missing CUDA runtime), or empty. */
  notes: z.string(),
  /** DocTune's CPU matrix kernel here ("AVX-512", "AVX2"), or "none" (ggml's, with transposed weight copies). */
  cpuKernel: z.string().optional(),
});
export type DeviceReport = z.infer<typeof DeviceReport>;

export const QaStatus = z.enum(['pending', 'accepted', 'rejected', 'edited']);
export type QaStatus = z.infer<typeof QaStatus>;

/** A QA pair as the review screen shows it, with where it came from. */
export const SourceState = z.enum(['current', 'changed', 'removed']);
export type SourceState = z.infer<typeof SourceState>;

export const QaPairView = z.object({
  id: z.string(),
  question: z.string(),
  answer: z.string(),
  evidence: z.string().nullable(),
  status: QaStatus,
  /** extractive | local | api | import */
  source: z.string(),
  /** The teaching model's name, when a model taught it. */
  teacher: z.string().nullable(),
  documentId: z.string().nullable(),
  documentTitle: z.string().nullable(),
  chunkId: z.string().nullable(),
  language: z.string(),
  paraphraseOf: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** Whether the passage it rests on is still there (current), changed when its file did, or its document was removed. */
  sourceState: SourceState,
});
export type QaPairView = z.infer<typeof QaPairView>;

export const QaCounts = z.object({ pending: z.number().int(), accepted: z.number().int(), rejected: z.number().int(), edited: z.number().int() });
export type QaCounts = z.infer<typeof QaCounts>;

export const QaPage = z.object({
  /** Pairs matching the filter (the page holds at most `limit` of them). */
  total: z.number().int(),
  pairs: z.array(QaPairView),
  /** Over the whole workspace, whatever the filter. */
  counts: QaCounts,
  documents: z.array(z.object({ id: z.string(), title: z.string() })),
  sources: z.array(z.string()),
  /** Accepted pairs whose document was removed: kept and shown, but left out of training. */
  acceptedOfRemoved: z.number().int(),
});
export type QaPage = z.infer<typeof QaPage>;

/** The passage a pair rests on; `evidence` is the character range of the cited sentence in `text`. */
export const QaPassage = z.object({
  chunkId: z.string(),
  text: z.string(),
  heading: z.array(z.string()),
  page: z.number().int().nullable(),
  documentTitle: z.string(),
  evidence: z.tuple([z.number().int(), z.number().int()]).nullable(),
  /** The passage was read from a scan by OCR. */
  ocr: z.boolean(),
  sourceState: SourceState,
});
export type QaPassage = z.infer<typeof QaPassage>;

/** Which teacher writes QA pairs, kept in the workspace (never an API key: that goes to the OS keychain). */
export const TeacherSettings = z.object({
  kind: z.enum(['extractive', 'local', 'api']),
  localModel: z.string(),
  baseUrl: z.string(),
  model: z.string(),
  // No key and no environment variable name: a workspace folder can be shared, and a stored variable name
  // would send that variable to whatever base URL the folder names. The key is the keychain's for the base URL.
  questionsPerChunk: z.number().int().min(1).max(8),
  paraphrases: z.number().int().min(0).max(5),
  concurrency: z.number().int().min(1).max(64),
});
export type TeacherSettings = z.infer<typeof TeacherSettings>;

/** A workspace's teacher until the user chooses one: no model, passages' own sentences (extractive). */
export const DEFAULT_TEACHER: TeacherSettings = {
  kind: 'extractive', localModel: '', baseUrl: '', model: '', questionsPerChunk: 4, paraphrases: 0, concurrency: 4,
};

export const GenerateSummary = z.object({
  chunks: z.number().int(),
  questions: z.number().int(),
  pairs: z.number().int(),
  paraphrases: z.number().int(),
  rejected_ungrounded: z.number().int(),
  duplicates: z.number().int(),
  failed: z.number().int(),
  outputs: z.object({
    outputs: z.number().int(), unparsable: z.number().int(), requests: z.number().int().optional(), retries: z.number().int().optional(),
    promptTokens: z.number().int().optional(), completionTokens: z.number().int().optional(), cost: z.number().optional(),
  }).optional(),
});
export type GenerateSummary = z.infer<typeof GenerateSummary>;

export const Citation = z.object({
  n: z.number().int(),
  chunkId: z.string(),
  documentId: z.string(),
  title: z.string(),
  page: z.number().int().nullable(),
  heading: z.array(z.string()),
  text: z.string(),
});
export type Citation = z.infer<typeof Citation>;

/** Sampling and models for the chat window (kept in the workspace). */
export const ChatSettings = z.object({
  modelPath: z.string(),
  adapterPath: z.string(),
  /** Adapter scale, 0–2. */
  scale: z.number().min(0).max(2),
  temperature: z.number().min(0).max(2),
  topP: z.number().gt(0).max(1),
  maxTokens: z.number().int().min(1).max(8192),
  rag: z.boolean(),
  compare: z.boolean(),
});
export type ChatSettings = z.infer<typeof ChatSettings>;

/** A workspace's chat settings until the user changes them. */
export const DEFAULT_CHAT_SETTINGS: ChatSettings = { modelPath: '', adapterPath: '', scale: 1, temperature: 0.7, topP: 0.9, maxTokens: 512, rag: false, compare: false };

export const ChatSide = z.enum(['base', 'adapted']);
export type ChatSide = z.infer<typeof ChatSide>;

export const ChatMessage = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string(),
  /** For answers: which model wrote it (side-by-side mode keeps both). */
  side: ChatSide.optional(),
  citations: z.array(Citation).optional(),
  /** For answers: `length` when it was cut at the max-tokens setting. */
  finishReason: z.enum(['stop', 'length']).optional(),
  /** For answers that failed (what was written before the failure is the content); never sent to a model. */
  error: z.object({ message: z.string(), code: z.string() }).optional(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

export const Conversation = z.object({
  id: z.string().regex(/^[\w-]{1,64}$/),
  title: z.string().max(200),
  updatedAt: z.string(),
  messages: z.array(ChatMessage).max(10_000),
});
export type Conversation = z.infer<typeof Conversation>;

/** Token F1 and exact match, 0–1; the judge's mean grade mapped to 0–1 when a judge took part (null: none). */
export const EvalScores = z.object({ f1: z.number(), em: z.number(), judge: z.number().nullable() });
export const EvalSummary = z.object({
  n: z.number().int(), base: EvalScores, adapted: EvalScores, base_rag: EvalScores, adapted_rag: EvalScores,
  /** Whether the RAG variants were run (else their scores are 0). */
  rag: z.boolean(),
  /** The judging model's name, when one graded the answers. */
  judge: z.string().nullable(),
  /** Answers the model could not give or the judge could not grade, with the reason. */
  failures: z.array(z.string()),
  /** File name of the HTML report in the workspace's reports folder. */
  report: z.string(),
  /** How far the scores can be read from the number of questions (fewer than 20: indicative; under 5: no measure). */
  reliability: EvalReliability,
  /** The training run's examples, trained on and held out (null: not recorded); questions are fewer (see eval). */
  examples: EvalExamples.nullable(),
});
export type EvalSummary = z.infer<typeof EvalSummary>;

/** The languages the evaluation report is written in (those of the UI). */
export const ReportLanguage = z.enum(['en', 'zh-CN']);

export const ServeStatus = z.object({
  running: z.boolean(),
  /** Base URL for OpenAI clients, e.g. http://127.0.0.1:8080/v1. */
  url: z.string().nullable(),
  model: z.string().nullable(),
});
export type ServeStatus = z.infer<typeof ServeStatus>;

const Empty = z.object({}).strict();

/** An adapter the chat can use: from a training run of the workspace, or a file the user added. */
export const AdapterInfo = z.object({ adapterPath: z.string(), modelPath: z.string(), finishedAt: z.string(), added: z.boolean().optional() });
export type AdapterInfo = z.infer<typeof AdapterInfo>;
const Job = z.object({ jobId: z.string() }).strict();

/** Request channels: name → argument and result schemas. */
export const channels = {
  'app.capabilities': { args: Empty, result: Capabilities },
  'app.logs': { args: Empty, result: LogsInfo },
  /** Opens the logs folder in the system's file manager (desktop app only). */
  'app.openLogs': { args: Empty, result: z.object({ opened: z.boolean() }) },
  'workspace.info': { args: Empty, result: WorkspaceInfo },
  'workspace.setOcr': { args: z.object({ ocr: OcrSetting }).strict(), result: WorkspaceInfo },
  'docs.list': { args: Empty, result: z.array(DocumentSummary) },
  'docs.chunks': { args: z.object({ documentId: z.string().min(1) }).strict(), result: z.array(ChunkView) },
  'docs.remove': { args: z.object({ documentId: z.string().min(1) }).strict(), result: z.object({ removed: z.boolean() }) },
  'ingest.start': {
    args: z.object({ paths: z.array(z.string().min(1)).min(1).max(10_000) }).strict(),
    result: z.object({ jobId: z.string() }),
  },
  'ingest.cancel': { args: z.object({ jobId: z.string() }).strict(), result: z.object({ cancelled: z.boolean() }) },
  /** Watched folders: kept in the workspace and watched while the app (or browser mode) runs. */
  'watch.list': { args: Empty, result: z.array(WatchedFolder) },
  'watch.add': { args: z.object({ path: z.string().min(1).max(4096) }).strict(), result: z.array(WatchedFolder) },
  'watch.remove': { args: z.object({ path: z.string().min(1).max(4096) }).strict(), result: z.array(WatchedFolder) },
  'search.query': {
    args: z.object({ query: z.string().min(1).max(2000), k: z.number().int().min(1).max(100).default(10), documentId: z.string().min(1).optional() }).strict(),
    result: z.array(SearchHit),
  },
  'qa.list': {
    args: z.object({
      status: z.union([QaStatus, z.literal('all')]).default('all'),
      documentId: z.string().optional(),
      source: z.string().optional(),
      search: z.string().max(500).optional(),
      offset: z.number().int().min(0).default(0),
      limit: z.number().int().min(1).max(5000).default(500),
    }).strict(),
    result: QaPage,
  },
  'qa.passage': { args: z.object({ id: z.string().min(1) }).strict(), result: QaPassage.nullable() },
  /** New wording makes a pair `edited`; a status alone sets it. */
  'qa.update': {
    args: z.object({ id: z.string().min(1), question: z.string().min(1).max(5000).optional(), answer: z.string().min(1).max(20_000).optional(), status: QaStatus.optional() }).strict(),
    result: QaPairView,
  },
  'qa.setStatus': { args: z.object({ ids: z.array(z.string().min(1)).min(1).max(100_000), status: QaStatus }).strict(), result: z.object({ updated: z.number().int() }) },
  'teacher.get': { args: Empty, result: TeacherSettings.extend({ keychain: z.boolean() }) },
  'teacher.set': { args: TeacherSettings.partial().strict(), result: TeacherSettings.extend({ keychain: z.boolean() }) },
  /** Stores the key in the OS keychain for the base URL. */
  'teacher.setKey': { args: z.object({ baseUrl: z.string().url(), key: z.string().min(1).max(4096) }).strict(), result: z.object({ stored: z.boolean() }) },
  /** Runs in the background with the workspace's teacher settings; progress arrives as events. */
  'dataset.generate': { args: Empty, result: z.object({ jobId: z.string() }) },
  'dataset.cancel': { args: z.object({ jobId: z.string() }).strict(), result: z.object({ cancelled: z.boolean() }) },
  /** Writes the pairs to the workspace's exports folder (with dataset_info.json for LLaMA-Factory). */
  'dataset.export': {
    args: z.object({ format: z.enum(EXPORT_FORMATS), status: z.enum(['accepted', 'all']).default('accepted') }).strict(),
    result: z.object({ path: z.string(), fileName: z.string(), count: z.number().int() }),
  },
  'chat.settings.get': { args: Empty, result: ChatSettings },
  'chat.settings.set': { args: ChatSettings.partial().strict(), result: ChatSettings },
  /**
   * Adapters found in the workspace's training runs, with the base model each was trained on, then the adapter
   * files the user added from elsewhere (`added`; modelPath empty when no run.json beside it names one).
   */
  'chat.adapters': { args: Empty, result: z.array(AdapterInfo) },
  /**
   * Remember an adapter file from outside the workspace (checked as a LoRA adapter GGUF first); a folder is a
   * PEFT adapter, converted for the chat settings' base model first. Returns the list and its entry.
   */
  'chat.adapters.add': { args: z.object({ path: z.string().min(1).max(4096) }).strict(), result: z.object({ adapters: z.array(AdapterInfo), added: AdapterInfo }) },
  /** Forget an added adapter file (the file itself stays); returns the list. */
  'chat.adapters.forget': { args: z.object({ path: z.string().min(1).max(4096) }).strict(), result: z.array(AdapterInfo) },
  /**
   * Answers the conversation's last user message with the settings' model and adapter (and the base model
   * too in side-by-side mode); tokens, citations and the end arrive as chat.* events.
   */
  'chat.send': { args: z.object({ messages: z.array(ChatMessage).min(1).max(10_000) }).strict(), result: z.object({ jobId: z.string() }) },
  'chat.stop': { args: z.object({ jobId: z.string() }).strict(), result: z.object({ stopped: z.boolean() }) },
  'chat.history': { args: Empty, result: z.array(Conversation) },
  'chat.save': { args: z.object({ conversation: Conversation }).strict(), result: z.object({ saved: z.boolean() }) },
  'chat.delete': { args: z.object({ id: z.string().regex(/^[\w-]{1,64}$/) }).strict(), result: z.object({ deleted: z.boolean() }) },
  /** Scores the adapter of the chat settings on its run's held-out pairs; progress and the end arrive as eval.* events. */
  'eval.run': {
    /** judge: grade the answers with the workspace's teacher model too. */
    args: z.object({ rag: z.boolean().default(false), judge: z.boolean().default(false) }).strict(),
    result: z.object({ jobId: z.string() }),
  },
  'eval.cancel': { args: z.object({ jobId: z.string() }).strict(), result: z.object({ cancelled: z.boolean() }) },
  'eval.reports': { args: Empty, result: z.array(z.object({ fileName: z.string(), createdAt: z.string() })) },
  /**
   * The report's self-contained HTML (shown in a sandboxed frame), in `lang`; `embedded` leaves out the score
   * table, which the panel shows from `summary` (null for a report with no data beside it).
   */
  'eval.report': {
    args: z.object({ fileName: z.string().regex(/^eval-[\w.-]+\.html$/), lang: ReportLanguage.optional(), embedded: z.boolean().optional() }).strict(),
    result: z.object({ html: z.string(), summary: EvalSummary.nullable().optional() }),
  },
  /** The chat settings' model and adapter behind the OpenAI API on this machine (doctune serve). */
  'serve.start': {
    args: z.object({ port: z.number().int().min(0).max(65_535).default(8080), host: z.enum(['127.0.0.1', '0.0.0.0']).default('127.0.0.1'), apiKey: z.string().max(200).optional() }).strict(),
    result: ServeStatus,
  },
  'serve.stop': { args: Empty, result: ServeStatus },
  'serve.status': { args: Empty, result: ServeStatus },
  /** Probed once per engine and cached; `refresh` probes again (e.g. after installing a GPU driver). */
  'train.devices': { args: z.object({ refresh: z.boolean().optional() }).strict(), result: DeviceReport },
  /** Recommended models with what they need here, the models the user has, and where downloads go. */
  /** language: the documents' (en, zh); by default the language most of the workspace's documents are in. */
  'models.overview': { args: z.object({ refresh: z.boolean().optional(), language: z.enum(['en', 'zh']).optional() }).strict(), result: ModelsOverview },
  /** Download a catalog model (resumable); progress and the end arrive as models.* events. */
  'models.pull': { args: z.object({ id: z.string().max(200) }).strict(), result: z.object({ jobId: z.string() }) },
  'models.cancel': { args: Job, result: z.object({ cancelled: z.boolean() }) },
  /** Check a GGUF file (a local model the user picks) with DocTune's reader before it is used. */
  'models.inspect': { args: z.object({ path: z.string().min(1).max(4096) }).strict(), result: ModelInfo },
  /** Documents to a tested adapter in one run in this workspace; progress arrives as pipeline.* events. */
  'pipeline.start': { args: PipelineStartArgs, result: z.object({ jobId: z.string(), run: z.string() }) },
  'pipeline.cancel': { args: Job, result: z.object({ cancelled: z.boolean() }) },
  /** Pipeline runs of the workspace, newest first, and the one in progress. */
  'pipeline.runs': { args: Empty, result: z.object({ runs: z.array(PipelineRunInfo), active: z.object({ jobId: z.string(), run: z.string() }).nullable() }) },
  'dialog.pickPaths': {
    /** files/folder: documents to import; model, adapter: one GGUF file. */
    args: z.object({ kind: z.enum(['files', 'folder', 'model', 'adapter']) }).strict(),
    result: z.object({ paths: z.array(z.string()) }),
  },
} as const;

export type Channel = keyof typeof channels;
export type ArgsOf<C extends Channel> = z.input<(typeof channels)[C]['args']>;
export type ResultOf<C extends Channel> = z.infer<(typeof channels)[C]['result']>;

/** Push events from the engine to the UI. */
export const events = {
  'ingest.progress': IngestProgress,
  'ingest.done': z.object({ jobId: z.string(), summary: IngestSummary }),
  'ingest.failed': z.object({ jobId: z.string(), error: z.string() }),
  /** A watched folder's state changed (a sync started or ended, or watching failed). */
  'watch.changed': z.array(WatchedFolder),
  'generate.progress': z.object({ jobId: z.string(), done: z.number().int(), total: z.number().int(), pairs: z.number().int(), eta: z.number().nullable() }),
  'generate.done': z.object({ jobId: z.string(), summary: GenerateSummary }),
  'chat.citations': z.object({ jobId: z.string(), citations: z.array(Citation) }),
  'chat.token': z.object({ jobId: z.string(), side: ChatSide, text: z.string() }),
  'chat.done': z.object({ jobId: z.string(), side: ChatSide, text: z.string(), finishReason: z.enum(['stop', 'length']) }),
  'chat.failed': z.object({ jobId: z.string(), side: ChatSide, error: z.string(), code: z.string() }),
  'eval.progress': z.object({ jobId: z.string(), done: z.number().int(), total: z.number().int() }),
  'eval.done': z.object({ jobId: z.string(), summary: EvalSummary }),
  'eval.failed': z.object({ jobId: z.string(), error: z.string(), code: z.string() }),
  'models.progress': z.object({ jobId: z.string(), id: z.string(), received: z.number(), total: z.number().nullable() }),
  'models.done': z.object({ jobId: z.string(), id: z.string(), path: z.string() }),
  'models.failed': z.object({ jobId: z.string(), id: z.string(), error: z.string(), code: z.string() }),
  'pipeline.progress': PipelineProgressEvent,
  'pipeline.done': z.object({ jobId: z.string(), run: z.string(), result: PipelineResultView }),
  /** code: CANCELLED when stopped on request; the run resumes from where it stopped. */
  'pipeline.failed': z.object({ jobId: z.string(), run: z.string(), error: z.string(), code: z.string() }),
  /** code: CANCELLED when stopped on request (what was generated so far is kept). */
  'generate.failed': z.object({ jobId: z.string(), error: z.string(), code: z.string() }),
} as const;
export type EventName = keyof typeof events;
export type EventOf<E extends EventName> = z.infer<(typeof events)[E]>;

/** The engine's kinds of background work (api/job-slots.ts says which may not run together). */
export const JOB_KINDS = ['import', 'sync', 'generate', 'pipeline', 'evaluate', 'chat', 'download'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/** Errors cross every boundary in this one shape; a BUSY error names the kind of work in the way. */
export const WireError = z.object({ code: z.string(), message: z.string(), path: z.string().optional(), busyWith: z.enum(JOB_KINDS).optional() });
export type WireError = z.infer<typeof WireError>;

/**
 * Browser mode's socket, both ways: a request (its id echoed in the reply), and from the engine a reply
 * (ok with the channel's result, checked against the channel's schema by the receiver; or an error) or an
 * event (checked against the event's schema).
 */
export const SocketRequest = z.object({ id: z.number().int().nullable().optional(), channel: z.string(), args: z.unknown() });
export const SocketMessage = z.union([
  z.object({ event: z.string(), payload: z.unknown() }),
  z.object({ id: z.number().int().nullable(), ok: z.literal(true), result: z.unknown() }),
  z.object({ id: z.number().int().nullable(), ok: z.literal(false), error: WireError }),
]);
export type SocketMessage = z.infer<typeof SocketMessage>;

/** What the renderer sees, whichever door it came through. */
export interface DocTuneApi {
  invoke<C extends Channel>(channel: C, args: ArgsOf<C>): Promise<ResultOf<C>>;
  on<E extends EventName>(event: E, listener: (payload: EventOf<E>) => void): () => void;
  /** Electron only: the filesystem path behind a dropped File. */
  pathForFile?(file: File): string;
  /** Browser mode only: send files to the engine's machine; returns their stored paths. */
  upload?(files: { file: File; relativePath: string }[], onProgress?: (sent: number, total: number) => void): Promise<string[]>;
}

export function isChannel(name: unknown): name is Channel {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(channels, name);
}

export function parseArgs<C extends Channel>(channel: C, raw: unknown): z.infer<(typeof channels)[C]['args']> {
  return channels[channel].args.parse(raw ?? {}) as z.infer<(typeof channels)[C]['args']>;
}

/** The preload exposes the API under this global name. */
export const BRIDGE_NAME = 'doctune';
/** The two IPC channels the preload bridge and the main process speak on (requests, and events to the window). */
export const INVOKE_CHANNEL = 'doctune:invoke';
export const EVENT_CHANNEL = 'doctune:event';

/**
 * The page's Content Security Policy, the same from the desktop app (a response header) and from browser mode:
 * the UI's own scripts and styles only, no plugins, no framing.
 */
export const APP_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The chat window's context, in tokens (what chat memory is planned for, and what the chat model loads with). */
export const CHAT_CONTEXT_TOKENS = 4096;
