/**
 * Training renders a conversation exactly as chat continues it, in each family's own format: Qwen3's
 * non-thinking mode (an empty think block before the answer, as its template renders with
 * enable_thinking=false) and Gemma's turn markers, each answer closed by the template's end-of-turn token
 * (<|im_end|>, <end_of_turn>), not the end-of-sequence one. The templates below are written for these tests
 * in each family's documented format; the expected texts are those formats, spelled out.
 */
import path from 'node:path';
import { getLlama, LlamaLogLevel, type Llama, type Token } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, TINY_MODEL } from '../testing/corpus.js';
import { writeRandomModel, type TinyModelShape } from '../testing/random-model.js';
import { tokenizeConversation } from '../train/sft-data.js';
import { chatWrapperFor, renderTokens } from './chat-template.js';

const QWEN3_TEMPLATE = [
  "{%- for message in messages -%}",
  "{%- if message.role == 'assistant' and loop.last -%}",
  "{{- '<|im_start|>assistant\\n<think>\\n\\n</think>\\n\\n' + message.content + '<|im_end|>\\n' -}}",
  "{%- else -%}",
  "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' -}}",
  "{%- endif -%}",
  "{%- endfor -%}",
  "{%- if add_generation_prompt -%}",
  "{{- '<|im_start|>assistant\\n' -}}",
  "{%- if enable_thinking is defined and enable_thinking is false -%}{{- '<think>\\n\\n</think>\\n\\n' -}}{%- endif -%}",
  "{%- endif -%}",
].join('');

const GEMMA3_TEMPLATE = [
  '{{- bos_token -}}',
  '{%- for message in messages -%}',
  "{%- set role = 'model' if message.role == 'assistant' else message.role -%}",
  "{{- '<start_of_turn>' + role + '\\n' + (message.content | trim) + '<end_of_turn>\\n' -}}",
  '{%- endfor -%}',
  "{%- if add_generation_prompt -%}{{- '<start_of_turn>model\\n' -}}{%- endif -%}",
].join('');

const tiny = { embd: 32, ff: 64, layers: 1, heads: 4, kvHeads: 2 };
const cases: { name: string; shape: TinyModelShape; prompt: (q: string) => string; answer: (a: string) => string; end: string }[] = [
  {
    name: 'Qwen3 (ChatML, non-thinking mode)',
    shape: { ...tiny, arch: 'qwen3', specialTokens: ['<|im_start|>', '<|im_end|>', '<think>', '</think>'], eosToken: '<|im_end|>', chatTemplate: QWEN3_TEMPLATE },
    prompt: (q) => `<|im_start|>user\n${q}<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n`,
    answer: (a) => `${a}<|im_end|>`,
    end: '<|im_end|>',
  },
  {
    name: "Gemma 3 (turn markers, <eos> is not the turn's end)",
    shape: { ...tiny, arch: 'gemma3', specialTokens: ['<start_of_turn>', '<end_of_turn>'], chatTemplate: GEMMA3_TEMPLATE },
    prompt: (q) => `<s><start_of_turn>user\n${q}<end_of_turn>\n<start_of_turn>model\n`,
    answer: (a) => `${a}<end_of_turn>`,
    end: '<end_of_turn>',
  },
];

describe('chat templates: training renders what chat continues', () => {
  let llama: Llama;
  const dir = tempDir('templates');
  beforeAll(async () => {
    llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, logger: () => undefined });
  });
  afterAll(() => llama?.dispose());

  for (const c of cases) {
    it(c.name, async () => {
      const file = await writeRandomModel(path.join(dir, `${c.shape.arch}.gguf`), TINY_MODEL, c.shape, 3);
      const model = await llama.loadModel({ modelPath: file.path, gpuLayers: 0 });
      try {
        const wrapper = chatWrapperFor(model);
        const q = 'What color is the ball?';
        const a = 'The ball is red.';
        const text = (tokens: readonly number[]): string => model.detokenize(tokens as Token[], true);
        // What chat sends before generating (LlamaChat renders the history with an empty last answer).
        const chatPrompt = renderTokens(model, wrapper, [{ type: 'user', text: q }, { type: 'model', response: [] }]);
        expect(text(chatPrompt), wrapper.wrapperName).toBe(c.prompt(q));
        const ex = tokenizeConversation(model, wrapper, [{ role: 'user', content: q }, { role: 'assistant', content: a }]);
        expect(text(ex.tokens)).toBe(c.prompt(q) + c.answer(a));
        // The prompt is the chat prompt, token for token; the loss covers the answer and the end-of-turn only.
        expect(ex.tokens.slice(0, chatPrompt.length)).toEqual(chatPrompt);
        const learned = ex.labels.filter((l) => l >= 0);
        expect(text(learned)).toBe(c.answer(a));
        expect(learned.at(-1)).toBe(model.tokenizer(c.end, true)[0]);
        expect(model.isEogToken(learned.at(-1) as Token)).toBe(true);

        // A two-turn conversation: the first answer and its end-of-turn are learned where they stand.
        const two = tokenizeConversation(model, wrapper, [
          { role: 'user', content: q }, { role: 'assistant', content: a },
          { role: 'user', content: 'And the box?' }, { role: 'assistant', content: 'The box is blue.' },
        ]);
        expect(text(two.labels.filter((l) => l >= 0))).toBe(c.answer(a) + c.answer('The box is blue.'));
        two.labels.forEach((l, t) => l >= 0 && expect(l).toBe(two.tokens[t + 1]));
      } finally {
        await model.dispose();
      }
    });
  }
});
