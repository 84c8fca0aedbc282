/**
 * Model and adapter files that would make llama.cpp abort must never take the app down: DocTune's own GGUF
 * reader checks them first (in process, so it must never crash or hang on any input), and whatever still
 * reaches llama.cpp runs in the supervised chat worker. 1,200+ generated cases.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DocTuneError } from '../errors.js';
import { readGguf, readTensorData } from '../models/gguf/gguf-reader.js';
import { GgufValueType, type GgufValue } from '../models/gguf/gguf-types.js';
import { gguf, writeGguf } from '../models/gguf/gguf-writer.js';
import { targetShape, writeLoraAdapter } from '../models/lora-adapter.js';
import { tempDir, TINY_MODEL } from '../testing/corpus.js';
import { randomF32, rng } from '../testing/random-model.js';
import { ChatHost, checkModelFiles } from './chat-host.js';

const dir = tempDir('fuzz');

async function validAdapter(): Promise<string> {
  const base = await readGguf(TINY_MODEL);
  const next = rng(3);
  const rank = 4;
  const pairs = ['blk.0.attn_q.weight', 'blk.1.ffn_down.weight', 'blk.4.attn_output.weight'].map((target) => {
    const { nIn, nOut } = targetShape(base, target);
    return { target, a: randomF32(nIn * rank, 0.1, next), b: randomF32(rank * nOut, 0.1, next) };
  });
  const file = path.join(dir, 'valid-adapter.gguf');
  await writeLoraAdapter(file, base, { rank, alpha: 8, pairs });
  return file;
}

/** Byte-level corruptions of a file: truncations, flipped bytes (anywhere and in the header), random files. */
function* byteCases(bytes: Buffer, seed: number, n: number): Generator<[string, Buffer]> {
  const next = rng(seed);
  const pick = (max: number): number => Math.floor(next() * max);
  for (let i = 0; i < n; i++) {
    const kind = i % 4;
    if (kind === 0) {
      yield [`truncated at ${i}`, bytes.subarray(0, pick(bytes.length))];
    } else if (kind === 1 || kind === 2) {
      const out = Buffer.from(bytes);
      const span = kind === 1 ? out.length : Math.min(out.length, 4096);
      for (let k = 0, flips = 1 + pick(8); k < flips; k++) out[pick(span)] = pick(256);
      yield [`${flips(kind)} ${i}`, out];
    } else {
      const out = Buffer.alloc(pick(4096));
      for (let k = 0; k < out.length; k++) out[k] = pick(256);
      if (i % 8 === 3) out.write('GGUF', 0); // random bytes behind the right magic
      yield [`random ${i}`, out];
    }
  }
}
const flips = (kind: number): string => (kind === 1 ? 'bytes flipped' : 'header bytes flipped');

/** Adapters that are well-formed GGUF but wrong for llama.cpp: KV types, missing keys, shapes, names. */
async function structuredCases(adapterPath: string): Promise<[string, string][]> {
  const adapter = await readGguf(adapterPath);
  const tensors = await Promise.all(adapter.tensors.map(async (t) => ({ name: t.name, dims: t.dims, type: t.type, data: new Uint8Array(await readTensorData(adapter, t.name)) })));
  const variants: [string, [string, GgufValue][], typeof tensors][] = [];
  const meta = [...adapter.metadata];
  const withKv = (key: string, v: GgufValue | null): [string, GgufValue][] => (v ? [...meta.filter(([k]) => k !== key), [key, v]] : meta.filter(([k]) => k !== key));
  const badValues: GgufValue[] = [gguf.u32(8), { type: GgufValueType.FLOAT64, value: 8 }, gguf.str('8'), gguf.i32(-1), gguf.bool(true)];
  for (const key of ['adapter.lora.alpha', 'general.type', 'adapter.type', 'general.architecture']) {
    variants.push([`${key} missing`, withKv(key, null), tensors]);
    for (const v of badValues) variants.push([`${key} as value type ${v.type}`, withKv(key, v), tensors]);
  }
  variants.push(['architecture qwen2', withKv('general.architecture', gguf.str('qwen2')), tensors]);
  variants.push(['general.type model', withKv('general.type', gguf.str('model')), tensors]);
  for (let i = 0; i < tensors.length; i++) {
    const t = tensors[i]!;
    const others = tensors.filter((_, j) => j !== i);
    variants.push([`${t.name} missing (half a pair)`, meta, others]);
    variants.push([`${t.name} renamed to an unknown target`, meta, [...others, { ...t, name: t.name.replace(/blk\.\d+/, 'blk.99') }]]);
    variants.push([`${t.name} with a bad suffix`, meta, [...others, { ...t, name: t.name.replace('.lora_', '.lora_x') }]]);
    variants.push([`${t.name} transposed`, meta, [...others, { ...t, dims: [t.dims[1]!, t.dims[0]!] }]]);
  }
  const out: [string, string][] = [];
  for (const [name, m, ts] of variants) {
    const file = path.join(dir, `structured-${out.length}.gguf`);
    try {
      await writeGguf(file, { metadata: m, tensors: ts });
      out.push([name, file]);
    } catch {
      // the writer itself refuses this shape/type combination: nothing to test
    }
  }
  return out;
}

