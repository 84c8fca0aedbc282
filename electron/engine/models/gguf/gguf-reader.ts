import fs from 'node:fs/promises';
import { DocTuneError } from '../../errors.js';
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, type GgmlType, GgufValueType, tensorBytes, type GgufScalar, type GgufValue } from './gguf-types.js';

export interface GgufTensorInfo {
  name: string;
  /** ggml order: dims[0] is the row length (ne0). */
  dims: number[];
  type: GgmlType;
  /** Absolute file offset of the tensor's data. */
  offset: number;
  bytes: number;
}

export interface GgufFile {
  path: string;
  version: number;
  metadata: Map<string, GgufValue>;
  tensors: GgufTensorInfo[];
  alignment: number;
  dataOffset: number;
  fileSize: number;
}

/** Limits that keep a malformed header from making us allocate or loop without end. */
const MAX_STRING = 64 * 1024 * 1024;
const MAX_ARRAY = 16 * 1024 * 1024;
const MAX_TENSORS = 1_000_000;
const MAX_KV = 1_000_000;

class Cursor {
  pos = 0;
  constructor(
    private buf: Buffer,
    private readonly fill: (from: number, min: number) => Promise<Buffer>,
    private base = 0,
  ) {}

  private async need(n: number): Promise<void> {
    if (this.pos - this.base + n <= this.buf.length) return;
    this.buf = await this.fill(this.pos, n);
    this.base = this.pos;
  }
  private at(): number {
    return this.pos - this.base;
  }
  async u8(): Promise<number> {
    await this.need(1);
    const v = this.buf.readUInt8(this.at());
    this.pos += 1;
    return v;
  }
  async u32(): Promise<number> {
    await this.need(4);
    const v = this.buf.readUInt32LE(this.at());
    this.pos += 4;
    return v;
  }
  async u64(): Promise<bigint> {
    await this.need(8);
    const v = this.buf.readBigUInt64LE(this.at());
    this.pos += 8;
    return v;
  }
  async scalar(type: GgufValueType): Promise<GgufScalar> {
    switch (type) {
      case GgufValueType.UINT8: return this.u8();
      case GgufValueType.INT8: { await this.need(1); const v = this.buf.readInt8(this.at()); this.pos += 1; return v; }
      case GgufValueType.UINT16: { await this.need(2); const v = this.buf.readUInt16LE(this.at()); this.pos += 2; return v; }
      case GgufValueType.INT16: { await this.need(2); const v = this.buf.readInt16LE(this.at()); this.pos += 2; return v; }
      case GgufValueType.UINT32: return this.u32();
      case GgufValueType.INT32: { await this.need(4); const v = this.buf.readInt32LE(this.at()); this.pos += 4; return v; }
      case GgufValueType.FLOAT32: { await this.need(4); const v = this.buf.readFloatLE(this.at()); this.pos += 4; return v; }
      case GgufValueType.BOOL: return (await this.u8()) !== 0;
      case GgufValueType.STRING: return this.string();
      case GgufValueType.UINT64: return this.u64();
      case GgufValueType.INT64: { await this.need(8); const v = this.buf.readBigInt64LE(this.at()); this.pos += 8; return v; }
      case GgufValueType.FLOAT64: { await this.need(8); const v = this.buf.readDoubleLE(this.at()); this.pos += 8; return v; }
      default: throw new Error(`unknown value type ${type}`);
    }
  }
  async string(): Promise<string> {
    const len = Number(await this.u64());
    if (len > MAX_STRING) throw new Error(`string of ${len} bytes`);
    await this.need(len);
    const v = this.buf.toString('utf8', this.at(), this.at() + len);
    this.pos += len;
    return v;
  }
}

/**
 * Read a GGUF file's header: metadata and tensor directory, not the weights. Every length and offset is
 * checked against the file, so a damaged or hostile file is reported here with a reason instead of
 * reaching llama.cpp, which aborts the process on some of them.
 */
