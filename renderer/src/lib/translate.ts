/**
 * The pure part of i18n: message lookup, plural selection and `{name}` interpolation. Kept free of runes so
 * it can be unit-tested without the Svelte compiler.
 */

/** A message is either one string, or plural forms picked by `Intl.PluralRules` on the `count` param. */
export type PluralForms = Partial<Record<Intl.LDMLPluralRule, string>> & { other: string };
export type Message = string | PluralForms;
export type Catalog = Record<string, Message>;
export type Params = Record<string, string | number>;

const PLACEHOLDER = /\{(\w+)\}/g;

/** The `{name}` placeholders a message uses, across all its plural forms. */
export function placeholdersOf(message: Message): Set<string> {
  const forms = typeof message === 'string' ? [message] : Object.values(message);
  const names = new Set<string>();
  for (const form of forms) for (const match of form.matchAll(PLACEHOLDER)) names.add(match[1] ?? '');
  return names;
}

export function interpolate(template: string, params: Params | undefined, formatNumber: (n: number) => string): string {
  if (!params) return template;
  return template.replace(PLACEHOLDER, (whole, name: string) => {
    const value = params[name];
    if (value === undefined) return whole;
    return typeof value === 'number' ? formatNumber(value) : value;
  });
}

const pluralRulesCache = new Map<string, Intl.PluralRules>();

function pluralForm(forms: PluralForms, locale: string, count: number): string {
  // Explicit zero reads better than "0 documents" in some places; use it when a catalog provides it.
  if (count === 0 && forms.zero !== undefined) return forms.zero;
  let rules = pluralRulesCache.get(locale);
  if (!rules) {
    rules = new Intl.PluralRules(locale);
    pluralRulesCache.set(locale, rules);
  }
  return forms[rules.select(count)] ?? forms.other;
}

/**
 * Translate `key` in `catalog`; falls back to `fallback` (the English catalog) and finally to the key itself,
 * so a missing string is visible rather than blank.
 */
export function translate(catalog: Catalog, fallback: Catalog, locale: string, key: string, params?: Params): string {
  const message = catalog[key] ?? fallback[key];
  if (message === undefined) return key;
  const numberFormat = numberFormatFor(locale);
  const template =
    typeof message === 'string' ? message : pluralForm(message, locale, typeof params?.count === 'number' ? params.count : 0);
  return interpolate(template, params, (n) => numberFormat.format(n));
}

const numberFormatCache = new Map<string, Intl.NumberFormat>();

/** Intl.NumberFormat is costly to build and is used for every number in every row: keep one per setting. */
export function numberFormatFor(locale: string, options: Intl.NumberFormatOptions = { maximumFractionDigits: 3 }): Intl.NumberFormat {
  const key = `${locale}|${JSON.stringify(options)}`;
  let format = numberFormatCache.get(key);
  if (!format) {
    format = new Intl.NumberFormat(locale, options);
    numberFormatCache.set(key, format);
  }
  return format;
}

const displayNamesCache = new Map<string, Intl.DisplayNames>();

export function languageDisplayNames(locale: string): Intl.DisplayNames {
  let names = displayNamesCache.get(locale);
  if (!names) {
    names = new Intl.DisplayNames([locale], { type: 'language' });
    displayNamesCache.set(locale, names);
  }
  return names;
}

const dateTimeFormatCache = new Map<string, Intl.DateTimeFormat>();

/** A moment (ISO 8601) as a short date and time for the locale; the text itself when it is not one. */
export function formatDateTimeIn(locale: string, iso: string): string {
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return iso;
  let format = dateTimeFormatCache.get(locale);
  if (!format) {
    format = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' });
    dateTimeFormatCache.set(locale, format);
  }
  return format.format(time);
}