async function verdict(model: string, adapter?: string): Promise<'ok' | 'refused'> {
  try {
    await checkModelFiles(model, adapter);
    return 'ok';
  } catch (err) {
    expect(err).toBeInstanceOf(DocTuneError);
    expect((err as DocTuneError).path).toBe(adapter ?? model);
    return 'refused';
  }
}

describe('malformed models and adapters never crash the process', () => {
  it('1,200+ generated files: the GGUF reader refuses or accepts each, and llama.cpp sees the accepted ones only in the worker', async () => {
    const adapterPath = await validAdapter();
    expect(await verdict(TINY_MODEL, adapterPath)).toBe('ok');
    const accepted: [string, string][] = [];
    let cases = 0;
    const file = path.join(dir, 'case.gguf');
    for (const [name, bytes] of byteCases(fs.readFileSync(adapterPath), 11, 700)) {
      fs.writeFileSync(file, bytes);
      cases++;
      if ((await verdict(TINY_MODEL, file)) === 'ok') {
        const keep = path.join(dir, `accepted-${accepted.length}.gguf`);
        fs.copyFileSync(file, keep);
        accepted.push([name, keep]);
      }
    }
    for (const [name, bytes] of byteCases(fs.readFileSync(TINY_MODEL), 12, 400)) {
      fs.writeFileSync(file, bytes);
      cases++;
      // A model that passes the reader with corrupted weights is still a loadable model; only crashes matter.
      await verdict(file).catch((e: unknown) => {
        throw new Error(`${name}: ${String(e)}`);
      });
    }
    const structured = await structuredCases(adapterPath);
    for (const [name, f] of structured) {
      cases++;
      const v = await verdict(TINY_MODEL, f);
      if (v === 'ok') accepted.push([name, f]);
      // These are the faults llama.cpp aborts or fails on: the reader must refuse them. (Without alpha,
      // llama.cpp uses scale 1: that file is valid.)
      expect(v, name).toBe(name === 'adapter.lora.alpha missing' ? 'ok' : 'refused');
    }
    expect(cases).toBeGreaterThanOrEqual(1000);

    // What the reader let through (flipped weight bytes, mostly) goes to llama.cpp in the worker: it may
    // answer, fail or die; this process stays up. Eight of them, spread over the whole list (the byte cases
    // and the structured ones), each answered or refused with a DocTuneError.
    expect(accepted.length).toBeGreaterThanOrEqual(8);
    const sample = Array.from({ length: 8 }, (_, i) => accepted[Math.floor((i * (accepted.length - 1)) / 7)]!);
    expect(sample.at(-1)![0]).toBe('adapter.lora.alpha missing');
    const outcomes: string[] = [];
    for (const [name, f] of sample) {
      let host: ChatHost | null = null;
      let outcome: unknown;
      try {
        host = await ChatHost.open({ modelPath: TINY_MODEL, adapterPath: f, contextSize: 256, parallel: 1, threads: 1 });
        // Damaged weights may well end the answer at once: any answer counts.
        await host.generate([{ role: 'user', content: 'Once upon a time' }], { maxTokens: 4, temperature: 0 });
        outcome = 'answered';
      } catch (err) {
        outcome = err;
      } finally {
        await host?.close();
      }
      if (outcome !== 'answered') expect(outcome, name).toBeInstanceOf(DocTuneError);
      outcomes.push(outcome === 'answered' ? outcome : (outcome as DocTuneError).code);
    }
    expect(outcomes).toHaveLength(8);
    // And after all of it, this process still loads the model with a good adapter and answers.
    const host = await ChatHost.open({ modelPath: TINY_MODEL, adapterPath, contextSize: 256, parallel: 1, threads: 1 });
    try {
      expect((await host.generate([{ role: 'user', content: 'Once upon a time' }], { maxTokens: 4, temperature: 0 })).completionTokens).toBeGreaterThan(0);
    } finally {
      await host.close();
    }
  });
});
