import { open } from 'node:fs/promises';
import path from 'node:path';
import iconv from 'iconv-lite';
import { DocTuneError } from '../errors.js';
import { Chunker } from './chunker.js';
import { decodeText } from './decode-text.js';
import { detectLanguage } from '../text/detect-language.js';
import { assertContentMatches } from './detect-format.js';
import { linesToBlocks, textToLines } from './line-structure.js';
import type { Block, ChunkDraft, ChunkOptions } from './types.js';

/** Plain-text files at least this large are read and chunked in pieces instead of whole. */
export const STREAM_TEXT_BYTES = 16 * 1024 * 1024;
/** How the file is read and handed over (tests shrink the sizes to exercise every boundary). */
export interface StreamTuning {
  /** Bytes read at a time. */
  readBytes: number;
  /** Text held back waiting for a paragraph break before it is cut at a line (or anywhere) instead. */
  maxPendingChars: number;
  /** Chunks handed over at a time (or fewer, once their text reaches batchChars). */
  batchChunks: number;
  batchChars: number;
}

const TUNING: StreamTuning = { readBytes: 1024 * 1024, maxPendingChars: 4 * 1024 * 1024, batchChunks: 2000, batchChars: 4 * 1024 * 1024 };
/** Blocks read before the document's language is decided (as for a file read whole). */
const LANGUAGE_SAMPLE_BLOCKS = 200;

export interface StreamedText {
  document: { title: string; format: 'text'; pages: null; language: string };
  chunks: number;
}

/**
 * A large plain-text file, read a megabyte at a time and chunked as it goes: the chunks are handed to `emit`
 * in bounded batches (the next piece is read once `emit` resolves), so memory stays flat whatever the
 * file's size. The encoding is detected from the first megabyte, as for a file read whole; paragraphs are cut
 * at blank lines, so the chunks are the ones reading the file whole gives.
 */
export async function streamTextFile(file: string, options: ChunkOptions, emit: (chunks: ChunkDraft[]) => Promise<void>, tuning: Partial<StreamTuning> = {}): Promise<StreamedText> {
  const { readBytes: READ_BYTES, maxPendingChars, batchChunks: BATCH_CHUNKS, batchChars: BATCH_CHARS } = { ...TUNING, ...tuning };
  const fh = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(READ_BYTES);
    const first = await fh.read(buffer, 0, READ_BYTES, 0);
    const head = buffer.subarray(0, first.bytesRead);
    assertContentMatches('text', head, file);
    const decoder = streamDecoder(detectEncoding(head, file), file);

    let pending = '';
    let offset = 0;
    let title: string | null = null;
    let language: string | null = null;
    let early: Block[] = [];
    let chunker: Chunker | null = null;
    let batch: ChunkDraft[] = [];
    let batchChars = 0;
    let total = 0;

    const flushBatch = async (): Promise<void> => {
      if (!batch.length) return;
      const out = batch;
      batch = [];
      batchChars = 0;
      total += out.length;
      await emit(out);
    };
    const collect = async (): Promise<void> => {
      for (const c of chunker?.take() ?? []) {
        batch.push(c);
        batchChars += c.text.length;
        if (batch.length >= BATCH_CHUNKS || batchChars >= BATCH_CHARS) await flushBatch();
      }
    };
    const startChunker = (): void => {
      const sample = early.map((b) => (b.kind === 'table' ? b.rows.flat().join(' ') : b.text)).join('\n');
      language = detectLanguage(sample);
      chunker = new Chunker(options, language);
      for (const b of early) chunker.push(b);
      early = [];
    };
    const structure = async (text: string): Promise<void> => {
      // Blank lines are hard paragraph breaks in plain text, as when the file is read whole.
      for (const group of text.split(/\n\s*\n/)) {
        for (const block of linesToBlocks(textToLines(group))) {
          title ??= block.kind === 'heading' ? block.text : '';
          if (chunker) chunker.push(block);
          else {
            early.push(block);
            if (early.length >= LANGUAGE_SAMPLE_BLOCKS) startChunker();
          }
        }
      }
      await collect();
    };

    let bytes = head;
    for (;;) {
      pending += decoder.write(bytes, offset);
      offset += bytes.length;
      // A CR at the very end may be half of a CRLF split between reads.
      const keepCr = pending.endsWith('\r');
      let text = (keepCr ? pending.slice(0, -1) : pending).replace(/\r\n?/g, '\n');
      const cut = cutPoint(text, maxPendingChars);
      if (cut > 0) {
        await structure(text.slice(0, cut));
        text = text.slice(cut);
      }
      pending = keepCr ? `${text}\r` : text;
      if (bytes.length < READ_BYTES) break;
      const next = await fh.read(buffer, 0, READ_BYTES, offset);
      if (next.bytesRead === 0) break;
      bytes = buffer.subarray(0, next.bytesRead);
    }
    pending += decoder.end();
    await structure(pending.replace(/\r\n?/g, '\n'));
    if (!chunker) startChunker();
    for (const c of chunker!.finish()) {
      batch.push(c);
      batchChars += c.text.length;
    }
    await flushBatch();
    if (total === 0) throw new DocTuneError('EMPTY_DOCUMENT', 'no text content found', { path: file });
    return { document: { title: title || path.basename(file, path.extname(file)), format: 'text', pages: null, language: language ?? 'und' }, chunks: total };
  } finally {
    await fh.close();
  }
}

