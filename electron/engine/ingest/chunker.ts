import { detectScriptLanguage } from './detect-language.js';
import { estimateTokens, splitSentences } from './text-units.js';
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
  const target = Math.max(32, options.targetTokens);
  const overlap = Math.max(0, Math.min(options.overlapTokens, Math.floor(target / 2)));
  const chunks: ChunkDraft[] = [];
  const headingStack: { level: number; text: string }[] = [];
  let units: Unit[] = [];

  const emit = (parts: Unit[]): void => {
    const text = parts.map((u) => u.text).join(parts.some((u) => u.table) ? '\n' : ' ').trim();
    if (!text) return;
    chunks.push({
      ordinal: chunks.length,
      text,
      page: parts.find((u) => u.page !== null)?.page ?? null,
      heading: headingStack.map((h) => h.text),
      // Script decides per chunk (a Chinese passage in an English manual); statistics only per document.
      language: detectScriptLanguage(text) ?? documentLanguage,
      tokens: estimateTokens(text),
      ocr: parts.some((u) => u.ocr),
    });
  };

  let current: Unit[] = [];
  let currentTokens = 0;
  const flushSection = (): void => {
    for (const unit of units) {
      if (currentTokens + unit.tokens > target && current.length > 0) {
        emit(current);
        // Carry whole trailing sentences (not tables) into the next chunk as overlap.
        const carry: Unit[] = [];
        let carried = 0;
        for (let i = current.length - 1; i >= 0; i--) {
          const u = current[i]!;
          if (u.table || carried + u.tokens > overlap) break;
          carry.unshift(u);
          carried += u.tokens;
        }
        current = unit.table ? [] : carry;
        currentTokens = unit.table ? 0 : carried;
      }
      current.push(unit);
      currentTokens += unit.tokens;
    }
    if (current.length) emit(current);
    current = [];
    currentTokens = 0;
    units = [];
  };

  for (const block of blocks) {
    if (block.kind === 'heading') {
      flushSection();
      while (headingStack.length && headingStack[headingStack.length - 1]!.level >= block.level) headingStack.pop();
      headingStack.push({ level: block.level, text: block.text });
      continue;
    }
    if (block.kind === 'table') {
      units.push(...tableUnits(block.rows, block.page, target));
      continue;
    }
    const text = block.kind === 'list-item' ? `• ${block.text}` : block.text;
    const tokens = estimateTokens(text);
    const ocr = block.kind === 'paragraph' && block.ocr === true;
    // Recognised text never shares a passage with text-layer text: the OCR mark stays exact.
    if (units.length && Boolean(units[units.length - 1]!.ocr) !== ocr) flushSection();
    if (tokens <= target) {
      units.push({ text, tokens, page: block.page, table: false, ocr });
      continue;
    }
    const language = detectScriptLanguage(text) ?? documentLanguage;
    for (const sentence of splitSentences(text, language)) {
      const s = sentence.trim();
      if (!s) continue;
      // A "sentence" longer than a chunk (no punctuation at all) is cut at word boundaries as a last resort.
      for (const piece of hardWrap(s, target)) units.push({ text: piece, tokens: estimateTokens(piece), page: block.page, table: false, ocr });
    }
  }
  flushSection();
  return chunks;
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
