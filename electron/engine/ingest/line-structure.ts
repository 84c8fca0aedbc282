import type { Block } from './types.js';
import type { Line } from './line.js';
import { BULLET, documentStyle, isNotAHeading, looksLikeHeading, NUMBERED_HEADING, SENTENCE_END, setApart, ZH_HEADING } from './heading-rules.js';

/**
 * Turn lines of extracted text (PDF pages, plain-text files) into structural blocks. There is no markup to
 * go by, so we use what typesetting leaves behind: short lines without closing punctuation between sentences
 * are headings, bullets and enumerators start list items, a line that closes a sentence and falls short of the
 * column ends a paragraph. Chinese statutes' 第…章/节 lines are headings, 第…条 lines start articles.
 */
const TOC_LINE = /\.{5,}\s*[0-9ivx]+$/iu;
const ZH_ARTICLE = /^第[一二三四五六七八九十百千零〇0-9]+条(?:\s|\u3000|$)/u;

function isPageLabel(line: string): boolean {
  return /^(?:page\s+)?(?:[0-9]{1,4}|[ivxlc]{1,6})(?:\s+of\s+[0-9]+)?$/i.test(line) || /^-\s*[0-9]{1,4}\s*-$/.test(line);
}

export function linesToBlocks(lines: Line[], headingLevel = 2): Block[] {
  const blocks: Block[] = [];
  const trimmed = lines
    .map((l) => ({ ...l, text: l.text.replace(/[\t\u00a0\u3000]+/g, ' ').replace(/ {2,}/g, ' ').trim() }))
    .filter((l) => l.text.length > 0 && !isPageLabel(l.text) && !/^[.·…\s]+$/.test(l.text));
  const running = runningHeaders(trimmed);
  const kept = trimmed.filter((l) => !running.has(headerKey(l.text)) && !/^this page (?:is )?intentionally left blank\.?$/iu.test(l.text));
  const styled = documentStyle(kept);
  // Running headers and footers in the margins, set unlike the body ("1  How should I use this booklet?").
  const clean = styled ? kept.filter((l) => !(l.margin && l.size && Math.abs(l.size - styled.body) > styled.body * 0.05)) : kept;
  const style = styled && documentStyle(clean);
  const typical = typicalLength(clean.map((l) => l.text));
  // Where the typesetting speaks, body-styled lines are headings only when numbered ("2.1 Purpose").
  const styleAllows = (l: Line): boolean =>
    !style || setApart(l, style) || (NUMBERED_HEADING.test(l.text) && !/\.$/u.test(l.text)) || ZH_HEADING.test(l.text);
  /** The next line continues a set-apart heading line: same style, at the line spacing below it. */
  const continues = (a: Line, b: Line | undefined): b is Line =>
    Boolean(style && b && a.page === b.page && a.size === b.size && a.font === b.font && setApart(b, style) &&
      a.y !== undefined && b.y !== undefined && a.y - b.y > 0 && a.y - b.y <= (a.size ?? 0) * 1.6 && !isNotAHeading(b.text));

  type Para = { kind: 'paragraph' | 'list-item'; parts: string[]; page: number | null };
  // Two streams: the body, and asides (footnotes, captions: set smaller). An aside that interrupts a body
  // paragraph in reading order (a footnote between a page's last line and the next page's first) becomes
  // its own block after that paragraph instead of splitting its sentence.
  let body: Para | null = null;
  let aside: Para | null = null;
  let pending: Block[] = [];
  const toBlock = (p: Para): Block | null => {
    const text = joinParts(p.parts);
    return text ? { kind: p.kind, text, page: p.page } : null;
  };
  const closeAside = (): void => {
    const b = aside && toBlock(aside);
    if (b) pending.push(b);
    aside = null;
    if (!body) {
      blocks.push(...pending);
      pending = [];
    }
  };
  const closeBody = (): void => {
    const b = body && toBlock(body);
    if (b) blocks.push(b);
    body = null;
    blocks.push(...pending);
    pending = [];
  };
  const flush = (): void => {
    closeAside();
    closeBody();
  };
  const isAside = (l: Line, before: Line | undefined): boolean => {
    if (!style || !l.size) return false;
    if (l.size < style.body * 0.92) return true;
    // A label set apart far above the line before it on the page (a section tab the content stream puts
    // mid-paragraph) interrupts the paragraph without belonging to it.
    return Boolean(body && before && before.page === l.page && l.y !== undefined && before.y !== undefined && l.y - before.y > style.leading * 4 && setApart(l, style));
  };

  for (let i = 0; i < clean.length; i++) {
    const line = clean[i]!;
    const { text, page } = line;
    const prev = clean[i - 1]?.text;
    // Table-of-contents lines ("Topic ........ 23") are navigation, not content, and so is the first line
    // of an entry that wraps onto a dotted one.
    if (TOC_LINE.test(text) || (TOC_LINE.test(clean[i + 1]?.text ?? '') && !SENTENCE_END.test(text) && text.length < 80)) continue;
    // A heading set on several lines is judged whole ("What is the OSHA standard for / control of hazardous
    // energy sources?"): lines in its style at the line spacing, or (without typesetting) in lower case.
    let heading = text;
    let last = i;
    // A line that is no heading ("NO STOP") does not start one either, whatever follows in its style.
    if (styleAllows(line) && !isNotAHeading(text)) {
      while (!/[.;?!]$/u.test(heading) && heading.length < 160) {
        const cont = clean[last + 1];
        const wrapped = cont && !style && /^\p{Ll}/u.test(cont.text) && cont.text.length < 60 && !/[.;,]$/u.test(heading);
        if (!continues(clean[last]!, cont) && !wrapped) break;
        heading = `${heading} ${cont!.text}`;
        last++;
      }
    }
    const larger = Boolean(style && (line.size ?? 0) >= style.body * 1.12);
    // Set apart by its font alone, a heading stands clear of what follows; a bold lead-in runs on at the
    // line spacing ("Listen to EAS, NOAA Weather / Radio, or local alerting systems …").
    const after = clean[last + 1];
    const runsOn = Boolean(style && !larger && after && after.page === clean[last]!.page && clean[last]!.y !== undefined && after.y !== undefined &&
      !setApart(after, style) && clean[last]!.y! - after.y! < style.leading * 1.2);
    // Set apart by the typesetting, a line need not follow a finished sentence to be a heading.
    const typeset = Boolean(style && setApart(line, style));
    if (styleAllows(line) && !runsOn && looksLikeHeading(heading, body ? prev : undefined, clean[last + 1]?.text, typeset)) {
      flush();
      i = last;
      blocks.push({ kind: 'heading', level: ZH_HEADING.test(heading) ? 2 : headingLevel, text: heading, page });
      continue;
    }
    const startsItem = BULLET.test(text) || ZH_ARTICLE.test(text);
    const kind = startsItem && !ZH_ARTICLE.test(text) ? 'list-item' : 'paragraph';
    const ended = SENTENCE_END.test(text) && text.length < typical * 0.8;
    if (isAside(line, clean[i - 1])) {
      if (!aside || startsItem) {
        closeAside();
        // A footnote's own number opens it: the text is what matters.
        const own = text.replace(/^\d{1,3}\s+(?=[\p{Lu}“"])/u, '');
        aside = { kind, parts: [kind === 'list-item' ? own.replace(BULLET, '') : own], page };
      } else aside.parts.push(text);
      if (ended) closeAside();
      continue;
    }
    // Back in the body after an aside: the aside is done.
    if (aside) closeAside();
    if (!body || startsItem) {
      closeBody();
      body = { kind, parts: [kind === 'list-item' ? text.replace(BULLET, '') : text], page };
    } else body.parts.push(text);
    if (ended) closeBody();
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
