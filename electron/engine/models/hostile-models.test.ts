/**
 * Models that DocTune's GGUF reader accepts but llama.cpp aborts on (a head count of zero, no layers, no
 * feed-forward width), given to every place llama.cpp runs: the local teacher, the judge, the embedding
 * model and chat. Only a worker process may die; the error names the file; this process goes on.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Engine } from '../api/engine.js';
import { ChatHost } from '../chat/chat-host.js';
import { LocalTeacher } from '../dataset/local-teacher.js';
import { DocTuneError } from '../errors.js';
import { tempDir, TINY_MODEL } from '../testing/corpus.js';
import { writeWithMetadata } from '../testing/random-model.js';
import { Embedder } from './embedder.js';
import { readGguf } from './gguf/gguf-reader.js';
import { gguf } from './gguf/gguf-writer.js';

describe('hostile models: llama.cpp dies in a worker, never here', () => {
  const dir = tempDir('hostile');
  const cases: [string, Record<string, ReturnType<typeof gguf.u32>>][] = [
    ['head-count-0', { 'llama.attention.head_count': gguf.u32(0) }],
    ['head-count-kv-0', { 'llama.attention.head_count_kv': gguf.u32(0) }],
    ['block-count-0', { 'llama.block_count': gguf.u32(0) }],
    ['feed-forward-0', { 'llama.feed_forward_length': gguf.u32(0) }],
  ];

  const expectNamed = (err: unknown, file: string): void => {
    expect(err).toBeInstanceOf(DocTuneError);
    const e = err as DocTuneError;
    expect(`${e.path ?? ''} ${e.message}`).toContain(path.basename(file));
    expect(e.message.length).toBeGreaterThan(20);
  };

  for (const [name, overrides] of cases) {
    it(`${name}: the teacher, the embedder and chat fail with the file named`, async () => {
      const file = path.join(dir, `stories-${name}.gguf`);
      await writeWithMetadata(file, await readGguf(TINY_MODEL), overrides);
      expectNamed(await LocalTeacher.load(file, { parallel: 1, threads: 1 }).then(() => null, (e: unknown) => e), file);
      expectNamed(await Embedder.load(file, { threads: 1 }).then(() => null, (e: unknown) => e), file);
      expectNamed(await ChatHost.open({ modelPath: file, threads: 1 }).then(() => null, (e: unknown) => e), file);
    });
  }

  it("a model llama.cpp refuses to load says why, in llama.cpp's words, not just that it failed", async () => {
    // Every tensor but one: DocTune's reader accepts the file, llama.cpp counts the tensors and refuses.
    const base = await readGguf(TINY_MODEL);
    const file = path.join(dir, 'stories-missing-tensor.gguf');
    await writeWithMetadata(file, { ...base, tensors: base.tensors.filter((t) => t.name !== 'blk.0.ffn_up.weight') }, {});
    for (const open of [() => ChatHost.open({ modelPath: file, threads: 1 }), () => LocalTeacher.load(file, { parallel: 1, threads: 1 })]) {
      const err = await open().then(() => null, (e: unknown) => e);
      expectNamed(err, file);
      expect((err as Error).message).toMatch(/llama\.cpp cannot load stories-missing-tensor\.gguf: /);
      expect((err as Error).message).toMatch(/blk\.0\.ffn_up\.weight/);
    }
  });

  it('the judge (the workspace teacher grading answers) fails the same way', async () => {
    const file = path.join(dir, 'stories-judge.gguf');
    await writeWithMetadata(file, await readGguf(TINY_MODEL), { 'llama.attention.head_count': gguf.u32(0) });
    const engine = new Engine({ workspaceDir: path.join(dir, 'ws'), threads: 1 });
    try {
      await engine.invoke('teacher.set', { kind: 'local', localModel: file });
      expectNamed(await engine.dataset.openJudge().then(() => null, (e: unknown) => e), file);
    } finally {
      await engine.close();
    }
  });

  it('after all of that, this process still runs the real model', async () => {
    const teacher = await LocalTeacher.load(TINY_MODEL, { parallel: 1, threads: 1 });
    try {
      expect(teacher.parallel).toBe(1);
    } finally {
      await teacher.dispose();
    }
  });
});
