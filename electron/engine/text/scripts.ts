/**
 * Writing systems, in one place: which characters are Han (Chinese), and which are CJK (Han, kana, hangul),
 * the scripts written without spaces between words, counted a character at a time.
 */

/** A Han character (Chinese, and kanji), by Unicode's own script property. */
export const HAN = /\p{Script=Han}/u;
export const HAN_GLOBAL = /\p{Script=Han}/gu;

/** Han, kana or hangul: one token and one unit of text each. */
const CJK_CLASS = '\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Hangul}';
export const CJK = new RegExp(`[${CJK_CLASS}]`, 'u');
export const CJK_GLOBAL = new RegExp(`[${CJK_CLASS}]`, 'gu');
/** Text units for overlap measures: each CJK character alone, else runs of letters and digits. */
export const TEXT_UNIT_GLOBAL = new RegExp(`[${CJK_CLASS}]|[\\p{L}\\p{N}]+`, 'gu');
export const KANA = /[\p{Script=Hiragana}\p{Script=Katakana}]/u;
export const HANGUL = /\p{Script=Hangul}/u;

export function hanCount(text: string): number {
  return (text.match(HAN_GLOBAL) ?? []).length;
}