export async function readGguf(path: string): Promise<GgufFile> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, 'r');
  } catch (err) {
    throw new DocTuneError('NOT_FOUND', `cannot open GGUF file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { path, cause: err });
  }
  try {
    const fileSize = (await handle.stat()).size;
    const fill = async (from: number, min: number): Promise<Buffer> => {
      const size = Math.max(min, 1 << 20);
      const buf = Buffer.alloc(Math.min(size, Math.max(0, fileSize - from)));
      const { bytesRead } = await handle.read(buf, 0, buf.length, from);
      if (bytesRead < min) throw new Error('unexpected end of file (truncated?)');
      return buf.subarray(0, bytesRead);
    };
    const cur = new Cursor(Buffer.alloc(0), fill);
    try {
      if (fileSize < 24) throw new Error('file too small to be GGUF');
      if ((await cur.u32()) !== GGUF_MAGIC) throw new Error('not a GGUF file (bad magic)');
      const version = await cur.u32();
      if (version < 2 || version > 3) throw new Error(`unsupported GGUF version ${version}`);
      const tensorCount = Number(await cur.u64());
      const kvCount = Number(await cur.u64());
      if (tensorCount > MAX_TENSORS || kvCount > MAX_KV) throw new Error('implausible tensor or key count');
      const metadata = new Map<string, GgufValue>();
      for (let i = 0; i < kvCount; i++) {
        const key = await cur.string();
        const type = (await cur.u32()) as GgufValueType;
        if (type === GgufValueType.ARRAY) {
          const itemType = (await cur.u32()) as Exclude<GgufValueType, GgufValueType.ARRAY>;
          const n = Number(await cur.u64());
          if (n > MAX_ARRAY) throw new Error(`array "${key}" has ${n} items`);
          if (itemType === (GgufValueType.ARRAY as number)) throw new Error(`nested array in "${key}"`);
          const value: GgufScalar[] = [];
          for (let k = 0; k < n; k++) value.push(await cur.scalar(itemType));
          metadata.set(key, { type, itemType, value });
        } else {
          if (!(type in GgufValueType)) throw new Error(`key "${key}" has unknown value type ${type}`);
          metadata.set(key, { type, value: await cur.scalar(type) } as GgufValue);
        }
      }
      const alignValue = metadata.get('general.alignment');
      const alignment = alignValue && typeof alignValue.value === 'number' ? alignValue.value : GGUF_DEFAULT_ALIGNMENT;
      if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) throw new Error(`bad alignment ${alignment}`);
      const raw: { name: string; dims: number[]; type: GgmlType; rel: number }[] = [];
      for (let i = 0; i < tensorCount; i++) {
        const name = await cur.string();
        const nDims = await cur.u32();
        if (nDims < 1 || nDims > 4) throw new Error(`tensor "${name}" has ${nDims} dimensions`);
        const dims: number[] = [];
        for (let d = 0; d < nDims; d++) dims.push(Number(await cur.u64()));
        const type = (await cur.u32()) as GgmlType;
        const rel = Number(await cur.u64());
        raw.push({ name, dims, type, rel });
      }
      const dataOffset = Math.ceil(cur.pos / alignment) * alignment;
      const names = new Set<string>();
      const tensors = raw.map((t) => {
        if (names.has(t.name)) throw new Error(`duplicate tensor "${t.name}"`);
        names.add(t.name);
        const bytes = tensorBytes(t.type, t.dims);
        if (bytes === null) throw new Error(`tensor "${t.name}" has unknown type ${t.type} or a row not divisible by its block`);
        if (t.rel % alignment !== 0) throw new Error(`tensor "${t.name}" is not aligned`);
        const offset = dataOffset + t.rel;
        if (offset + bytes > fileSize) throw new Error(`tensor "${t.name}" extends past the end of the file (truncated?)`);
        return { name: t.name, dims: t.dims, type: t.type, offset, bytes };
      });
      return { path, version, metadata, tensors, alignment, dataOffset, fileSize };
    } catch (err) {
      if (err instanceof DocTuneError) throw err;
      throw new DocTuneError('MODEL', `invalid GGUF: ${(err as Error).message}`, { path, cause: err });
    }
  } finally {
    await handle.close();
  }
}

/** Typed metadata access. */
export function metaString(file: GgufFile, key: string): string | undefined {
  const v = file.metadata.get(key);
  return v && v.type === GgufValueType.STRING ? (v.value as string) : undefined;
}

export function metaNumber(file: GgufFile, key: string): number | undefined {
  const v = file.metadata.get(key);
  if (!v || v.type === GgufValueType.ARRAY || v.type === GgufValueType.STRING || v.type === GgufValueType.BOOL) return undefined;
  return Number(v.value);
}

export async function readTensorData(file: GgufFile, name: string): Promise<Buffer> {
  const t = file.tensors.find((x) => x.name === name);
  if (!t) throw new DocTuneError('MODEL', `no tensor "${name}"`, { path: file.path });
  const handle = await fs.open(file.path, 'r');
  try {
    const buf = Buffer.alloc(t.bytes);
    await handle.read(buf, 0, t.bytes, t.offset);
    return buf;
  } finally {
    await handle.close();
  }
}
