import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { doctune } from '../testing/cli.js';
import { tempDir, TINY_MODEL } from '../testing/corpus.js';

describe('doctune dataset export --bundle', () => {
  const dir = tempDir('bundle');
  const ws = path.join(dir, 'ws');
  const pairs = path.join(dir, 'pairs.jsonl');
  fs.writeFileSync(pairs, ['When are extinguishers inspected?|Monthly, and the tag is signed.', 'How far out is a ladder set?|One foot for every four feet of height.', 'Who may remove a lock?|Only the employee who applied it.']
    .map((l) => JSON.stringify({ messages: [{ role: 'user', content: l.split('|')[0] }, { role: 'assistant', content: l.split('|')[1] }] })).join('\n'));
  // A DocTune run's record: its settings and base model.
  const run = path.join(dir, 'run');
  fs.mkdirSync(run);
  const config = { modelPath: TINY_MODEL, rank: 8, alpha: 16, targets: ['attn_q', 'attn_v', 'ffn_down'], epochs: 5, lr: 0.0003, batch: 2, accum: 4, seq: 0, warmupRatio: 0.05, weightDecay: 0.01, seed: 7 };
  const heldOut = [[{ role: 'user', content: 'Who may remove a lock?' }, { role: 'assistant', content: 'Only the employee who applied it.' }]];
  fs.writeFileSync(path.join(run, 'run.json'), JSON.stringify({ adapter: path.join(run, 'adapter.gguf'), base_model: { path: TINY_MODEL }, finished_at: '2026-12-01T10:00:00.000Z', config, memory_plan: { seq: 256 }, held_out: heldOut }));

  it('writes a LLaMA-Factory bundle whose YAML parses, whose files exist and whose numbers are the run\'s', () => {
    expect(doctune('dataset', 'import', pairs, '--workspace', ws).code).toBe(0);
    const out = path.join(dir, 'lf');
    const r = doctune('dataset', 'export', '--workspace', ws, '--bundle', 'llama-factory', '--run', run, '--base', 'karpathy/tinyllamas', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/llamafactory-cli train train_lora\.yaml/);
    expect(r.stdout).toMatch(/left out the run's 1 held-out pair/);
    for (const name of ['train_lora.yaml', 'train_lora_multi_gpu.yaml']) {
      const y = parse(fs.readFileSync(path.join(out, name), 'utf8'));
      expect(y).toMatchObject({
        model_name_or_path: 'karpathy/tinyllamas', stage: 'sft', finetuning_type: 'lora', lora_rank: 8, lora_alpha: 16, lora_target: 'q_proj,v_proj,down_proj',
        num_train_epochs: 5, learning_rate: 0.0003, cutoff_len: 256, per_device_train_batch_size: 2, gradient_accumulation_steps: 4, warmup_ratio: 0.05, seed: 7, dataset: 'doctune',
      });
      const info = JSON.parse(fs.readFileSync(path.join(out, y.dataset_dir, 'dataset_info.json'), 'utf8'));
      const data = JSON.parse(fs.readFileSync(path.join(out, y.dataset_dir, info[y.dataset].file_name), 'utf8'));
      expect(data).toHaveLength(2); // the run's held-out pair is not trained on
      expect(data[0].conversations[0]).toEqual({ from: 'human', value: 'When are extinguishers inspected?' });
      if (y.deepspeed) expect(JSON.parse(fs.readFileSync(path.join(out, y.deepspeed), 'utf8')).zero_optimization.stage).toBe(3);
    }
    expect(parse(fs.readFileSync(path.join(out, 'train_lora_multi_gpu.yaml'), 'utf8')).deepspeed).toBe('ds_z3_config.json');
    const readme = fs.readFileSync(path.join(out, 'README.md'), 'utf8');
    expect(readme).toContain(`doctune adapter import saves/doctune-lora --model ${TINY_MODEL}`);
    expect(readme).toContain('vllm serve karpathy/tinyllamas --enable-lora --lora-modules doctune=saves/doctune-lora --max-lora-rank 8');
  });

  it('writes an Axolotl bundle the same way, with DocTune\'s defaults when no run is given', () => {
    const out = path.join(dir, 'ax');
    const r = doctune('dataset', 'export', '--workspace', ws, '--bundle', 'axolotl', '--model', TINY_MODEL, '--base', 'karpathy/tinyllamas', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const y = parse(fs.readFileSync(path.join(out, 'axolotl.yaml'), 'utf8'));
    expect(y).toMatchObject({ base_model: 'karpathy/tinyllamas', adapter: 'lora', lora_r: 16, lora_alpha: 32, num_epochs: 3, learning_rate: 0.0002, chat_template: 'tokenizer_default' });
    expect(y.lora_target_modules).toEqual(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']);
    const lines = fs.readFileSync(path.join(out, y.datasets[0].path), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(3);
    expect(lines[2].messages[1]).toEqual({ role: 'assistant', content: 'Only the employee who applied it.' });
    expect(parse(fs.readFileSync(path.join(out, 'axolotl_multi_gpu.yaml'), 'utf8')).deepspeed).toBe('ds_z3_config.json');
    expect(fs.existsSync(path.join(out, 'ds_z3_config.json'))).toBe(true);
  });

  it('says what it needs: the Hugging Face model, or something to bundle', () => {
    const r = doctune('dataset', 'export', '--workspace', ws, '--bundle', 'axolotl', '--model', TINY_MODEL, '--out', path.join(dir, 'x'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--base ORG\/MODEL/);
    expect(doctune('dataset', 'export', '--workspace', ws, '--out', path.join(dir, 'y')).stderr).toMatch(/give --format .* or --bundle/);
  });
});
