/**
 * pdf.js text items → lines with their type size and font, the way a reader sees the page: items on one
 * baseline form a line (pdf.js marks some ends of line inside a line), superscript footnote markers are
 * taken off the text they would glue onto ("duties.17 Core"), glyphs are repaired (pdf-glyphs.ts), and the
 * size and font that most of a line's characters have become the line's style, from which headings and
 * the title are told apart from body text.
 */
import { fixMacQuotes, hasMacQuoteMojibake, mapGlyphs, repairLetterSpacing } from './pdf-glyphs.js';
import type { Line } from './line.js';
import { hanCount } from '../text/scripts.js';

/** One pdf.js text item, in page coordinates (y up). */
export interface PdfItem {
  str: string;
  x: number;
  y: number;
  /** Type size: the text matrix's vertical scale. */
  size: number;
  width: number;
  font: string;
  eol: boolean;
}

/** pdf.js TextItem → PdfItem; null for marked-content entries and rotated text. */
export function toPdfItem(item: unknown): PdfItem | null {
  const it = item as { str?: string; transform?: number[]; width?: number; fontName?: string; hasEOL?: boolean };
  if (typeof it.str !== 'string' || !it.transform) return null;
  const [a = 0, b = 0, c = 0, d = 0, x = 0, y = 0] = it.transform;
  const size = Math.hypot(c, d) || Math.hypot(a, b);
  return { str: it.str, x, y, size, width: it.width ?? 0, font: it.fontName ?? '', eol: Boolean(it.hasEOL) };
}

/** Fonts whose quotes came through as accented letters (decided over the whole document). */
export function mojibakeFonts(pages: PdfItem[][]): Set<string> {
  const text = new Map<string, string>();
  for (const items of pages) for (const it of items) text.set(it.font, (text.get(it.font) ?? '') + it.str + ' ');
  return new Set([...text].filter(([, t]) => hasMacQuoteMojibake(t)).map(([f]) => f));
}

/** Footnote and reference markers: one to three digits (or *, †, ‡) set small and raised. */
function isSuperscriptMarker(it: PdfItem, lineSize: number, baseline: number): boolean {
  return /^\s*(?:\d{1,3}|[*†‡])\s*$/u.test(it.str) && it.size < lineSize * 0.8 && it.y > baseline + lineSize * 0.12 && it.y < baseline + lineSize * 0.7;
}

interface Building {
  parts: string[];
  baseline: number;
  size: number;
  end: number;
  broke: boolean;
  weights: Map<string, number>;
}

/** `height`: the page's height in points, for telling running headers and footers in its margins. */
export function itemsToLines(items: PdfItem[], page: number, mojibake: ReadonlySet<string>, height = 0): Line[] {
  const lines: Line[] = [];
  let cur: Building | null = null;
  const finish = (): void => {
    if (!cur) return;
    const text = cur.parts.join('');
    if (text.trim()) {
      // The style most of its characters have: a bold lead-in does not make a paragraph a heading.
      let best = '';
      let bestN = -1;
      let total = 0;
      for (const [k, n] of cur.weights) {
        total += n;
        if (n > bestN) [best, bestN] = [k, n];
      }
      const [font = '', size = '0'] = best.split('\u0000');
      const margin = height > 0 && (cur.baseline < height * 0.045 || cur.baseline > height * 0.955);
      lines.push({ text, page, size: Number(size), font, uniform: bestN >= total * 0.9, y: cur.baseline, ...(margin ? { margin } : {}) });
    }
    cur = null;
  };
  for (const raw of items) {
    if (!raw.str) {
      if (raw.eol && cur) cur.broke = true;
      continue;
    }
    const it = mojibake.has(raw.font) ? { ...raw, str: fixMacQuotes(raw.str) } : raw;
    const c: Building | null = cur;
    if (c) {
      const sameBaseline = Math.abs(it.y - c.baseline) < Math.max(c.size, it.size) * 0.35;
      const raised = isSuperscriptMarker(it, c.size, c.baseline);
      if (raised) continue;
      // The space after a raised marker sits on the marker's baseline: a space in the line, not a new line.
      if (!it.str.trim() && !sameBaseline) {
        if (!/\s$/u.test(c.parts.at(-1) ?? '')) c.parts.push(' ');
        continue;
      }
      const gap = it.x - c.end;
      // pdf.js marks an end of line at some item boundaries inside a line: the baseline decides, and a
      // wide gap on one baseline is another column or table cell.
      if (sameBaseline && gap > -c.size && gap < c.size * 1.5 && !(c.broke && gap < -c.size * 0.5)) {
        const prev = c.parts.at(-1) ?? '';
        const spaced = /\s$/u.test(prev) || /^\s/u.test(it.str);
        const str = repairLetterSpacing(mapGlyphs(it.str, false));
        c.parts.push(!spaced && gap > it.size * 0.15 ? ` ${str}` : str);
        c.end = it.x + it.width;
        c.broke = it.eol;
        c.weights.set(`${it.font}\u0000${Math.round(it.size * 2) / 2}`, (c.weights.get(`${it.font}\u0000${Math.round(it.size * 2) / 2}`) ?? 0) + it.str.trim().length);
        continue;
      }
      finish();
    }
    const str = repairLetterSpacing(mapGlyphs(it.str, true));
    cur = {
      parts: [str], baseline: it.y, size: it.size, end: it.x + it.width, broke: it.eol,
      weights: new Map([[`${it.font}\u0000${Math.round(it.size * 2) / 2}`, it.str.trim().length]]),
    };
  }
  finish();
  return lines;
}

/** A "title" that is a publication code or file name: "OSHA 3138-01R 2004", "FactSheet3", "2002 (Revised)". */
export function looksLikeCode(title: string): boolean {
  const words = title.match(/\p{L}{3,}/gu) ?? [];
  const cjk = hanCount(title);
  return cjk < 2 && words.length < 2;
}

/**
 * The first page's title as a reader sees it: the largest text there (consecutive lines of that size,
 * joined), passing over codes and dates set as large; null when nothing stands out from the body.
 */
export function titleFromFirstPage(lines: Line[], bodySize: number): string | null {
  const first = lines.filter((l) => l.page === lines[0]?.page);
  const sizes = [...new Set(first.map((l) => l.size ?? 0))].filter((s) => s >= bodySize * 1.2).sort((a, b) => b - a);
  for (const size of sizes) {
    const runs: string[][] = [];
    let run: string[] = [];
    for (const l of first) {
      if (Math.abs((l.size ?? 0) - size) < 0.6) run.push(l.text.trim());
      else if (run.length) {
        runs.push(run);
        run = [];
      }
    }
    if (run.length) runs.push(run);
    for (const r of runs) {
      const title = r.join(' ').replace(/\s+/gu, ' ').trim();
      if (title.length >= 4 && title.length <= 160 && !looksLikeCode(title)) return title;
    }
  }
  return null;
}

/** The body text's size: the size most characters of the document are set in. */
export function bodySize(lines: Line[]): number {
  const weight = new Map<number, number>();
  for (const l of lines) if (l.size) weight.set(l.size, (weight.get(l.size) ?? 0) + l.text.length);
  let best = 0;
  let bestN = -1;
  for (const [s, n] of weight) if (n > bestN) [best, bestN] = [s, n];
  return best;
}
