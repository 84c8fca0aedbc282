/**
 * Which lines are headings: the wording (short, no closing punctuation, capitalised, between sentences),
 * what typesetting sets apart (a larger size, or a font of its own), and what only looks like a heading
 * (addresses, phone lines, dates, flowchart words).
 */
import type { Line } from './line.js';
import { hanCount } from '../text/scripts.js';

export const SENTENCE_END = /[.!?:;。！？；：”"')\]）]$/u;
export const ZH_HEADING = /^第[一二三四五六七八九十百零〇0-9]+[编章节](?:\s|$)/u;
export const NUMBERED_HEADING = /^(?:(?:chapter|section|part|appendix)\s+[0-9ivxA-Z]+\b|[0-9]+(?:\.[0-9]+)*\.?\s+\p{Lu})/iu;
export const BULLET = /^(?:[•●▪■□❑◦○·➢▸✓☑❖→➔⇨\-–—*]|\(?[0-9]{1,2}[.)]|\(?[a-zA-Z][.)]|\([ivx]+\)|[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）)\s*/u;

/**
 * Lines that look like headings by their shape but are not: addresses, phone lines, e-mail and web
 * addresses, dates, flowchart words and form fields. They would otherwise become section titles, then
 * citations and questions ("What does the guidance on "Boston, MA 02203" say?").
 */
const NOT_A_HEADING = [
  /\(\d{3}\)\s*\d{3}\s*[-–]\s*\d{4}|\b\d{3}[-–.]\d{3}[-–.]\d{4}\b|\b1-8\d\d-/u,
  /\b(?:tele)?phone\b|\bfax\b|\btty\b|\bteletypewriter\b|\be-?mail\b/iu,
  /,\s*[A-Z]{2}\.?\s+\d{5}(?:-\d{4})?$|^[A-Z][\p{L}.' -]+,\s*[A-Z]{2}$/u,
  /^\d+[\w-]*\s+(?:[\p{L}.'-]+\s+){0,5}(?:street|st\.?|avenue|ave\.?|road|rd\.?|boulevard|blvd\.?|drive|dr\.?|lane|way|place|plaza|square|mall|parkway|court|suite|room|floor)\b/iu,
  /^(?:suite|room|floor|p\.?\s?o\.?\s+box|building|bldg\.?)\s+[\w-]+$|^\d+(?:st|nd|rd|th)\s+floor$|\b(?:suite|room)\s+[A-Z]?-?\d+\b|^\d+\s+broadway\b/iu,
  /^(?:https?:\/\/|www\.)\S+$|^\S+@\S+\.\p{L}{2,}$/u,
  /^(?:(?:yes|no|stop|start|end|go|true|false|ok|n\/a|and|or)\b\s*[/,]?\s*){1,3}$/iu,
  /^(?:(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+(?:\d{1,2},\s+)?)?\d{4}(?:\s*\((?:revised|rev\.?)\))?$/iu,
];

export function isNotAHeading(line: string): boolean {
  return NOT_A_HEADING.some((re) => re.test(line.trim()));
}

/** The body text's style, and which lines a document's typesetting sets apart (larger, or another font). */
export interface DocumentStyle {
  body: number;
  bodyFont: string;
  share: Map<string, number>;
  /** Baseline to baseline within body paragraphs. */
  leading: number;
}

export function documentStyle(lines: Line[]): DocumentStyle | null {
  if (!lines.some((l) => l.size)) return null;
  const bySize = new Map<number, number>();
  const byFont = new Map<string, number>();
  let total = 0;
  for (const l of lines) {
    if (!l.size) continue;
    bySize.set(l.size, (bySize.get(l.size) ?? 0) + l.text.length);
    total += l.text.length;
  }
  const body = [...bySize].sort((a, b) => b[1] - a[1])[0]![0];
  for (const l of lines) if (l.font && l.size && Math.abs(l.size - body) <= body * 0.1) byFont.set(l.font, (byFont.get(l.font) ?? 0) + l.text.length);
  const bodyFont = [...byFont].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
  const share = new Map([...byFont].map(([f, n]) => [f, n / Math.max(1, total)]));
  const steps: number[] = [];
  for (let i = 1; i < lines.length; i++) {
    const a = lines[i - 1]!;
    const b = lines[i]!;
    if (a.page === b.page && a.size === body && b.size === body && a.y !== undefined && b.y !== undefined && a.y - b.y > 0 && a.y - b.y < body * 3) steps.push(a.y - b.y);
  }
  steps.sort((x, y) => x - y);
  const style = { body, bodyFont, share, leading: steps[Math.floor(steps.length / 2)] ?? body * 1.2 };
  // A document set in one style throughout says nothing by its style: the wording decides alone.
  return lines.some((l) => setApart(l, style)) ? style : null;
}

export function setApart(l: Line, s: DocumentStyle): boolean {
  if (!l.size) return false;
  if (l.size >= s.body * 1.12) return true;
  return Boolean(l.uniform && l.font && l.font !== s.bodyFont && (s.share.get(l.font) ?? 0) < 0.25 && l.size >= s.body * 0.95);
}

/**
 * Whether a line reads as a heading. `typeset`: the typesetting sets it apart by size, which says more
 * than the lines around it (a cover's or a leaflet's big lines follow text without closing punctuation).
 */
export function looksLikeHeading(line: string, prev: string | undefined, next: string | undefined, typeset = false): boolean {
  if (ZH_HEADING.test(line)) return true;
  if (isNotAHeading(line)) return false;
  // Two sentences are a paragraph however they are set ("Can happen anywhere. Higher risk areas are …").
  if (/\p{Ll}[.!?]\s+\p{Lu}/u.test(line)) return false;
  if (line.length > 90 || line.split(/\s+/).length > 14) return false;
  if (/[,;:、，；。！？：]$/u.test(line)) return false;
  // A run of Chinese longer than a title is running text, whatever punctuation it lacks.
  if (hanCount(line) > 40) return false;
  if (/\.$/.test(line) && !NUMBERED_HEADING.test(line)) return false;
  if (BULLET.test(line) && !NUMBERED_HEADING.test(line)) return false;
  if (!/^[\p{Lu}\p{Lo}0-9]/u.test(line)) return false;
  if (!/\p{L}{2,}/u.test(line)) return false;
  // A line ending in a function word is the first half of a wrapped sentence, not a title.
  if (/\b(?:for|of|the|and|or|to|in|a|an|with|by|on|at|from|that|is|are)$/i.test(line)) return false;
  const prevEnded = typeset || prev === undefined || SENTENCE_END.test(prev);
  const nextStarts = next === undefined || /^[\p{Lu}\p{Lo}0-9•●▪■\-–(（"“]/u.test(next);
  return prevEnded && nextStarts;
}

