/**
 * Worker-thread entry: parse and chunk one file at a time, off the thread that serves the UI. Runs under a
 * heap cap, so a decompression bomb or a pathological PDF kills this worker, not the app.
 */
import { readFile, stat } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';
import { toWireError } from '../errors.js';
import { chunkBlocks } from './chunker.js';
import { detectLanguage } from '../text/detect-language.js';
import { minimalTextPdf as textPdf } from './minimal-pdf.js';
import { parseDocument } from './parse-document.js';
import { OcrEngine, type OcrLanguageSetting } from './ocr/ocr-engine.js';
import type { ChunkDraft, ChunkOptions } from './types.js';
import { formatFromExtension } from './detect-format.js';
import { STREAM_TEXT_BYTES, streamTextFile } from './stream-text.js';
import type { ParseAck, ParseBatch, ParseProgress, ParseRequest, ParseResponse } from './parse-protocol.js';

if (!parentPort) throw new Error('parse-worker must run in a worker thread');
const port = parentPort;

// Batches of a streamed file wait here for the caller's acknowledgement.
const acks = new Map<number, () => void>();

port.on('message', (msg: ParseRequest | ParseAck) => {
  if ('ack' in msg) {
    acks.get(msg.ack)?.();
    return;
  }
  void handle(msg).then((res) => port.postMessage(res));
});

/** Hand a batch of a streamed file over, and wait until the caller has stored it. */
function sendBatch(id: number, batch: ChunkDraft[]): Promise<void> {
  return new Promise((resolve) => {
    acks.set(id, () => {
      acks.delete(id);
      resolve();
    });
    port.postMessage({ id, batch } satisfies ParseBatch);
  });
}

// One OCR engine per language setting, kept across files (starting Tesseract costs about half a second).
const engines = new Map<OcrLanguageSetting, OcrEngine>();
function engine(setting: OcrLanguageSetting): OcrEngine {
  let e = engines.get(setting);
  if (!e) engines.set(setting, (e = new OcrEngine(setting)));
  return e;
}

const WARMUP_PDF = textPdf(['Warm-up', 'This page exists to load the PDF engine before the first real file.']);

async function handle(req: ParseRequest): Promise<ParseResponse> {
  if (req.file === null) {
    await parseDocument('warm-up.pdf', WARMUP_PDF).catch(() => undefined);
    return { id: req.id, ok: true, document: { title: '', format: 'pdf', pages: 1, language: 'en' }, chunks: [] };
  }
  try {
    if (req.stream && formatFromExtension(req.file) === 'text' && (await stat(req.file)).size >= (req.streamText?.fromBytes ?? STREAM_TEXT_BYTES)) {
      // Large plain text: read and chunked in pieces, handed over in batches, never whole in memory.
      const streamed = await streamTextFile(req.file, { targetTokens: req.targetTokens, overlapTokens: req.overlapTokens }, (batch) => sendBatch(req.id, batch), req.streamText?.batchChunks ? { batchChunks: req.streamText.batchChunks } : {});
      return { id: req.id, ok: true, document: streamed.document, chunks: [], streamed: streamed.chunks };
    }
    const bytes = await readFile(req.file);
    const ocr = req.ocr === 'off' ? undefined : {
      engine: engine(req.ocr),
      onPage: (ocrDone: number, ocrTotal: number) => port.postMessage({ id: req.id, progress: { ocrDone, ocrTotal } } satisfies ParseProgress),
    };
    const doc = await parseDocument(req.file, bytes, ocr);
    const sample = doc.blocks
      .slice(0, 200)
      .map((b) => (b.kind === 'table' ? b.rows.flat().join(' ') : b.text))
      .join('\n');
    const language = detectLanguage(sample);
    const options: ChunkOptions = { targetTokens: req.targetTokens, overlapTokens: req.overlapTokens };
    const chunks = chunkBlocks(doc.blocks, options, language);
    return { id: req.id, ok: true, document: { title: doc.title, format: doc.format, pages: doc.pages, language, ...(doc.ocrPages ? { ocrPages: doc.ocrPages } : {}) }, chunks };
  } catch (err) {
    return { id: req.id, ok: false, error: toWireError(err) };
  }
}
