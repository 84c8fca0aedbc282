import { en, type MessageKey } from '../locales/en';
import { zhCN } from '../locales/zh-CN';
import { formatDateTimeIn, languageDisplayNames, numberFormatFor, translate, type Catalog, type Params } from './translate';
import { durationParts } from './duration';

export type LocaleCode = 'en' | 'zh-CN';

/**
 * The choices in the language switcher. Each language is named in itself (an autonym) on purpose: someone who
 * cannot read the current language must still be able to find their own.
 */
export const LOCALES: readonly { code: LocaleCode; name: string }[] = [
  { code: 'en', name: 'English' },
  { code: 'zh-CN', name: '中文' },
];

const CATALOGS: Record<LocaleCode, Catalog> = { en, 'zh-CN': zhCN };
const STORAGE_KEY = 'doctune.locale';

function isLocaleCode(value: unknown): value is LocaleCode {
  return value === 'en' || value === 'zh-CN';
}

function initialLocale(): LocaleCode {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (isLocaleCode(saved)) return saved;
  } catch {
    // Storage can be unavailable (privacy settings); fall through to the browser's language.
  }
  const preferred = typeof navigator === 'undefined' ? 'en' : navigator.language;
  return preferred.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}

let current = $state<LocaleCode>(initialLocale());
applyToDocument(current);

function applyToDocument(code: LocaleCode): void {
  if (typeof document !== 'undefined') document.documentElement.lang = code;
}

export function getLocale(): LocaleCode {
  return current;
}

export function setLocale(code: string): void {
  if (!isLocaleCode(code)) return;
  current = code;
  applyToDocument(code);
  try {
    localStorage.setItem(STORAGE_KEY, code);
  } catch {
    // Not persisted; the choice still holds for this session.
  }
}

/** Translate a message; reading `current` makes every template that calls it follow locale changes. */
export function t(key: MessageKey, params?: Params): string {
  return translate(CATALOGS[current], en, current, key, params);
}

export function formatNumber(value: number, maximumFractionDigits = 0): string {
  return numberFormatFor(current, { maximumFractionDigits, minimumFractionDigits: maximumFractionDigits }).format(value);
}

export function formatPercent(fraction: number, fractionDigits = 0): string {
  return numberFormatFor(current, { style: 'percent', maximumFractionDigits: fractionDigits, minimumFractionDigits: fractionDigits }).format(fraction);
}

/** A document language tag ("en", "zh") as a name in the UI language, e.g. "Chinese" / "中文". */
export function languageName(tag: string): string {
  if (!tag || tag === 'und') return t('docs.unknownLanguage');
  try {
    return languageDisplayNames(current).of(tag) ?? tag;
  } catch {
    return tag;
  }
}

/** A moment (ISO 8601) as a short date and time in the UI language; the text itself when it is not one. */
export function formatDateTime(iso: string): string {
  return formatDateTimeIn(current, iso);
}

/** A time left in the units a person reads ("3 min 20 s"). */
export function formatDuration(seconds: number): string {
  const parts = durationParts(seconds);
  if (parts.unit === 'seconds') return t('time.seconds', { s: parts.s });
  if (parts.unit === 'minutes') return t('time.minutes', { m: parts.m, s: parts.s });
  return t('time.hours', { h: parts.h, m: parts.m });
}
