import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readGguf } from '../models/gguf/gguf-reader.js';
import { targetShape, writeLoraAdapter } from '../models/lora-adapter.js';
import { doctune, doctuneWith } from '../testing/cli.js';
import { tempDir, TINY_MODEL } from '../testing/corpus.js';
import { randomF32, rng } from '../testing/random-model.js';
import { resolveAdapterArg } from '../api/adapter-arg.js';

describe('chat and eval take a training run folder as --adapter', () => {
  const dir = tempDir('cli-chat');
  const runDir = path.join(dir, 'runs', 'safety');
  const adapter = path.join(runDir, 'adapter-2026-01-01T00-00-00-000Z-test.gguf');

  beforeAll(async () => {
    const base = await readGguf(TINY_MODEL);
    const next = rng(7);
    const pairs = ['blk.0.attn_q.weight', 'blk.2.ffn_up.weight'].map((target) => {
      const { nIn, nOut } = targetShape(base, target);
      return { target, a: randomF32(nIn * 4, 0.3, next), b: randomF32(4 * nOut, 0.3, next) };
    });
    fs.mkdirSync(runDir, { recursive: true });
    await writeLoraAdapter(adapter, base, { rank: 4, alpha: 8, pairs });
    fs.writeFileSync(path.join(runDir, 'run.json'), JSON.stringify({
      adapter, base_model: { path: TINY_MODEL }, finished_at: new Date().toISOString(),
      held_out: [[{ role: 'user', content: 'What color is the ball?' }, { role: 'assistant', content: 'The ball is red.' }]],
    }));
  });

  it('finds the run\'s adapter: from run.json, else the newest adapter file, also in a pipeline\'s output folder', async () => {
    expect(await resolveAdapterArg(runDir)).toBe(adapter);
    expect(await resolveAdapterArg(adapter)).toBe(adapter);
    // A pipeline's output folder keeps its run in run/.
    const pipelineOut = path.join(dir, 'pipeline-out');
    fs.mkdirSync(path.join(pipelineOut, 'run'), { recursive: true });
    const inRun = path.join(pipelineOut, 'run', 'adapter-a.gguf');
    fs.copyFileSync(adapter, inRun);
    expect(await resolveAdapterArg(pipelineOut)).toBe(inRun);
    // No run.json: the newest adapter, never a base model lying beside it.
    const loose = path.join(dir, 'loose');
    fs.mkdirSync(loose);
    fs.copyFileSync(adapter, path.join(loose, 'old.gguf'));
    fs.utimesSync(path.join(loose, 'old.gguf'), new Date('2025-01-01'), new Date('2025-01-01'));
    fs.copyFileSync(adapter, path.join(loose, 'new.gguf'));
    fs.copyFileSync(TINY_MODEL, path.join(loose, 'base.gguf'));
    expect(await resolveAdapterArg(loose)).toBe(path.join(loose, 'new.gguf'));
    const empty = path.join(dir, 'empty');
    fs.mkdirSync(empty);
    await expect(resolveAdapterArg(empty)).rejects.toThrow(`no LoRA adapter in ${empty}`);
  });

  it('doctune chat --adapter RUN_DIR answers as with the adapter file', () => {
    const ask = (a: string): ReturnType<typeof doctune> =>
      doctune('chat', '--model', TINY_MODEL, '--adapter', a, '--prompt', 'Once upon a time', '--greedy', '--max-tokens', '8', '--threads', '1', '--json');
    const byDir = ask(runDir);
    expect(byDir.code, byDir.stderr).toBe(0);
    const byFile = ask(adapter);
    expect(JSON.parse(byDir.stdout).answer).toBe(JSON.parse(byFile.stdout).answer);
    const empty = tempDir('cli-chat-empty');
    const none = ask(empty);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(`no LoRA adapter in ${empty}`);
  });

  it('doctune eval --adapter RUN_DIR scores the run\'s held-out pairs', () => {
    const r = doctune('eval', '--model', TINY_MODEL, '--adapter', runDir, '--threads', '1', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).n).toBe(1);
  });

  it('doctune chat with no question: a conversation on standard input with --interactive, else a usage error', () => {
    const r = doctuneWith({ input: 'Once upon a time\nThen\n/exit\n' }, 'chat', '--model', TINY_MODEL, '--interactive', '--greedy', '--max-tokens', '8', '--threads', '1');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('> ').length).toBeGreaterThanOrEqual(3);
    const none = doctuneWith({ input: '' }, 'chat', '--model', TINY_MODEL);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/give a question/);
  });
});
