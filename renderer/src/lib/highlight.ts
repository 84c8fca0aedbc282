export interface TextSegment {
  text: string;
  match: boolean;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Split `text` into plain and matching segments for the given query terms, case-insensitively. The result is
 * rendered as text nodes and <mark> elements, so nothing in `text` is ever interpreted as HTML. Longer terms
 * win where terms overlap ("data" vs "database"); CJK terms match anywhere since Chinese has no word breaks.
 */
export function highlightSegments(text: string, terms: readonly string[]): TextSegment[] {
  const unique = [...new Set(terms.map((term) => term.trim()).filter((term) => term.length > 0))];
  if (text === '') return [];
  if (unique.length === 0) return [{ text, match: false }];
  unique.sort((a, b) => b.length - a.length);
  const pattern = new RegExp(unique.map(escapeRegExp).join('|'), 'giu');
  const segments: TextSegment[] = [];
  let last = 0;
  for (const found of text.matchAll(pattern)) {
    const start = found.index;
    if (start > last) segments.push({ text: text.slice(last, start), match: false });
    segments.push({ text: found[0], match: true });
    last = start + found[0].length;
  }
  if (last < text.length) segments.push({ text: text.slice(last), match: false });
  return mergeAdjacent(segments);
}

/** Adjacent matches ("机器" + "学习") read better as one highlight. */
function mergeAdjacent(segments: TextSegment[]): TextSegment[] {
  const merged: TextSegment[] = [];
  for (const segment of segments) {
    const previous = merged.at(-1);
    if (previous && previous.match === segment.match) previous.text += segment.text;
    else merged.push({ ...segment });
  }
  return merged;
}

/**
 * A passage short enough for a result list, cut around the first match so the highlighted terms are visible.
 * Cuts prefer whitespace so English words stay whole; Chinese has none and is cut anywhere.
 */
export function snippetAround(text: string, terms: readonly string[], maxLength: number): string {
  if (text.length <= maxLength) return text;
  const lower = text.toLowerCase();
  const positions = terms
    .map((term) => term.trim().toLowerCase())
    .filter((term) => term.length > 0)
    .map((term) => lower.indexOf(term))
    .filter((index) => index >= 0);
  const firstMatch = positions.length > 0 ? Math.min(...positions) : 0;
  let start = Math.max(0, Math.min(firstMatch - Math.floor(maxLength / 4), text.length - maxLength));
  let end = Math.min(text.length, start + maxLength);
  if (start > 0) start = nearSpace(text, start, 1);
  if (end < text.length) end = nearSpace(text, end, -1);
  return `${start > 0 ? '…' : ''}${text.slice(start, end).trim()}${end < text.length ? '…' : ''}`;
}

/** Move `index` up to 20 characters in `direction` to the nearest whitespace, if there is one. */
function nearSpace(text: string, index: number, direction: 1 | -1): number {
  for (let step = 0; step <= 20; step++) {
    const at = index + step * direction;
    if (at <= 0 || at >= text.length) break;
    if (/\s/.test(text.charAt(at))) return at;
  }
  return index;
}

export interface RangeSegment {
  text: string;
  mark: boolean;
}

/**
 * `text` split around one character range (the cited sentence of a passage), clamped to the text. Without a
 * usable range the whole text is one plain segment. Rendered as text nodes and a <mark>, never as HTML.
 */
export function rangeSegments(text: string, range: readonly [number, number] | null): RangeSegment[] {
  if (text === '') return [];
  if (!range) return [{ text, mark: false }];
  const start = Math.max(0, Math.min(text.length, Math.floor(range[0])));
  const end = Math.max(start, Math.min(text.length, Math.floor(range[1])));
  if (end === start) return [{ text, mark: false }];
  const segments: RangeSegment[] = [];
  if (start > 0) segments.push({ text: text.slice(0, start), mark: false });
  segments.push({ text: text.slice(start, end), mark: true });
  if (end < text.length) segments.push({ text: text.slice(end), mark: false });
  return segments;
}