/**
 * Where the text read so far can be cut without changing how it is structured: after the last blank line
 * (a paragraph break); if there is none in a long stretch, after the last line break, or at the end.
 */
function cutPoint(text: string, maxPendingChars: number): number {
  const re = /\n[ \t\f\v]*\n/g;
  let last = -1;
  // The last paragraph break: searched from near the end first (the common case), then everywhere.
  for (const from of [Math.max(0, text.length - 65_536), 0]) {
    re.lastIndex = from;
    for (let m = re.exec(text); m; m = re.exec(text)) last = m.index + m[0].length;
    if (last >= 0 || from === 0) break;
  }
  if (last > 0) return last;
  if (text.length < maxPendingChars) return 0;
  const line = text.lastIndexOf('\n');
  return line > 0 ? line + 1 : text.length;
}

/** The encoding of the file's first megabyte (a multi-byte character cut at its end is not an error). */
function detectEncoding(head: Buffer, file: string): string {
  let firstError: unknown = null;
  for (let drop = 0; drop <= 3 && drop < head.length; drop++) {
    try {
      return decodeText(head.subarray(0, head.length - drop), file).encoding;
    } catch (err) {
      firstError ??= err;
    }
  }
  throw firstError;
}

interface StreamDecoder {
  write(bytes: Buffer, offset: number): string;
  end(): string;
}

function streamDecoder(encoding: string, file: string): StreamDecoder {
  if (encoding === 'utf-8') {
    // Strict, as for a file read whole: a broken sequence is an error, not a replacement character.
    const utf8 = new TextDecoder('utf-8', { fatal: true });
    let at = 0;
    const broken = (): DocTuneError => new DocTuneError('ENCODING', `invalid UTF-8 (broken byte sequence in the megabyte at offset ${at})`, { path: file });
    return {
      write: (bytes, offset) => {
        at = offset;
        try {
          return utf8.decode(bytes, { stream: true });
        } catch {
          throw broken();
        }
      },
      end: () => {
        try {
          return utf8.decode();
        } catch {
          throw broken();
        }
      },
    };
  }
  // UTF-16 (BOM dropped by iconv) and the legacy encodings decodeText accepts.
  const decoder = iconv.getDecoder(encoding);
  return { write: (bytes) => decoder.write(bytes), end: () => decoder.end() ?? '' };
}
