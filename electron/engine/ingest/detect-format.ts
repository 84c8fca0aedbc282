import path from 'node:path';
import { DocTuneError } from '../errors.js';
import { sniffImage } from './ocr/image-kind.js';
import type { DocumentFormat } from './types.js';

const BY_EXTENSION: Record<string, DocumentFormat> = {
  '.pdf': 'pdf',
  '.docx': 'docx',
  '.html': 'html',
  '.htm': 'html',
  '.xhtml': 'html',
  '.md': 'markdown',
  '.markdown': 'markdown',
  '.txt': 'text',
  '.text': 'text',
  '.xlsx': 'xlsx',
  '.ods': 'ods',
  '.csv': 'csv',
  '.epub': 'epub',
  '.pptx': 'pptx',
  // Scans and photos of documents, read by OCR.
  '.png': 'image',
  '.jpg': 'image',
  '.jpeg': 'image',
  '.tif': 'image',
  '.tiff': 'image',
  '.webp': 'image',
  '.bmp': 'image',
};

export const SUPPORTED_EXTENSIONS = Object.keys(BY_EXTENSION);

/** Format by extension; null for files we do not import (the walker reports them as skipped). */
export function formatFromExtension(file: string): DocumentFormat | null {
  return BY_EXTENSION[path.extname(file).toLowerCase()] ?? null;
}

const SIGNATURES: { name: string; bytes: number[] }[] = [
  { name: 'a PNG image', bytes: [0x89, 0x50, 0x4e, 0x47] },
  { name: 'a JPEG image', bytes: [0xff, 0xd8, 0xff] },
  { name: 'a GIF image', bytes: [0x47, 0x49, 0x46, 0x38] },
  { name: 'a ZIP archive', bytes: [0x50, 0x4b, 0x03, 0x04] },
  { name: 'a PDF', bytes: [0x25, 0x50, 0x44, 0x46] },
  { name: 'an old Word (.doc) or other OLE file', bytes: [0xd0, 0xcf, 0x11, 0xe0] },
  { name: 'a GGUF model', bytes: [0x47, 0x47, 0x55, 0x46] },
];

function sniff(bytes: Uint8Array): string | null {
  for (const sig of SIGNATURES) {
    if (sig.bytes.every((b, i) => bytes[i] === b)) return sig.name;
  }
  return null;
}

/** Check that the content matches the extension, so a renamed file fails with a reason, not a parser trace. */
export function assertContentMatches(format: DocumentFormat, bytes: Uint8Array, file: string): void {
  if (bytes.length === 0) throw new DocTuneError('EMPTY_DOCUMENT', 'empty file (0 bytes)', { path: file });
  const actual = sniff(bytes);
  if (format === 'pdf') {
    const head = Buffer.from(bytes.subarray(0, 1024)).toString('latin1');
    if (!head.includes('%PDF-')) {
      throw new DocTuneError('UNSUPPORTED_FORMAT', `not a PDF: the content is ${actual ?? 'not PDF data'}`, { path: file });
    }
  } else if (format === 'docx' || format === 'xlsx' || format === 'ods' || format === 'epub' || format === 'pptx') {
    // Packages are ZIPs; an OLE file is a password-protected (encrypted) Office file, which its parser names.
    if (actual !== 'a ZIP archive' && !((format === 'xlsx' || format === 'pptx') && actual === 'an old Word (.doc) or other OLE file')) {
      throw new DocTuneError('UNSUPPORTED_FORMAT', `not a ${format.toUpperCase()}: the content is ${actual ?? 'not a ZIP package'}`, { path: file });
    }
  } else if (format === 'image') {
    if (!sniffImage(bytes)) {
      throw new DocTuneError('UNSUPPORTED_FORMAT', `not an image: the content is ${actual ?? 'not PNG, JPEG, WebP, BMP or TIFF data'}`, { path: file });
    }
  } else if (actual && actual !== 'a ZIP archive') {
    throw new DocTuneError('UNSUPPORTED_FORMAT', `not a ${format} file: the content is ${actual}`, { path: file });
  }
}
