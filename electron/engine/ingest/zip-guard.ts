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
}

/**
 * Read a ZIP's central directory (no decompression) so an Office package that would expand to gigabytes
 * is refused before any parser inflates it. Parsing additionally runs under a memory cap, for archives whose
 * directory lies about sizes.
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
    const compressed = buf.readUInt32LE(p + 20);
    const uncompressed = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    entries.push({ name, compressed, uncompressed });
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

function mb(n: number): number {
  return Math.round(n / (1024 * 1024));
}
