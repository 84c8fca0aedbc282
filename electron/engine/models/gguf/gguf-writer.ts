import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GgufValueType, tensorBytes, type GgmlType, type GgufScalar, type GgufValue } from './gguf-types.js';
import { logged } from '../../log.js';

export interface GgufTensorInput {
  name: string;
  dims: number[];
  type: GgmlType;
  data: Uint8Array;
}

export interface GgufInput {
  /** Written in this order; llama.cpp reads by key, but a stable order gives byte-identical files. */
  metadata: Iterable<[string, GgufValue]>;
  tensors: GgufTensorInput[];
  alignment?: number;
}

class Builder {
  private parts: Buffer[] = [];
  length = 0;
  push(b: Buffer): void {
    this.parts.push(b);
    this.length += b.length;
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  u64(v: number | bigint): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  string(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    this.push(bytes);
  }
  scalar(type: GgufValueType, v: GgufScalar): void {
    const b = Buffer.alloc(8);
    switch (type) {
      case GgufValueType.UINT8: b.writeUInt8(Number(v)); return this.push(b.subarray(0, 1));
      case GgufValueType.INT8: b.writeInt8(Number(v)); return this.push(b.subarray(0, 1));
      case GgufValueType.UINT16: b.writeUInt16LE(Number(v)); return this.push(b.subarray(0, 2));
      case GgufValueType.INT16: b.writeInt16LE(Number(v)); return this.push(b.subarray(0, 2));
      case GgufValueType.UINT32: b.writeUInt32LE(Number(v)); return this.push(b.subarray(0, 4));
      case GgufValueType.INT32: b.writeInt32LE(Number(v)); return this.push(b.subarray(0, 4));
      case GgufValueType.FLOAT32: b.writeFloatLE(Number(v)); return this.push(b.subarray(0, 4));
      case GgufValueType.BOOL: b.writeUInt8(v ? 1 : 0); return this.push(b.subarray(0, 1));
      case GgufValueType.STRING: return this.string(String(v));
      case GgufValueType.UINT64: b.writeBigUInt64LE(BigInt(v)); return this.push(b);
      case GgufValueType.INT64: b.writeBigInt64LE(BigInt(v)); return this.push(b);
      case GgufValueType.FLOAT64: b.writeDoubleLE(Number(v)); return this.push(b);
      default: throw new Error(`cannot write value type ${type}`);
    }
  }
  pad(alignment: number): void {
    const rem = this.length % alignment;
    if (rem) this.push(Buffer.alloc(alignment - rem));
  }
  concat(): Buffer {
    return Buffer.concat(this.parts, this.length);
  }
}

export type GgufTensorShape = Omit<GgufTensorInput, 'data'>;

/** The header (metadata and tensor infos), padded to the data section. */
function encodeHeader(metadata: [string, GgufValue][], tensors: readonly GgufTensorShape[], alignment: number): Builder {
  const w = new Builder();
  w.u32(GGUF_MAGIC);
  w.u32(3);
  w.u64(tensors.length);
  w.u64(metadata.length);
  for (const [key, v] of metadata) {
    w.string(key);
    w.u32(v.type);
    if (v.type === GgufValueType.ARRAY) {
      w.u32(v.itemType);
      w.u64(v.value.length);
      for (const item of v.value) w.scalar(v.itemType, item);
    } else {
      w.scalar(v.type, v.value);
    }
  }
  let rel = 0;
  for (const t of tensors) {
    const bytes = tensorBytes(t.type, t.dims);
    if (bytes === null) throw new Error(`tensor "${t.name}": shape [${t.dims.join(', ')}] does not fit type ${t.type}`);
    w.string(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(t.type);
    w.u64(rel);
    rel += Math.ceil(bytes / alignment) * alignment;
  }
  w.pad(alignment);
  return w;
}

function checkData(t: GgufTensorShape, data: Uint8Array): void {
  const bytes = tensorBytes(t.type, t.dims);
  if (bytes !== data.byteLength) {
    throw new Error(`tensor "${t.name}": ${data.byteLength} bytes of data for type ${t.type} and shape [${t.dims.join(', ')}] (expected ${bytes})`);
  }
}

/** Serialise a GGUF (v3) to memory. Tensor sizes are checked against their type and shape. */
export function encodeGguf(input: GgufInput): Buffer {
  const alignment = input.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  input.tensors.forEach((t) => checkData(t, t.data));
  const w = encodeHeader([...input.metadata], input.tensors, alignment);
  input.tensors.forEach((t, i) => {
    w.push(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    // llama.cpp pads between tensors, not after the last one.
    if (i < input.tensors.length - 1) w.pad(alignment);
  });
  return w.concat();
}

/**
 * Write a GGUF whose tensors are produced one at a time (models of several GB never sit in memory whole),
 * atomically like writeGguf.
 */
export async function writeGgufStreaming(path: string, metadata: Iterable<[string, GgufValue]>, tensors: readonly GgufTensorShape[],
  produce: (index: number) => Promise<Uint8Array> | Uint8Array, alignment = GGUF_DEFAULT_ALIGNMENT): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
  const file = await fs.open(tmp, 'w');
  try {
    const header = encodeHeader([...metadata], tensors, alignment).concat();
    await file.write(header);
    let offset = header.length;
    for (let i = 0; i < tensors.length; i++) {
      const data = await produce(i);
      checkData(tensors[i]!, data);
      await file.write(data);
      offset += data.byteLength;
      const rem = offset % alignment;
      if (rem && i < tensors.length - 1) {
        await file.write(Buffer.alloc(alignment - rem));
        offset += alignment - rem;
      }
    }
    await file.close();
    await fs.rename(tmp, path);
  } catch (err) {
    await file.close().catch(logged('closing a GGUF file after a failed write', { path: tmp }));
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/** Write atomically: a reader (or a crash) never sees half a file at `path`. */
export async function writeGguf(path: string, input: GgufInput): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
  try {
    await fs.writeFile(tmp, encodeGguf(input));
    await fs.rename(tmp, path);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/** Metadata value helpers. */
export const gguf = {
  str: (value: string): GgufValue => ({ type: GgufValueType.STRING, value }),
  u32: (value: number): GgufValue => ({ type: GgufValueType.UINT32, value }),
  i32: (value: number): GgufValue => ({ type: GgufValueType.INT32, value }),
  f32: (value: number): GgufValue => ({ type: GgufValueType.FLOAT32, value }),
  bool: (value: boolean): GgufValue => ({ type: GgufValueType.BOOL, value }),
};
