/**
 * The safetensors format, as Hugging Face writes it: an 8-byte little-endian header length, a JSON header
 * (`name → {dtype, shape, data_offsets: [begin, end]}`, plus an optional `__metadata__` of strings), then the
 * tensors' raw little-endian bytes. Read and written whole (LoRA adapters are megabytes, not gigabytes).
 */
import fs from 'node:fs/promises';
import { z } from 'zod';
import { DocTuneError } from '../errors.js';
import { writeFileAtomic } from '../atomic-write.js';
import { fromF16 } from './gguf/quantize.js';

export interface SafeTensor {
  shape: number[];
  /** Values as F32 (F16 and BF16 files are widened on reading). */
  data: Float32Array;
}

export interface SafeTensorsFile {
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
}

const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };

/** The header as the format defines it: `__metadata__` (strings), then one entry per tensor. */
const TensorEntry = z.object({
  dtype: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  data_offsets: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]),
});
const Header = z.object({ __metadata__: z.record(z.string(), z.string()).optional() }).catchall(TensorEntry);
/** A header larger than this is not an adapter's (and would be a way to exhaust memory). */
const MAX_HEADER = 100 * 1024 * 1024;

export async function readSafetensors(file: string): Promise<SafeTensorsFile> {
  const bytes = await fs.readFile(file);
  const bad = (why: string): DocTuneError => new DocTuneError('MODEL', `not a valid safetensors file: ${why}`, { path: file });
  if (bytes.length < 8) throw bad('too short');
  const headerLength = Number(bytes.readBigUInt64LE(0));
  if (headerLength > MAX_HEADER || 8 + headerLength > bytes.length) throw bad(`header length ${headerLength} does not fit the file`);
  let json: unknown;
  try {
    json = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  } catch {
    throw bad('the header is not JSON');
  }
  const header = Header.safeParse(json);
  if (!header.success) {
    const issue = header.error.issues[0];
    throw bad(`the header does not follow the format: ${issue?.path.length ? `"${issue.path.join('.')}": ` : ''}${issue?.message ?? 'unexpected shape'}`);
  }
  const body = bytes.subarray(8 + headerLength);
  const tensors = new Map<string, SafeTensor>();
  const { __metadata__: metadata = {}, ...entries } = header.data;
  for (const [name, e] of Object.entries(entries)) {
    const size = DTYPE_BYTES[e.dtype];
    if (!size) throw bad(`tensor "${name}" has dtype ${e.dtype}; LoRA weights must be F32, F16 or BF16`);
    const [begin, end] = e.data_offsets;
    const count = e.shape.reduce((n, d) => n * d, 1);
    if (end > body.length || end - begin !== count * size) {
      throw bad(`tensor "${name}" has offsets or a shape that do not fit the file`);
    }
    const raw = body.subarray(begin, end);
    let data: Float32Array;
    if (e.dtype === 'F32') {
      // Copied into an aligned buffer in one go (the platforms DocTune runs on are little-endian, as the file is).
      data = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    } else {
      data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = e.dtype === 'F16' ? fromF16(raw.readUInt16LE(i * 2)) : fromBf16(raw.readUInt16LE(i * 2));
    }
    tensors.set(name, { shape: e.shape, data });
  }
  return { tensors, metadata };
}

/** A BF16 value is the top half of an F32's bits. */
function fromBf16(h: number): number {
  return new Float32Array(new Uint32Array([h << 16]).buffer)[0]!;
}

/** Write F32 tensors, in name order, with 8-byte alignment of the data as Hugging Face's writer pads it. */
export async function writeSafetensors(file: string, tensors: Map<string, SafeTensor>, metadata: Record<string, string> = {}): Promise<void> {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = Object.keys(metadata).length ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    const count = t.shape.reduce((n, d) => n * d, 1);
    if (count !== t.data.length) throw new DocTuneError('INTERNAL', `tensor "${name}" has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + count * 4] };
    offset += count * 4;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const parts: Uint8Array[] = [head, Buffer.from(json, 'utf8')];
  for (const name of names) {
    const d = tensors.get(name)!.data;
    parts.push(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  await writeFileAtomic(file, Buffer.concat(parts));
}
