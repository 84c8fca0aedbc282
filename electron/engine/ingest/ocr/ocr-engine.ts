/**
 * Offline OCR for English and Simplified Chinese: tesseract.js (Tesseract's LSTM engine compiled to
 * WebAssembly, in its own worker thread) with the language data bundled as npm packages, so nothing is
 * downloaded or cached at run time. One engine per language, opened on first use and kept for the file.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { createWorker, OEM, PSM, type Worker } from 'tesseract.js';
import { DocTuneError } from '../../errors.js';

export type OcrLanguage = 'en' | 'zh';
/** What a workspace asks for: one language, or detected per page. */
export type OcrLanguageSetting = OcrLanguage | 'auto';
export const OCR_LANGUAGE_SETTINGS: readonly OcrLanguageSetting[] = ['auto', 'en', 'zh'];

const TESSERACT_CODE: Record<OcrLanguage, string> = { en: 'eng', zh: 'chi_sim' };

export interface OcrPage {
  /** Paragraphs in reading order (Tesseract's blocks), whitespace tidied; Chinese without spaces between characters. */
  paragraphs: string[];
  /** Tesseract's mean word confidence, 0–100. */
  confidence: number;
  language: OcrLanguage;
}

const require = createRequire(import.meta.url);

/** The bundled traineddata folder: the integer-quantized LSTM models (tessdata_best, int8), small and fast. */
function langPath(code: string): string {
  return path.join(path.dirname(require.resolve(`@tesseract.js-data/${code}/package.json`)), '4.0.0_best_int');
}

const CJK = '\\p{Script=Han}\\u3000-\\u303f\\uff00-\\uffef';
const SPACE_BY_CJK = new RegExp(`(?<=[${CJK}])[ \\t]+|[ \\t]+(?=[${CJK}])`, 'gu');

// Square and round bullets come out of Tesseract as a lone "m", "=", "e", "«", "©" or "°" before a capital.
const BULLET = /^(?:[m=e«©°*•■▪●○]|\u2022)\s+(?=\p{Lu})/u;

/**
 * Tesseract separates every Chinese character by a space and wraps lines as the page did: undo both; a
 * bulleted line starts a paragraph of its own, written as a list item.
 */
export function tidyOcrText(text: string): string[] {
  const paragraphs: string[][] = [];
  for (const block of text.split(/\n\s*\n/)) {
    let current: string[] = [];
    for (const raw of block.split('\n')) {
      const line = raw.replace(SPACE_BY_CJK, '').trim();
      if (!line) continue;
      if (BULLET.test(line)) {
        if (current.length) paragraphs.push(current);
        current = [line.replace(BULLET, '• ')];
      } else current.push(line);
    }
    if (current.length) paragraphs.push(current);
  }
  return paragraphs
    .map((lines) => lines.reduce((acc, line) => {
      if (!acc) return line;
      // A hyphen at a line's end joins a split word; Chinese lines join without a space.
      if (/[A-Za-z]-$/.test(acc) && /^[a-z]/.test(line)) return acc.slice(0, -1) + line;
      return new RegExp(`[${CJK}]$`, 'u').test(acc) || new RegExp(`^[${CJK}]`, 'u').test(line) ? acc + line : `${acc} ${line}`;
    }, ''))
    // Specks and pictures read as letters ("Ty", "EM a"): a paragraph needs a word of three letters or two
    // Chinese characters.
    .filter((p) => /\p{L}{3}|\p{N}{2}/u.test(p) || new RegExp(`[${CJK}]{2}`, 'u').test(p));
}

export class OcrEngine {
  private readonly workers = new Map<OcrLanguage, Promise<Worker>>();
  /** The language that last read a page well: tried first on the next page of an auto document. */
  private lastGood: OcrLanguage = 'en';

  constructor(private readonly setting: OcrLanguageSetting = 'auto') {}

  private worker(lang: OcrLanguage): Promise<Worker> {
    let w = this.workers.get(lang);
    if (!w) {
      const code = TESSERACT_CODE[lang];
      w = createWorker(code, OEM.LSTM_ONLY, { langPath: langPath(code), cacheMethod: 'none', gzip: true }).then(async (worker) => {
        // Automatic page segmentation: columns and blocks in reading order (tesseract.js defaults to one block).
        await worker.setParameters({ tessedit_pageseg_mode: PSM.AUTO });
        return worker;
      });
      this.workers.set(lang, w);
    }
    return w;
  }

  private async read(image: Buffer, lang: OcrLanguage): Promise<OcrPage> {
    const worker = await this.worker(lang);
    const { data } = await worker.recognize(image);
    return { paragraphs: tidyOcrText(data.text), confidence: data.confidence, language: lang };
  }

  /**
   * Recognise one page image (PNG, JPEG, BMP or WebP bytes). With 'auto', the language that read the last page
   * well goes first; a page it reads poorly (mean confidence under 75) is read in the other language too,
   * and the more confident reading is kept.
   */
  async recognize(image: Buffer): Promise<OcrPage> {
    if (this.setting !== 'auto') return this.read(image, this.setting);
    const first = await this.read(image, this.lastGood);
    if (first.confidence >= 75) return first;
    const second = await this.read(image, this.lastGood === 'en' ? 'zh' : 'en');
    const best = second.confidence > first.confidence ? second : first;
    this.lastGood = best.language;
    return best;
  }

  async close(): Promise<void> {
    const workers = [...this.workers.values()];
    this.workers.clear();
    await Promise.all(workers.map(async (w) => (await w.catch(() => null))?.terminate()));
  }
}

/** OCR's failures as DocTune's errors, naming the file. */
export function ocrError(err: unknown, file: string): DocTuneError {
  if (err instanceof DocTuneError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new DocTuneError('PARSE_FAILED', `OCR failed: ${message}`, { path: file, cause: err });
}
