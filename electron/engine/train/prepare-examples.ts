import { getLlama, LlamaLogLevel, resolveChatWrapper } from 'node-llama-cpp';
import { DocTuneError } from '../errors.js';
import { tokenizeConversation, type Conversation, type TokenizedExample } from './sft-data.js';

/**
 * Conversations → token ids and loss labels with the base model's own chat template. Only the vocabulary is
 * loaded (no weights). Sequences longer than `seq` are refused (naming the example) or split into windows.
 */
export async function prepareExamples(modelPath: string, conversations: Conversation[], seq: number, longSequences: 'refuse' | 'split'): Promise<TokenizedExample[]> {
  const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, logger: () => undefined });
  try {
    const model = await llama.loadModel({ modelPath, vocabOnly: true });
    const wrapper = resolveChatWrapper(model);
    const out: TokenizedExample[] = [];
    conversations.forEach((conv, i) => {
      const ex = tokenizeConversation(model, wrapper, conv);
      if (ex.tokens.length <= seq) {
        out.push({ ...ex, conversation: i });
        return;
      }
      if (longSequences === 'refuse') {
        throw new DocTuneError('BAD_ARGUMENT', `example ${i + 1} is ${ex.tokens.length} tokens, longer than --seq ${seq} (raise --seq or use --long-sequences split)`);
      }
      for (let start = 0; start < ex.tokens.length - 1; start += seq) {
        const tokens = ex.tokens.slice(start, start + seq);
        const labels = ex.labels.slice(start, start + seq);
        labels[labels.length - 1] = -1; // its target lies in the next window
        if (labels.some((l) => l >= 0)) out.push({ tokens, labels, conversation: i });
      }
    });
    if (!out.some((ex) => ex.labels.some((l) => l >= 0))) throw new DocTuneError('BAD_ARGUMENT', 'no example has an answer to learn from');
    await model.dispose();
    return out;
  } finally {
    await llama.dispose();
  }
}
