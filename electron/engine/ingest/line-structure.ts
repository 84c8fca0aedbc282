import type { Block } from './types.js';

/**
 * Turn lines of extracted text (PDF pages, plain-text files) into structural blocks. There is no markup to
 * go by, so we use what typesetting leaves behind: short lines without closing punctuation between sentences
 * are headings, bullets and enumerators start list items, a line that closes a sentence and falls short of the
 * column ends a paragraph. Chinese statutes' 第…章/节 lines are headings, 第…条 lines start articles.
 */
const BULLET = /^(?:[•●▪■◦○·\-–—*]|\(?[0-9]{1,2}[.)]|\(?[a-zA-Z][.)]|\([ivx]+\)|[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）)\s*/u;
const SENTENCE_END = /[.!?:;。！？；：”"')\]）]$/u;
const ZH_HEADING = /^第[一二三四五六七八九十百零〇0-9]+[编章节](?:\s|$)/u;
const ZH_ARTICLE = /^第[一二三四五六七八九十百千零〇0-9]+条(?:\s|\u3000|$)/u;
const NUMBERED_HEADING = /^(?:(?:chapter|section|part|appendix)\s+[0-9ivxA-Z]+\b|[0-9]+(?:\.[0-9]+)*\.?\s+\p{Lu})/iu;

export interface Line {
  text: string;
  page: number | null;
}

function looksLikeHeading(line: string, prev: string | undefined, next: string | undefined): boolean {
  if (ZH_HEADING.test(line)) return true;
  if (line.length > 90 || line.split(/\s+/).length > 14) return false;
  if (/[,;:、，；。！？：]$/u.test(line)) return false;
  // A run of Chinese longer than a title is running text, whatever punctuation it lacks.
  if ((line.match(/[\u4e00-\u9fff]/gu) ?? []).length > 40) return false;
  if (/\.$/.test(line) && !NUMBERED_HEADING.test(line)) return false;
  if (BULLET.test(line) && !NUMBERED_HEADING.test(line)) return false;
  if (!/^[\p{Lu}\p{Lo}0-9]/u.test(line)) return false;
  if (!/\p{L}{2,}/u.test(line)) return false;
  // A line ending in a function word is the first half of a wrapped sentence, not a title.
  if (/\b(?:for|of|the|and|or|to|in|a|an|with|by|on|at|from|that|is|are)$/i.test(line)) return false;
  const prevEnded = prev === undefined || SENTENCE_END.test(prev);
  const nextStarts = next === undefined || /^[\p{Lu}\p{Lo}0-9•●▪■\-–(（"“]/u.test(next);
  return prevEnded && nextStarts;
}

function isPageLabel(line: string): boolean {
  return /^(?:page\s+)?(?:[0-9]{1,4}|[ivxlc]{1,6})(?:\s+of\s+[0-9]+)?$/i.test(line) || /^-\s*[0-9]{1,4}\s*-$/.test(line);
}

export function linesToBlocks(lines: Line[], headingLevel = 2): Block[] {
  const blocks: Block[] = [];
  const trimmed = lines
    .map((l) => ({ text: l.text.replace(/[\t\u00a0\u3000]+/g, ' ').replace(/ {2,}/g, ' ').trim(), page: l.page }))
    .filter((l) => l.text.length > 0 && !isPageLabel(l.text) && !/^[.·…\s]+$/.test(l.text));
  const running = runningHeaders(trimmed);
  const clean = trimmed.filter((l) => !running.has(headerKey(l.text)));
  const typical = typicalLength(clean.map((l) => l.text));

  let para: { kind: 'paragraph' | 'list-item'; parts: string[]; page: number | null } | null = null;
  const flush = (): void => {
    if (para) {
      const text = joinParts(para.parts);
      if (text) blocks.push({ kind: para.kind, text, page: para.page });
    }
    para = null;
  };

  for (let i = 0; i < clean.length; i++) {
    const { text, page } = clean[i]!;
    const prev = clean[i - 1]?.text;
    const next = clean[i + 1]?.text;
    // Table-of-contents lines ("Topic ........ 23") are navigation, not content.
    if (/\.{5,}\s*[0-9ivx]+$/i.test(text)) continue;
    if (looksLikeHeading(text, para ? prev : undefined, next)) {
      flush();
      let heading = text;
      // A heading wrapped onto a second line continues in lower case ("How can consultation assistance / help employers?").
      const cont = clean[i + 1];
      if (cont && /^\p{Ll}/u.test(cont.text) && cont.text.length < 60 && !/[.;,]$/.test(heading)) {
        heading = `${heading} ${cont.text}`;
        i++;
      }
      blocks.push({ kind: 'heading', level: ZH_HEADING.test(heading) ? 2 : headingLevel, text: heading, page });
      continue;
    }
    const startsItem = BULLET.test(text) || ZH_ARTICLE.test(text);
    if (!para || startsItem) {
      flush();
      para = { kind: startsItem && !ZH_ARTICLE.test(text) ? 'list-item' : 'paragraph', parts: [], page };
      para.parts.push(startsItem && !ZH_ARTICLE.test(text) ? text.replace(BULLET, '') : text);
    } else {
      para.parts.push(text);
    }
    const ended = SENTENCE_END.test(text) && text.length < typical * 0.8;
    if (ended) flush();
  }
  flush();
  return blocks;
}

function headerKey(text: string): string {
  return text.replace(/[0-9ivxlc]+$/i, '').replace(/^[0-9ivxlc]+\s/i, '').replace(/\s+/g, ' ').trim().toLowerCase();
}

/** Lines repeated at the top or bottom of many pages (running titles, footers) are typesetting, not text. */
function runningHeaders(lines: Line[]): Set<string> {
  const byPage = new Map<number, string[]>();
  for (const l of lines) if (l.page !== null) (byPage.get(l.page) ?? byPage.set(l.page, []).get(l.page)!).push(l.text);
  if (byPage.size < 4) return new Set();
  const counts = new Map<string, number>();
  for (const pageLines of byPage.values()) {
    const edge = new Set([...pageLines.slice(0, 2), ...pageLines.slice(-2)].map(headerKey));
    for (const k of edge) if (k.length > 3) counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const threshold = Math.max(3, byPage.size * 0.3);
  return new Set([...counts].filter(([, n]) => n >= threshold).map(([k]) => k));
}

function typicalLength(lines: string[]): number {
  if (lines.length === 0) return 80;
  const sorted = lines.map((l) => l.length).sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length * 0.75)] ?? 80;
}

/** Join wrapped lines: undo end-of-line hyphenation, no space between CJK characters. */
function joinParts(parts: string[]): string {
  let out = '';
  for (const part of parts) {
    if (!out) out = part;
    else if (/\p{L}-$/u.test(out) && /^\p{Ll}/u.test(part)) out = out.slice(0, -1) + part;
    else if (/[\u3000-\u9fff\uff00-\uffef]$/u.test(out) || /^[\u3000-\u9fff\uff00-\uffef]/u.test(part)) out += part;
    else out += ` ${part}`;
  }
  return out.trim();
}

/** Plain text: blank lines separate paragraphs; within a paragraph the same line heuristics apply. */
export function textToLines(text: string): Line[] {
  const lines: Line[] = [];
  for (const raw of text.replace(/\r\n?/g, '\n').split('\n')) lines.push({ text: raw, page: null });
  return lines;
}
