/**
 * `doctune train` on every architecture the trainer supports, as a user runs it (on the CPU, and on Vulkan
 * where a device is listed: Mesa's lavapipe in CI), then `doctune chat` with the adapter it wrote: the adapter
 * names its tensors as llama.cpp's LoRA loader expects, and the Modelfile and how-to name the base and adapter.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readGguf } from '../models/gguf/gguf-reader.js';
import { ARCH_CASES } from '../testing/arch-cases.js';
import { doctuneWith } from '../testing/cli.js';
import { tempDir, TINY_MODEL } from '../testing/corpus.js';
import { STORY_QA } from '../testing/qa-fixtures.js';
import { writeRandomModel } from '../testing/random-model.js';
import { testDevice } from '../testing/test-device.js';

const env = { GGML_VK_VISIBLE_DEVICES: process.env.GGML_VK_VISIBLE_DEVICES ?? '0' };
const { device: vulkan, why } = testDevice('vulkan');
if (!vulkan) console.log(`skipped: doctune train --device vulkan per architecture: ${why}`);

describe('doctune train on every architecture', () => {
  const dir = tempDir('cli-arch');
  const data = path.join(dir, 'qa.jsonl');
  fs.writeFileSync(data, STORY_QA.slice(0, 3).map(([instruction, output]) => JSON.stringify({ instruction, output })).join('\n'));

  ARCH_CASES.forEach((c, n) => {
    for (const device of ['cpu', ...(vulkan ? ['vulkan'] : [])]) {
      it(`${c.name}: trains with --device ${device}${device === 'cpu' ? ', and the adapter loads in chat' : ''}`, async () => {
        const model = await writeRandomModel(path.join(dir, `${c.shape.arch}.gguf`), TINY_MODEL, c.shape, 90 + n);
        const out = path.join(dir, `${c.shape.arch}-${device}`);
        const r = doctuneWith({ env, timeoutMs: 300_000 }, 'train', '-m', model.path, '--data', data, '-o', out, '--epochs', '2', '--threads', '1', '--device', device, '--eval-split', '0', '--json',
          // On lavapipe, measuring the fastest precision costs more than the run: F32, as the device tests use.
          ...(device === 'cpu' ? [] : ['--precision', 'f32']));
        expect(r.code, r.stderr).toBe(0);
        const result = JSON.parse(r.stdout);
        expect(result.device.backend.toLowerCase()).toBe(device);
        expect(Number.isFinite(result.train_loss)).toBe(true);

        // Tensor names: "<base tensor>.lora_a/b" for tensors the base has (phi3: the fused attn_qkv and ffn_up).
        const adapter = await readGguf(result.adapter);
        const baseNames = new Set(model.tensors.map((t) => t.name));
        const targets = new Set(adapter.tensors.map((t) => t.name.replace(/\.lora_[ab]$/, '')));
        for (const name of targets) expect(baseNames.has(name), name).toBe(true);
        const kinds = new Set([...targets].map((name) => name.split('.')[2]));
        expect([...kinds].sort()).toEqual(c.shape.arch === 'phi3'
          ? ['attn_output', 'attn_qkv', 'ffn_down', 'ffn_up']
          : ['attn_k', 'attn_output', 'attn_q', 'attn_v', 'ffn_down', 'ffn_gate', 'ffn_up']);
        expect(adapter.metadata.get('general.architecture')?.value).toBe(c.shape.arch);
        expect(fs.readFileSync(result.modelfile, 'utf8')).toContain(`FROM ${model.path}\nADAPTER ${result.adapter}\n`);
        expect(fs.readFileSync(result.howto, 'utf8')).toContain(`--lora "${result.adapter}"`);

        if (device !== 'cpu') return; // the adapter is the same file format whichever device trained it
        const chat = doctuneWith({ env, timeoutMs: 120_000 }, 'chat', '-m', model.path, '-a', out, '--greedy', '--max-tokens', '4', '--threads', '1', '--json', STORY_QA[0]![0]);
        expect(chat.code, chat.stderr).toBe(0);
        expect(typeof JSON.parse(chat.stdout).answer).toBe('string');
      });
    }
  });
});
