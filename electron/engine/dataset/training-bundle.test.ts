import { describe, expect, it } from 'vitest';
import { llamaFactoryTemplate, llamaFactoryTemplateNote } from './training-bundle.js';

// The chat templates as the models' tokenizer_config.json (and so their GGUFs) carry them, abridged.
const PHI3 = "{% for message in messages %}{% if message['role'] == 'user' %}{{'<|user|>\\n' + message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'assistant' %}{{'<|assistant|>\\n' + message['content'] + '<|end|>\\n'}}{% endif %}{% endfor %}";
const PHI4_MINI = "{% for message in messages %}{{ '<|' + message['role'] + '|>' + message['content'] + '<|end|>' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>' }}{% else %}{{ eos_token }}{% endif %}";
const LLAMA3 = "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}";

describe("LLaMA-Factory's template for a model", () => {
  it('picks the template by architecture and chat template', () => {
    expect(llamaFactoryTemplate('qwen2', '')).toBe('qwen');
    expect(llamaFactoryTemplate('qwen3', '')).toBe('qwen3');
    expect(llamaFactoryTemplate('gemma3', '')).toBe('gemma3');
    expect(llamaFactoryTemplate('llama', LLAMA3)).toBe('llama3');
    expect(llamaFactoryTemplate('phi3', PHI3)).toBe('phi');
    expect(llamaFactoryTemplate('phi3', PHI4_MINI)).toBe('phi');
  });

  it("says where LLaMA-Factory's phi template differs from Phi-4-mini's own (no newline after the role)", () => {
    expect(llamaFactoryTemplateNote('phi', PHI3)).toBeNull();
    expect(llamaFactoryTemplateNote('phi', PHI4_MINI)).toMatch(/newline after each role marker.*Axolotl/);
    expect(llamaFactoryTemplateNote('llama3', LLAMA3)).toBeNull();
  });
});
