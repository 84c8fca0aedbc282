import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DocTuneError } from '../../errors.js';
import { metaNumber, metaString, readGguf, readTensorData } from './gguf-reader.js';
import { GgmlType, GgufValueType } from './gguf-types.js';
import { encodeGguf, gguf } from './gguf-writer.js';
import { tempDir, TINY_MODEL } from '../../testing/corpus.js';

describe('GGUF reader and writer', () => {
  it('reads the real stories260K model as its documentation describes it', async () => {
    const f = await readGguf(TINY_MODEL);
    expect(f).toMatchObject({ version: 3, alignment: 32, dataOffset: 14176, fileSize: 1185376 });
    expect(metaString(f, 'general.architecture')).toBe('llama');
    expect(metaNumber(f, 'llama.embedding_length')).toBe(64);
    expect(metaNumber(f, 'llama.block_count')).toBe(5);
    expect(metaNumber(f, 'llama.attention.head_count_kv')).toBe(4);
    expect(metaNumber(f, 'llama.feed_forward_length')).toBe(172);
    expect(f.tensors.find((t) => t.name === 'blk.0.ffn_down.weight')).toMatchObject({ dims: [172, 64], type: GgmlType.F32 });
    expect(f.tensors.every((t) => t.type === GgmlType.F32)).toBe(true);
  });

  it('writes a byte-identical copy of a real model (same layout as llama.cpp\'s writer)', async () => {
    const f = await readGguf(TINY_MODEL);
    const tensors = await Promise.all(f.tensors.map(async (t) => ({ name: t.name, dims: t.dims, type: t.type, data: await readTensorData(f, t.name) })));
    const out = encodeGguf({ metadata: f.metadata, tensors, alignment: f.alignment });
    expect(Buffer.compare(out, fs.readFileSync(TINY_MODEL))).toBe(0);
  });

  it('refuses damaged files with a reason', async () => {
    const dir = tempDir('gguf');
    const real = fs.readFileSync(TINY_MODEL);
    const cases: [string, Buffer, RegExp][] = [
      ['truncated.gguf', real.subarray(0, real.length / 2), /extends past the end of the file/],
      ['header-cut.gguf', real.subarray(0, 5000), /unexpected end of file/],
      ['not.gguf', Buffer.from('%PDF-1.4 definitely not a model, padded out to be long enough'), /bad magic/],
      ['tiny.gguf', Buffer.from('GGUF'), /too small/],
    ];
    for (const [name, data, reason] of cases) {
      const p = path.join(dir, name);
      fs.writeFileSync(p, data);
      const err = await readGguf(p).catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(DocTuneError);
      expect((err as DocTuneError).message, name).toMatch(reason);
      expect((err as DocTuneError).path).toBe(p);
    }
    await expect(readGguf(path.join(dir, 'missing.gguf'))).rejects.toThrow(/cannot open GGUF file: ENOENT/);
  });

  it('checks tensor sizes against type and shape when writing', () => {
    expect(() => encodeGguf({ metadata: [['general.architecture', gguf.str('llama')]], tensors: [{ name: 'x', dims: [4, 2], type: GgmlType.F32, data: new Uint8Array(16) }] })).toThrow(/expected 32/);
    const ok = encodeGguf({ metadata: [['k', { type: GgufValueType.ARRAY, itemType: GgufValueType.INT32, value: [1, -2, 3] }]], tensors: [] });
    expect(ok.readUInt32LE(0)).toBe(0x46554747);
  });
});
