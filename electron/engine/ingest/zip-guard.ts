import zlib from 'node:zlib';
import { DocTuneError } from '../errors.js';

export const ZIP_LIMITS = {
  /** Sum of uncompressed entry sizes a document package may declare. */
  maxTotalBytes: 256 * 1024 * 1024,
  /** Compression ratio beyond which a large entry is treated as a bomb. */
  maxRatio: 200,
  maxEntries: 10_000,
};

export interface ZipEntryInfo {
  name: string;
  compressed: number;
  uncompressed: number;
  /** 0 stored, 8 deflated (others are not found in Office packages). */
  method: number;
  /** Offset of the entry's local header. */
  offset: number;
}

/**
 * Read a ZIP's central directory (no decompression) so an Office package that says it would expand to
 * gigabytes is refused at once; assertInflatesWithin then counts what each entry really inflates to.
 */
export function readZipDirectory(buf: Buffer, file: string): ZipEntryInfo[] {
  const min = Math.max(0, buf.length - 65_557);
  let eocd = -1;
  for (let i = buf.length - 22; i >= min; i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new DocTuneError('PARSE_FAILED', 'corrupt ZIP package (no central directory; truncated?)', { path: file });
  const count = buf.readUInt16LE(eocd + 10);
  const cdOffset = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdOffset === 0xffffffff) {
    throw new DocTuneError('TOO_LARGE', 'ZIP64 package: too large for a document', { path: file });
  }
  if (count > ZIP_LIMITS.maxEntries) throw new DocTuneError('TOO_LARGE', `ZIP package has ${count} entries`, { path: file });
  const entries: ZipEntryInfo[] = [];
  let p = cdOffset;
  for (let n = 0; n < count; n++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== 0x02014b50) {
      throw new DocTuneError('PARSE_FAILED', 'corrupt ZIP package (bad central directory entry)', { path: file });
    }
    const method = buf.readUInt16LE(p + 10);
    const compressed = buf.readUInt32LE(p + 20);
    const uncompressed = buf.readUInt32LE(p + 24);
    const offset = buf.readUInt32LE(p + 42);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    entries.push({ name, compressed, uncompressed, method, offset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

export function assertNotZipBomb(buf: Buffer, file: string): ZipEntryInfo[] {
  const entries = readZipDirectory(buf, file);
  let total = 0;
  for (const e of entries) {
    total += e.uncompressed;
    const ratio = e.uncompressed / Math.max(1, e.compressed);
    if (e.uncompressed > 10 * 1024 * 1024 && ratio > ZIP_LIMITS.maxRatio) {
      throw new DocTuneError(
        'TOO_LARGE',
        `refusing a likely zip bomb: ${e.name} expands ${Math.round(ratio)}× to ${mb(e.uncompressed)} MB`,
        { path: file },
      );
    }
  }
  if (total > ZIP_LIMITS.maxTotalBytes) {
    throw new DocTuneError(
      'TOO_LARGE',
      `refusing a likely zip bomb: expands to ${mb(total)} MB (limit ${mb(ZIP_LIMITS.maxTotalBytes)} MB)`,
      { path: file },
    );
  }
  return entries;
}

/** Bytes a deflated stream inflates to, counted as it inflates (nothing kept) and stopped past `limit`. */
function inflatedBytes(data: Buffer, limit: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const inflater = zlib.createInflateRaw({ chunkSize: 64 * 1024 });
    let n = 0;
    inflater.on('data', (chunk: Buffer) => {
      n += chunk.length;
      if (n > limit) {
        inflater.destroy();
        resolve(n);
      }
    });
    inflater.on('end', () => resolve(n));
    inflater.on('error', reject);
    inflater.end(data);
  });
}

/**
 * What the directory says can be a lie: every entry is inflated once, counting the bytes it really gives
 * and stopping at the limit, whatever its header declares, before a parser holds any of it in memory.
 */
export async function assertInflatesWithin(buf: Buffer, file: string, entries: ZipEntryInfo[]): Promise<void> {
  let total = 0;
  for (const e of entries) {
    if (e.offset + 30 > buf.length || buf.readUInt32LE(e.offset) !== 0x04034b50) {
      throw new DocTuneError('PARSE_FAILED', `corrupt ZIP package (bad local header for ${e.name})`, { path: file });
    }
    const start = e.offset + 30 + buf.readUInt16LE(e.offset + 26) + buf.readUInt16LE(e.offset + 28);
    const data = buf.subarray(start, Math.min(buf.length, start + e.compressed));
    const left = ZIP_LIMITS.maxTotalBytes - total;
    let size: number;
    if (e.method === 0) size = data.length;
    else if (e.method === 8) size = await inflatedBytes(data, left).catch((err: Error) => {
      throw new DocTuneError('PARSE_FAILED', `corrupt ZIP package (${e.name}: ${err.message})`, { path: file, cause: err });
    });
    else throw new DocTuneError('UNSUPPORTED_FORMAT', `ZIP entry ${e.name} uses compression method ${e.method}`, { path: file });
    total += size;
    if (total > ZIP_LIMITS.maxTotalBytes) {
      throw new DocTuneError('TOO_LARGE', `refusing a zip bomb: ${e.name} inflates to more than ${mb(ZIP_LIMITS.maxTotalBytes)} MB (its header says ${mb(e.uncompressed)} MB)`, { path: file });
    }
    if (size > 10 * 1024 * 1024 && size / Math.max(1, e.compressed) > ZIP_LIMITS.maxRatio) {
      throw new DocTuneError('TOO_LARGE', `refusing a likely zip bomb: ${e.name} expands ${Math.round(size / Math.max(1, e.compressed))}× to ${mb(size)} MB`, { path: file });
    }
  }
}

function mb(n: number): number {
  return Math.round(n / (1024 * 1024));
}
