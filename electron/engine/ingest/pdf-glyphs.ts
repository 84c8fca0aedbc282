/**
 * Text as PDF fonts leave it, repaired before it becomes passages: symbol-font bullets arrive as private-use
 * code points (Wingdings' U+F0A7, Symbol's U+F0B7) or as control characters (a font without a Unicode map),
 * headings set with wide letter spacing arrive as "G u i d i n g", and fonts from old Mac layout tools map
 * typographic quotes to accented letters ("OSHAís", "ìlockoutî").
 */

/** Symbol and Wingdings glyphs used as bullets and markers, by their private-use code points. */
const SYMBOL_GLYPHS: Record<number, string> = {
  0xf0b7: '•', 0xf0a7: '▪', 0xf06c: '●', 0xf06e: '■', 0xf0a8: '□', 0xf071: '❑', 0xf0d8: '➢', 0xf0d7: '▸',
  0xf0fc: '✓', 0xf0fe: '☑', 0xf076: '❖', 0xf0e0: '→', 0xf0e8: '➔', 0xf0f0: '⇨', 0xf02d: '-', 0xf0b2: '•',
};

const PRIVATE_USE = /[\ue000-\uf8ff]/u;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/u;

/**
 * Private-use and control characters: known symbol glyphs become their character, any other one at the
 * start of a line becomes a bullet (that is where a font without a Unicode map puts them), elsewhere it
 * is dropped. U+FFFD (a glyph pdf.js could not map) is dropped.
 */
export function mapGlyphs(text: string, atLineStart: boolean): string {
  if (!PRIVATE_USE.test(text) && !CONTROL.test(text) && !text.includes('\ufffd')) return text;
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const leading = atLineStart && out.trim() === '';
    if (SYMBOL_GLYPHS[cp]) out += SYMBOL_GLYPHS[cp];
    else if (PRIVATE_USE.test(ch) || CONTROL.test(ch)) out += leading ? '•' : ' ';
    else if (ch !== '\ufffd') out += ch;
  }
  // A bullet glyph directly against its word: the list-item rule wants a space after it.
  return out.replace(/^(\s*[•▪●■□❑➢▸✓☑❖→➔⇨])(?=\S)/u, '$1 ');
}

/** Quotes and dashes as Mac layout fonts of the 1990s–2000s encoded them, read through a Windows encoding. */
const MAC_QUOTES: Record<string, string> = { 'ì': '“', 'î': '”', 'ë': '‘', 'í': '’', 'ñ': '–', 'ó': '—' };

/**
 * Whether a font's text shows that substitution: an apostrophe-í inside English words ("OSHAís",
 * "doesnít") or ì…î around a word, and no real accented words. Decided per font, since one document mixes
 * fonts with and without it, and Spanish text ("está", "país") must stay as it is.
 */
export function hasMacQuoteMojibake(fontText: string): boolean {
  const apostrophes = (fontText.match(/[A-Za-z]í(?:s|t|re|ll|ve|d|m)\b/gu) ?? []).length;
  const quotes = (fontText.match(/ì[A-Za-z][^ìî]{0,80}?î/gu) ?? []).length;
  // Accented letters that are not in the substitution set, or é/á that Spanish and French words carry.
  const foreign = (fontText.match(/[áéúüàèùâêôûçãõ¿¡]/giu) ?? []).length;
  return apostrophes + quotes > 0 && foreign <= (apostrophes + quotes) / 4;
}

export function fixMacQuotes(text: string): string {
  return text.replace(/[ìîëíñó]/gu, (ch) => MAC_QUOTES[ch]!);
}

/**
 * Undo letter spacing: "G u i d i n g P r i n c i p l e s" → "Guiding Principles". A run is letter-spaced
 * when it has at least four pieces and most are one or two characters; inside it the spaces are tracking,
 * and a word boundary shows as a lower-case letter followed by a capital (headings in title case), or as a
 * wider space where the PDF kept one (two spaces).
 */
export function repairLetterSpacing(text: string): string {
  if (!/(?:^|\s)\p{L}{1,2}\s\p{L}{1,2}\s\p{L}{1,2}\s\p{L}/u.test(text)) return text;
  // Letters only: "Type 5 4 3 2 1" in a table is not letter-spaced.
  return text.replace(/(?<=^|\s)(?:\p{L}{1,3} ){3,}\p{L}{1,3}(?=\s|$|[.,:;?!])/gu, (run) => {
    const pieces = run.split(' ');
    const short = pieces.filter((p) => p.length <= 2).length;
    // "a to b or c": real words of one or two letters are common in prose; require most pieces to be
    // fragments that are not words on their own.
    const words = pieces.filter((p) => /^(?:a|an|as|at|be|by|do|go|he|if|in|is|it|me|my|no|of|on|or|so|to|up|us|we|I)$/iu.test(p)).length;
    if (short / pieces.length < 0.75 || words > pieces.length / 3) return run;
    return pieces.join('').replace(/(\p{Ll})(\p{Lu})/gu, '$1 $2');
  }).replace(/ {2,}/gu, ' ');
}
