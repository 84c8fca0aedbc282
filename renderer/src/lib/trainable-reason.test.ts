import { describe, expect, it } from 'vitest';
import { en } from '../locales/en';
import { zhCN } from '../locales/zh-CN';
import { translate } from './translate';
import { trainableReason } from './trainable-reason';

// Sentences as electron/engine/models/trainability.ts writes them.
const SUPPORTED = 'llama, qwen2, qwen3, gemma3, phi3';

describe('why a model cannot be trained, in the user\'s language', () => {
  it('names the common reasons', () => {
    expect(trainableReason(`architecture "gpt2" cannot be trained (DocTune trains ${SUPPORTED})`)).toEqual({
      key: 'trainable.reason.architecture', params: { arch: 'gpt2', supported: SUPPORTED },
    });
    expect(trainableReason(`this is a vision projector (mmproj), not a language model (DocTune trains ${SUPPORTED})`)).toEqual({ key: 'trainable.reason.projector' });
    expect(trainableReason('mixture-of-experts models (8 experts) cannot be trained')).toEqual({ key: 'trainable.reason.moe' });
    expect(trainableReason(`mixture-of-experts models (Qwen3-MoE) cannot be trained (DocTune trains ${SUPPORTED})`)).toEqual({ key: 'trainable.reason.moe' });
    expect(trainableReason(`Llama 4 (mixture of experts) cannot be trained (DocTune trains ${SUPPORTED})`)).toEqual({ key: 'trainable.reason.moe' });
    expect(trainableReason('the file carries a vision tower: DocTune trains text models only')).toEqual({ key: 'trainable.reason.vision' });
    expect(trainableReason(`vision models (Llama 3.2 Vision) cannot be trained (DocTune trains ${SUPPORTED})`)).toEqual({ key: 'trainable.reason.vision' });
    expect(trainableReason('this is a LoRA adapter, not a model')).toEqual({ key: 'trainable.reason.adapter' });
    expect(trainableReason('the file names no architecture (general.architecture)')).toEqual({ key: 'trainable.reason.noArchitecture' });
  });

  it('keeps the engine\'s words for the rest, and reads in both languages', () => {
    const rare = 'RoPE scaling "dynamic" cannot be trained';
    expect(trainableReason(rare)).toEqual({ key: 'trainable.reason.other', params: { detail: rare } });
    expect(trainableReason(undefined)).toEqual({ key: 'trainable.reason.other', params: { detail: '?' } });
    const why = trainableReason(`architecture "gpt2" cannot be trained (DocTune trains ${SUPPORTED})`);
    const reason = translate(en, en, 'en', why.key, why.params);
    expect(translate(en, en, 'en', 'models.notTrainable', { reason })).toBe(`cannot be trained: the gpt2 architecture is not supported (supported: ${SUPPORTED})`);
    const zh = translate(zhCN, en, 'zh-CN', why.key, why.params);
    expect(translate(zhCN, en, 'zh-CN', 'wizard.notTrainable', { reason: zh })).toBe(` — 无法训练：不支持 gpt2 架构（支持：${SUPPORTED}）。`);
  });
});
