import { detectScriptLanguage } from '../text/detect-language.js';
import { estimateTokens, splitSentences } from '../text/text-units.js';
import type { Block, ChunkDraft, ChunkOptions } from './types.js';

/**
 * Structure-aware chunking. Each chunk stays inside one section and carries that section's heading path;
 * paragraphs and list items are kept whole when they fit and otherwise split at sentence boundaries (。！？；
 * for Chinese); tables are kept whole when they fit a chunk and otherwise split by rows with the header
 * row repeated; consecutive chunks of one section overlap by about `overlapTokens` of whole sentences.
 */
interface Unit {
  text: string;
  tokens: number;
  page: number | null;
  /** Tables are glued with newlines and never share a chunk with an overlap tail. */
  table: boolean;
  ocr?: boolean;
}

export function chunkBlocks(blocks: Block[], options: ChunkOptions, documentLanguage: string): ChunkDraft[] {
  const chunker = new Chunker(options, documentLanguage);
  for (const block of blocks) chunker.push(block);
  return chunker.finish();
}

/**
 * The chunker fed one block at a time: finished chunks can be taken as it goes, so a file far larger than
 * memory is chunked in bounded pieces (a streamed text file) with the same result as all at once.
 */
export class Chunker {
  private readonly target: number;
  private readonly overlap: number;
  private readonly headingStack: { level: number; text: string }[] = [];
  private done: ChunkDraft[] = [];
  private ordinal = 0;
  private current: Unit[] = [];
  private currentTokens = 0;

  constructor(options: ChunkOptions, private readonly documentLanguage: string) {
    this.target = Math.max(32, options.targetTokens);
    this.overlap = Math.max(0, Math.min(options.overlapTokens, Math.floor(this.target / 2)));
  }

  push(block: Block): void {
    if (block.kind === 'heading') {
      this.flushSection();
      const stack = this.headingStack;
      while (stack.length && stack[stack.length - 1]!.level >= block.level) stack.pop();
      stack.push({ level: block.level, text: block.text });
      return;
    }
    if (block.kind === 'table') {
      for (const unit of tableUnits(block.rows, block.page, this.target)) this.add(unit);
      return;
    }
    const text = block.kind === 'list-item' ? `• ${block.text}` : block.text;
    const tokens = estimateTokens(text);
    const ocr = block.kind === 'paragraph' && block.ocr === true;
    // Recognised text never shares a passage with text-layer text: the OCR mark stays exact.
    const last = this.current[this.current.length - 1];
    if (last && Boolean(last.ocr) !== ocr) this.flushSection();
    if (tokens <= this.target) {
      this.add({ text, tokens, page: block.page, table: false, ocr });
      return;
    }
    const language = detectScriptLanguage(text) ?? this.documentLanguage;
    for (const sentence of splitSentences(text, language)) {
      const s = sentence.trim();
      if (!s) continue;
      // A "sentence" longer than a chunk (no punctuation at all) is cut at word boundaries as a last resort.
      for (const piece of hardWrap(s, this.target)) this.add({ text: piece, tokens: estimateTokens(piece), page: block.page, table: false, ocr });
    }
  }

  /** The chunks finished so far (each handed out once). */
  take(): ChunkDraft[] {
    const out = this.done;
    this.done = [];
    return out;
  }

  /** The last chunks, once every block has been pushed. */
  finish(): ChunkDraft[] {
    this.flushSection();
    return this.take();
  }

  private add(unit: Unit): void {
    if (this.currentTokens + unit.tokens > this.target && this.current.length > 0) {
      this.emit(this.current);
      // Carry whole trailing sentences (not tables) into the next chunk as overlap.
      const carry: Unit[] = [];
      let carried = 0;
      for (let i = this.current.length - 1; i >= 0; i--) {
        const u = this.current[i]!;
        if (u.table || carried + u.tokens > this.overlap) break;
        carry.unshift(u);
        carried += u.tokens;
      }
      this.current = unit.table ? [] : carry;
      this.currentTokens = unit.table ? 0 : carried;
    }
    this.current.push(unit);
    this.currentTokens += unit.tokens;
  }

  private flushSection(): void {
    if (this.current.length) this.emit(this.current);
    this.current = [];
    this.currentTokens = 0;
  }

  private emit(parts: Unit[]): void {
    const text = parts.map((u) => u.text).join(parts.some((u) => u.table) ? '\n' : ' ').trim();
    if (!text) return;
    this.done.push({
      ordinal: this.ordinal++,
      text,
      page: parts.find((u) => u.page !== null)?.page ?? null,
      heading: this.headingStack.map((h) => h.text),
      // Script decides per chunk (a Chinese passage in an English manual); statistics only per document.
      language: detectScriptLanguage(text) ?? this.documentLanguage,
      tokens: estimateTokens(text),
      ocr: parts.some((u) => u.ocr),
    });
  }
}

function tableUnits(rows: string[][], page: number | null, target: number): Unit[] {
  const lines = rows.map((r) => r.map((c) => c.replace(/\|/g, '/')).join(' | '));
  const whole = lines.join('\n');
  const wholeTokens = estimateTokens(whole);
  if (wholeTokens <= target) return [{ text: whole, tokens: wholeTokens, page, table: true }];
  const header = lines[0] ?? '';
  const headerTokens = estimateTokens(header);
  const units: Unit[] = [];
  let part: string[] = [header];
  let partTokens = headerTokens;
  for (const line of lines.slice(1)) {
    const t = estimateTokens(line);
    if (partTokens + t > target && part.length > 1) {
      units.push({ text: part.join('\n'), tokens: partTokens, page, table: true });
      part = [header];
      partTokens = headerTokens;
    }
    part.push(line);
    partTokens += t;
  }
  if (part.length > 1) units.push({ text: part.join('\n'), tokens: partTokens, page, table: true });
  return units;
}

function hardWrap(text: string, target: number): string[] {
  if (estimateTokens(text) <= target) return [text];
  const out: string[] = [];
  const cjk = /[\u3400-\u9fff]/u.test(text);
  const pieces = cjk ? [...text] : text.split(/(\s+)/);
  let buf = '';
  for (const p of pieces) {
    if (buf && estimateTokens(buf + p) > target) {
      out.push(buf.trim());
      buf = '';
    }
    buf += p;
  }
  if (buf.trim()) out.push(buf.trim());
  return out;
}
