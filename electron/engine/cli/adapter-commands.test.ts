import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readGguf } from '../models/gguf/gguf-reader.js';
import { targetShape, writeLoraAdapter } from '../models/lora-adapter.js';
import { readLoraGguf } from '../models/peft-adapter.js';
import { doctune } from '../testing/cli.js';
import { tempDir, TINY_MODEL } from '../testing/corpus.js';
import { randomF32, rng } from '../testing/random-model.js';

describe('doctune adapter export / import', () => {
  it('exports a run\'s adapter as PEFT and imports it back, then chats with it', async () => {
    const dir = tempDir('cli-peft');
    const base = await readGguf(TINY_MODEL);
    const next = rng(7);
    const pairs = ['blk.0.attn_q.weight', 'blk.0.attn_k.weight', 'blk.1.ffn_down.weight'].map((target) => {
      const { nIn, nOut } = targetShape(base, target);
      return { target, a: randomF32(2 * nIn, 0.2, next), b: randomF32(nOut * 2, 0.2, next) };
    });
    // A run folder as `doctune train` leaves it: the adapter and run.json naming the base model.
    const run = path.join(dir, 'run');
    fs.mkdirSync(run);
    await writeLoraAdapter(path.join(run, 'adapter-1.gguf'), base, { rank: 2, alpha: 4, pairs });
    fs.writeFileSync(path.join(run, 'run.json'), JSON.stringify({ adapter: 'adapter-1.gguf', base_model: { path: TINY_MODEL } }));

    const out = path.join(dir, 'peft');
    const exported = doctune('adapter', 'export', run, '--out', out, '--base', 'karpathy/tinyllamas', '--json');
    expect(exported.code, exported.stderr).toBe(0);
    expect(JSON.parse(exported.stdout)).toMatchObject({ baseModel: 'karpathy/tinyllamas', targetModules: ['down_proj', 'k_proj', 'q_proj'] });
    expect(fs.readdirSync(out).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    expect(doctune('adapter', 'export', run, '--out', path.join(dir, 'again'), '--base', 'karpathy/tinyllamas').stdout).toMatch(/vllm serve karpathy\/tinyllamas --enable-lora --lora-modules doctune=/);

    const back = path.join(dir, 'imported.gguf');
    const imported = doctune('adapter', 'import', out, '--model', TINY_MODEL, '--out', back, '--json');
    expect(imported.code, imported.stderr).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ pairs: 3, rank: 2, alpha: 4, path: back });
    // The same pairs, number for number (q's and k's rows permuted on the way out and back).
    const again = new Map((await readLoraGguf(back, base)).pairs.map((p) => [p.target, p]));
    for (const p of pairs) expect([again.get(p.target)!.a, again.get(p.target)!.b]).toEqual([p.a, p.b]);

    const chat = doctune('chat', '--model', TINY_MODEL, '--adapter', back, '--prompt', 'Once upon a time', '--max-tokens', '4', '--threads', '1');
    expect(chat.code, chat.stderr).toBe(0);
    expect(chat.stdout.trim().length).toBeGreaterThan(0);
  });

  it('says what is missing: the base model, or a PEFT folder', () => {
    const dir = tempDir('cli-peft-bad');
    const lone = path.join(dir, 'lone.gguf');
    fs.copyFileSync(TINY_MODEL, lone);
    const noBase = doctune('adapter', 'export', lone, '--out', path.join(dir, 'x'));
    expect(noBase.code).toBe(2);
    expect(noBase.stderr).toMatch(/give it with --model/);
    const notPeft = doctune('adapter', 'import', dir, '--model', TINY_MODEL, '--out', path.join(dir, 'y.gguf'));
    expect(notPeft.code).toBe(1);
    expect(notPeft.stderr).toContain(path.join(dir, 'adapter_config.json'));
    expect(notPeft.stderr).toMatch(/not a PEFT adapter folder/);
  });
});
