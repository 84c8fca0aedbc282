import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../testing/corpus.js';
import { toF16 } from './gguf/quantize.js';
import { readSafetensors, writeSafetensors } from './safetensors.js';

/** A safetensors file assembled by hand, as the format's specification lays it out. */
function handMade(tensors: Record<string, { dtype: string; shape: number[]; bytes: Buffer }>): Buffer {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, ...Object.values(tensors).map((t) => t.bytes)]);
}

describe('safetensors', () => {
  const dir = tempDir('safetensors');
  const values = [1.5, -2, 0.25, 0];

  it('reads F16 and BF16 tensors widened to F32, and F32 as written', async () => {
    const f16 = Buffer.alloc(8);
    values.forEach((v, i) => f16.writeUInt16LE(toF16(v), i * 2));
    const bf16 = Buffer.alloc(8);
    values.forEach((v, i) => bf16.writeUInt16LE(Buffer.from(new Float32Array([v]).buffer).readUInt32LE(0) >>> 16, i * 2));
    const file = path.join(dir, 'half.safetensors');
    fs.writeFileSync(file, handMade({ a: { dtype: 'F16', shape: [2, 2], bytes: f16 }, b: { dtype: 'BF16', shape: [4], bytes: bf16 } }));
    const read = await readSafetensors(file);
    expect([...read.tensors.get('a')!.data]).toEqual(values);
    expect(read.tensors.get('a')!.shape).toEqual([2, 2]);
    expect([...read.tensors.get('b')!.data]).toEqual(values);

    const out = path.join(dir, 'f32.safetensors');
    await writeSafetensors(out, new Map([['w', { shape: [1, 4], data: Float32Array.from(values) }]]), { format: 'pt' });
    const bytes = fs.readFileSync(out);
    // The data starts 8-byte aligned, as Hugging Face's writer pads the header.
    expect((8 + Number(bytes.readBigUInt64LE(0))) % 8).toBe(0);
    const back = await readSafetensors(out);
    expect([...back.tensors.get('w')!.data]).toEqual(values);
    expect(back.metadata).toEqual({ format: 'pt' });
  });

  it('refuses a truncated file, a header that lies, and other dtypes, naming the file', async () => {
    const header = (h: unknown): Buffer => {
      const json = Buffer.from(JSON.stringify(h));
      const length = Buffer.alloc(8);
      length.writeBigUInt64LE(BigInt(json.length));
      return Buffer.concat([length, json]);
    };
    const good = handMade({ a: { dtype: 'F32', shape: [4], bytes: Buffer.from(Float32Array.from(values).buffer) } });
    const cases: [string, Buffer, RegExp][] = [
      ['short.safetensors', good.subarray(0, 5), /too short/],
      ['cut.safetensors', good.subarray(0, good.length - 4), /do not fit the file/],
      ['int.safetensors', handMade({ a: { dtype: 'I64', shape: [1], bytes: Buffer.alloc(8) } }), /dtype I64/],
      ['json.safetensors', Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{{{{')]), /not JSON/],
      // An entry without offsets, and metadata that is not strings: named, not read as NaN or passed on.
      ['entry.safetensors', header({ a: { dtype: 'F32', shape: [1] } }), /"a\.data_offsets"/],
      ['meta.safetensors', header({ __metadata__: { epochs: 3 } }), /"__metadata__\.epochs"/],
    ];
    for (const [name, bytes, why] of cases) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, bytes);
      await expect(readSafetensors(file)).rejects.toMatchObject({ path: file, message: expect.stringMatching(why) });
    }
  });
});
