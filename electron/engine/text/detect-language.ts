import { francAll } from 'franc-min';
import { isCjkChar } from './text-units.js';
import { HANGUL, KANA } from './scripts.js';

const ISO3_TO_1: Record<string, string> = {
  eng: 'en', cmn: 'zh', spa: 'es', fra: 'fr', deu: 'de', por: 'pt', ita: 'it', rus: 'ru', jpn: 'ja', kor: 'ko',
  arb: 'ar', hin: 'hi', nld: 'nl', pol: 'pl', tur: 'tr', vie: 'vi', ind: 'id', ukr: 'uk', swe: 'sv',
};

/** Chinese, Japanese or Korean when the script says so; null when only statistics could tell. */
export function detectScriptLanguage(text: string): string | null {
  const lang = scriptLanguage(text.slice(0, 2000));
  return lang === 'latin' || lang === 'und' ? null : lang;
}

function scriptLanguage(sample: string): string {
  let letters = 0;
  let han = 0;
  let kana = 0;
  let hangul = 0;
  for (const ch of sample) {
    if (/\p{L}/u.test(ch)) letters++;
    if (isCjkChar(ch)) {
      if (KANA.test(ch)) kana++;
      else if (HANGUL.test(ch)) hangul++;
      else han++;
    }
  }
  if (letters === 0) return 'und';
  if (kana > 0 && kana + han > letters * 0.3) return 'ja';
  if (hangul > letters * 0.3) return 'ko';
  if (han > letters * 0.3) return 'zh';
  return 'latin';
}

/**
 * Language of a text as a BCP-47 primary tag. Han script decides Chinese outright (franc needs long
 * samples and confuses short CJK strings); otherwise trigram statistics, English for short or unknown text.
 */
export function detectLanguage(text: string): string {
  const sample = text.slice(0, 4000);
  const script = scriptLanguage(sample);
  if (script !== 'latin') return script;
  if (sample.length < 40) return 'en';
  const best = francAll(sample, { minLength: 10 })[0];
  if (!best || best[0] === 'und') return 'en';
  return ISO3_TO_1[best[0]] ?? best[0];
}
