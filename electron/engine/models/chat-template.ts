/**
 * The chat format DocTune trains and chats in: the model's own template, through node-llama-cpp's chat
 * wrappers, resolved once here so that training renders exactly the text chat later continues.
 */
import { resolveChatWrapper, type ChatHistoryItem, type ChatWrapper, type LlamaModel, type Token } from 'node-llama-cpp';

/**
 * The chat wrapper for a model. Qwen3's hybrid models run in their non-thinking mode (the template's
 * enable_thinking=false: an empty <think></think> block opens every answer), in training and in chat alike:
 * DocTune's answers carry no reasoning to learn, and an adapter trained on direct answers is asked for them.
 * The same holds where node-llama-cpp renders the model's Jinja template itself.
 */
export function chatWrapperFor(model: LlamaModel): ChatWrapper {
  return resolveChatWrapper(model, {
    customWrapperSettings: { qwen: { thoughts: 'discourage' }, jinjaTemplate: { additionalRenderParameters: { enable_thinking: false } } },
  });
}

export function renderTokens(model: LlamaModel, wrapper: ChatWrapper, items: ChatHistoryItem[]): Token[] {
  return wrapper.generateContextState({ chatHistory: items }).contextText.tokenize(model.tokenizer);
}

export function commonPrefix(a: readonly Token[], b: readonly Token[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

export function commonSuffix(a: readonly Token[], b: readonly Token[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[a.length - 1 - i] === b[b.length - 1 - i]) i++;
  return i;
}

/**
 * The token the template closes an answer with, where it is one that ends generation (ChatML's <|im_end|>,
 * Gemma's <end_of_turn>, Llama 3's <|eot_id|>): found by rendering an answer followed by another turn. Else
 * the model's end-of-sequence token; null if it has none.
 */
export function endOfTurnToken(model: LlamaModel, wrapper: ChatWrapper): Token | null {
  const turns = (answer: string): ChatHistoryItem[] => [
    { type: 'user', text: 'Hi' }, { type: 'model', response: [answer] }, { type: 'user', text: 'Bye' },
  ];
  const withAnswer = renderTokens(model, wrapper, turns('Hello there'));
  const without = renderTokens(model, wrapper, turns(''));
  const next = withAnswer[withAnswer.length - commonSuffix(withAnswer, without)];
  if (next !== undefined && model.isEogToken(next)) return next;
  return model.tokens.eos;
}
