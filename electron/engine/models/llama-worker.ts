/**
 * Child-process entry that runs llama.cpp for the local teacher, the judge and the embedding model. A GGUF
 * that DocTune's reader accepts can still make llama.cpp abort (a head count of zero, a broken token table):
 * here that ends only this worker, and LlamaWorkerHost reports it with the file's name. llama.cpp's own
 * error lines are collected, so a model that does not load says why.
 */
import path from 'node:path';
import { getLlama, LlamaChat, LlamaLogLevel, type Llama, type LlamaContext, type LlamaEmbeddingContext, type LlamaJsonSchemaGrammar, type LlamaModel } from 'node-llama-cpp';
import { chatWrapperFor } from './chat-template.js';
import { DocTuneError, toWireError } from '../errors.js';
import { onParentGone, onParentMessage, sendToParent } from '../worker-port.js';
import { llamaLogger, llamaErrors } from './llama-log.js';

/** A JSON Schema by name: the teacher's outputs, compiled to grammars once at load. */
export type SchemaName = string;

export interface LlamaLoad {
  modelPath: string;
  kind: 'teacher' | 'embedder';
  threads: number;
  /** Teacher: requests answered at once (one context sequence each). */
  parallel: number;
  contextSize: number;
  /** Teacher: the JSON Schemas its answers follow, by name (the caller owns them). */
  schemas?: Record<SchemaName, object>;
}

export type LlamaWorkerIn =
  | { type: 'load'; load: LlamaLoad }
  | { type: 'ask'; id: number; prompt: string; schema: SchemaName; maxTokens: number }
  | { type: 'fit'; id: number; text: string; maxTokens: number }
  | { type: 'embed'; id: number; text: string };
export type LlamaWorkerOut =
  | { type: 'loaded'; contextSize: number; dimensions: number }
  | { type: 'result'; id: number; value: unknown }
  | { type: 'failed'; id: number | null; error: { code: string; message: string } };

const send = (m: LlamaWorkerOut): void => sendToParent(m);


let llama: Llama | null = null;
let model: LlamaModel | null = null;
let context: LlamaContext | null = null;
let embedding: LlamaEmbeddingContext | null = null;
let embedContext = 0;
// One grammar per schema; typed loosely here (the parsed value crosses the process boundary as data anyway).
const grammars = new Map<SchemaName, { parse(json: string): unknown } & LlamaJsonSchemaGrammar<never>>();
const free: LlamaChat[] = [];
const waiting: ((c: LlamaChat) => void)[] = [];

async function load(l: LlamaLoad): Promise<{ contextSize: number; dimensions: number }> {
  llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, logger: llamaLogger });
  const file = path.resolve(l.modelPath);
  try {
    model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
  } catch (err) {
    throw new DocTuneError('MODEL', `llama.cpp cannot load ${path.basename(file)}: ${llamaErrors() || (err as Error).message}`, { path: file });
  }
  const contextSize = Math.min(l.contextSize, model.trainContextSize);
  if (l.kind === 'embedder') {
    embedding = await model.createEmbeddingContext({ threads: l.threads, contextSize });
    embedContext = contextSize;
    const probe = await embedding.getEmbeddingFor('dimension probe');
    return { contextSize, dimensions: probe.vector.length };
  }
  context = await model.createContext({ sequences: l.parallel, threads: l.threads, contextSize, batchSize: 512 * Math.min(l.parallel, 4) });
  const wrapper = chatWrapperFor(model);
  for (let i = 0; i < l.parallel; i++) free.push(new LlamaChat({ contextSequence: context.getSequence(), chatWrapper: wrapper }));
  for (const [name, schema] of Object.entries(l.schemas ?? {})) grammars.set(name, (await llama.createGrammarForJsonSchema(schema as never)) as never);
  return { contextSize: context.contextSize, dimensions: 0 };
}

/** A JSON answer constrained by the schema's grammar: the parsed object, or null when it does not parse. */
async function ask(prompt: string, schema: SchemaName, maxTokens: number): Promise<unknown> {
  const grammar = grammars.get(schema)!;
  const chat = free.pop() ?? (await new Promise<LlamaChat>((resolve) => waiting.push(resolve)));
  try {
    const { response } = await chat.generateResponse([{ type: 'user', text: prompt }, { type: 'model', response: [] }], { grammar, maxTokens, temperature: 0 });
    try {
      return grammar.parse(response);
    } catch {
      return null;
    }
  } finally {
    const next = waiting.shift();
    if (next) next(chat);
    else free.push(chat);
  }
}

/** The text cut to at most maxTokens of the model's tokens. */
function fit(text: string, maxTokens: number): string {
  const tokens = model!.tokenize(text);
  return tokens.length <= maxTokens ? text : model!.detokenize(tokens.slice(0, Math.max(1, maxTokens)));
}

/** Texts longer than the context are cut to fit it. */
async function embed(text: string): Promise<number[]> {
  const tokens = model!.tokenize(text);
  return [...(await embedding!.getEmbeddingFor(tokens.length > embedContext ? tokens.slice(0, embedContext) : tokens)).vector];
}

function onMessage(m: LlamaWorkerIn): void {
  if (m.type === 'load') {
    void load(m.load).then((r) => send({ type: 'loaded', ...r }), (err: unknown) => send({ type: 'failed', id: null, error: toWireError(err) }));
    return;
  }
  const work = m.type === 'ask' ? ask(m.prompt, m.schema, m.maxTokens) : m.type === 'fit' ? Promise.resolve(fit(m.text, m.maxTokens)) : embed(m.text);
  void work.then((value) => send({ type: 'result', id: m.id, value }), (err: unknown) => send({ type: 'failed', id: m.id, error: toWireError(err) }));
}

onParentGone(() => process.exit(0));
onParentMessage((m) => onMessage(m as LlamaWorkerIn));
