/**
 * Child-process entry that runs llama.cpp for chat and serving. llama.cpp aborts the process on some
 * malformed inputs; here that ends only this worker, and ChatHost starts a new one. Several requests run at
 * once on separate sequences of one context; tokens stream back as they come.
 */
import path from 'node:path';
import { getLlama, LlamaChat, LlamaLogLevel, type LlamaContext, type LlamaModel } from 'node-llama-cpp';
import { chatWrapperFor } from '../models/chat-template.js';
import { DocTuneError, toWireError } from '../errors.js';
import { onParentGone, onParentMessage, sendToParent } from '../worker-port.js';
import { llamaErrors, llamaLogger } from '../models/llama-log.js';
import { chatHistoryOf } from '../train/sft-data.js';
import type { Conversation } from '../models/messages.js';

export interface LoadRequest {
  modelPath: string;
  adapterPath?: string;
  scale: number;
  threads: number;
  /** Requests generated at once (one context sequence each). */
  parallel: number;
  contextSize: number;
}

export interface GenerateRequest {
  id: number;
  messages: Conversation;
  maxTokens: number;
  temperature: number;
  topP: number;
  seed?: number;
}

export type ChatWorkerIn =
  | { type: 'load'; load: LoadRequest }
  | { type: 'generate'; request: GenerateRequest }
  | { type: 'abort'; id: number }
  | { type: 'count'; id: number; texts: string[] };
export type ChatWorkerOut =
  | { type: 'loaded'; trainContextSize: number; contextSize: number }
  | { type: 'counted'; id: number; counts: number[] }
  | { type: 'token'; id: number; text: string }
  | { type: 'done'; id: number; text: string; finishReason: 'stop' | 'length'; promptTokens: number; completionTokens: number }
  | { type: 'failed'; id: number | null; error: { code: string; message: string } };

const send = (m: ChatWorkerOut): void => sendToParent(m);

let model: LlamaModel | null = null;
let context: LlamaContext | null = null;
const free: LlamaChat[] = [];
const waiting: ((c: LlamaChat) => void)[] = [];
const aborts = new Map<number, AbortController>();

async function load(l: LoadRequest): Promise<void> {
  const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, logger: llamaLogger });
  const file = path.resolve(l.modelPath);
  try {
    model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
  } catch (err) {
    throw new DocTuneError('MODEL', `llama.cpp cannot load ${path.basename(file)}: ${llamaErrors() || (err as Error).message}`, { path: file });
  }
  context = await model.createContext({
    sequences: l.parallel, threads: l.threads, contextSize: Math.min(l.contextSize, model.trainContextSize),
    ...(l.adapterPath ? { lora: { adapters: [{ filePath: path.resolve(l.adapterPath), scale: l.scale }] } } : {}),
  });
  const wrapper = chatWrapperFor(model);
  for (let i = 0; i < l.parallel; i++) free.push(new LlamaChat({ contextSequence: context.getSequence(), chatWrapper: wrapper }));
  // contextSize is per sequence in node-llama-cpp: what one conversation may fill.
  send({ type: 'loaded', trainContextSize: model.trainContextSize, contextSize: context.contextSize });
}

async function generate(r: GenerateRequest): Promise<void> {
  const chat = free.pop() ?? (await new Promise<LlamaChat>((resolve) => waiting.push(resolve)));
  const controller = new AbortController();
  aborts.set(r.id, controller);
  try {
    // The exact history training renders, ending in an empty answer to continue.
    const history = chatHistoryOf([...r.messages, { role: 'assistant', content: '' }]);
    const { response, metadata } = await chat.generateResponse(history, {
      // Greedy decoding takes no nucleus: passing top-p would only add sampling work.
      maxTokens: r.maxTokens, temperature: r.temperature, ...(r.temperature > 0 ? { topP: r.topP } : {}), ...(r.seed !== undefined ? { seed: r.seed } : {}),
      signal: controller.signal, stopOnAbortSignal: true,
      onTextChunk: (text) => send({ type: 'token', id: r.id, text }),
    });
    const prompt = r.messages.map((m) => m.content).join('\n');
    send({
      type: 'done', id: r.id, text: response, finishReason: metadata.stopReason === 'maxTokens' ? 'length' : 'stop',
      promptTokens: model!.tokenize(prompt).length, completionTokens: model!.tokenize(response).length,
    });
  } finally {
    aborts.delete(r.id);
    const next = waiting.shift();
    if (next) next(chat);
    else free.push(chat);
  }
}

function onMessage(m: ChatWorkerIn): void {
  if (m.type === 'load') void load(m.load).catch((err: unknown) => send({ type: 'failed', id: null, error: toWireError(err) }));
  else if (m.type === 'generate') void generate(m.request).catch((err: unknown) => send({ type: 'failed', id: m.request.id, error: toWireError(err) }));
  else if (m.type === 'count') {
    if (!model) send({ type: 'failed', id: m.id, error: { code: 'MODEL', message: 'the model is not loaded' } });
    else send({ type: 'counted', id: m.id, counts: m.texts.map((t) => model!.tokenize(t).length) });
  } else aborts.get(m.id)?.abort();
}

onParentGone(() => process.exit(0));
onParentMessage((m) => onMessage(m as ChatWorkerIn));
