import path from 'node:path';
import { getLlama, LlamaChat, LlamaLogLevel } from 'node-llama-cpp';
import { chatWrapperFor } from '../models/chat-template.js';
import { DocTuneError } from '../errors.js';
import { readGguf } from '../models/gguf/gguf-reader.js';
import { validateLoraAdapter } from '../models/lora-adapter.js';
import { chatHistoryOf } from '../train/sft-data.js';
import type { Conversation } from '../dataset/conversation.js';
import { defaultThreads } from '../threads.js';

export interface ChatOnceOptions {
  modelPath: string;
  adapterPath?: string;
  scale?: number;
  prompt: string;
  /** A system message, as the training data had it (none by default, like training). */
  system?: string;
  greedy?: boolean;
  maxTokens?: number;
  threads?: number;
}

/**
 * One answer from the model (and adapter), formatted with the model's own chat template through
 * node-llama-cpp's chat wrapper: the same formatting training used. The adapter is checked against the
 * base first, since llama.cpp aborts the process on some malformed adapters.
 */
export async function chatOnce(o: ChatOnceOptions): Promise<string> {
  const base = await readGguf(o.modelPath);
  if (o.adapterPath) validateLoraAdapter(await readGguf(o.adapterPath), base);
  const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, logger: () => undefined });
  try {
    const model = await llama.loadModel({ modelPath: path.resolve(o.modelPath), gpuLayers: 0 });
    let context;
    try {
      context = await model.createContext({
        threads: o.threads ?? (await defaultThreads()),
        contextSize: Math.min(4096, model.trainContextSize),
        ...(o.adapterPath ? { lora: { adapters: [{ filePath: path.resolve(o.adapterPath), scale: o.scale ?? 1 }] } } : {}),
      });
    } catch (err) {
      throw new DocTuneError('MODEL', `llama.cpp could not use the model or adapter: ${(err as Error).message}`, { path: o.adapterPath ?? o.modelPath, cause: err });
    }
    // The exact history training renders (no implicit system prompt), with an empty answer to continue.
    const conversation: Conversation = [...(o.system ? [{ role: 'system' as const, content: o.system }] : []), { role: 'user', content: o.prompt }, { role: 'assistant', content: '' }];
    const chat = new LlamaChat({ contextSequence: context.getSequence(), chatWrapper: chatWrapperFor(model) });
    const { response } = await chat.generateResponse(chatHistoryOf(conversation), {
      maxTokens: o.maxTokens ?? 256,
      ...(o.greedy ? { temperature: 0 } : { temperature: 0.7, topP: 0.9 }),
    });
    return response;
  } finally {
    await llama.dispose();
  }
}
