import { describe, expect, it } from 'vitest';
import { en } from '../locales/en';
import { zhCN } from '../locales/zh-CN';
import { formatDateTimeIn, placeholdersOf, translate, type Catalog } from './translate';

const catalogs: Record<string, Catalog> = { en, 'zh-CN': zhCN };

describe('locale catalogs', () => {
  it('en and zh-CN define exactly the same keys', () => {
    expect(Object.keys(zhCN).sort()).toEqual(Object.keys(en).sort());
  });

  it.each(Object.keys(en))('%s uses the same {placeholders} in every locale', (key) => {
    const expected = [...placeholdersOf(en[key as keyof typeof en])].sort();
    for (const [locale, catalog] of Object.entries(catalogs)) {
      const message = catalog[key];
      expect(message, `${locale} lacks ${key}`).toBeDefined();
      if (message === undefined) continue;
      expect([...placeholdersOf(message)].sort(), `${locale}: ${key}`).toEqual(expected);
    }
  });

  it('has no empty messages, and Chinese messages are actually Chinese', () => {
    for (const [locale, catalog] of Object.entries(catalogs)) {
      for (const [key, message] of Object.entries(catalog)) {
        const forms = typeof message === 'string' ? [message] : Object.values(message);
        for (const form of forms) expect(form.trim(), `${locale}: ${key}`).not.toBe('');
      }
    }
    // Messages made only of placeholders and punctuation are fine; any words must include Chinese ones.
    const withoutHan = Object.entries(zhCN).filter(([, message]) => {
      const text = (typeof message === 'string' ? message : message.other).replace(/\{\w+\}/g, '');
      return /\p{L}/u.test(text) && !/\p{Script=Han}/u.test(text);
    });
    expect(withoutHan.map(([key]) => key)).toEqual([]);
  });
});

describe('translate', () => {
  it('interpolates {name} params and formats numbers for the locale', () => {
    expect(translate(en, en, 'en', 'ingest.filesProcessed', { done: 3, total: 1200 })).toBe('3 of 1,200 files processed');
    expect(translate(zhCN, en, 'zh-CN', 'search.noResults', { query: '风机' })).toBe('没有找到与“风机”相关的结果。');
  });

  it('picks English plural forms by count', () => {
    expect(translate(en, en, 'en', 'count.documents', { count: 1 })).toBe('1 document');
    expect(translate(en, en, 'en', 'count.documents', { count: 0 })).toBe('0 documents');
    expect(translate(en, en, 'en', 'count.documents', { count: 2 })).toBe('2 documents');
  });

  it('uses the single Chinese form for any count', () => {
    expect(translate(zhCN, en, 'zh-CN', 'count.documents', { count: 1 })).toBe('1 个文档');
    expect(translate(zhCN, en, 'zh-CN', 'count.documents', { count: 5 })).toBe('5 个文档');
  });

  it('leaves unknown placeholders visible and falls back to English, then to the key', () => {
    expect(translate(en, en, 'en', 'chunks.page', {})).toBe('Page {page}');
    expect(translate({}, en, 'zh-CN', 'docs.title')).toBe('Documents');
    expect(translate({}, {}, 'en', 'no.such.key')).toBe('no.such.key');
  });

  it('does not treat inserted values as templates', () => {
    expect(translate(en, en, 'en', 'search.noResults', { query: '{query}' })).toBe('No results for “{query}”.');
  });
});

describe('formatDateTimeIn', () => {
  it('shows a moment as a date and time of the locale, and anything else as it is', () => {
    const iso = '2026-03-04T05:06:07.000Z';
    expect(formatDateTimeIn('en', iso)).toMatch(/2026/);
    expect(formatDateTimeIn('zh-CN', iso)).toMatch(/2026年3月/);
    expect(formatDateTimeIn('en', 'not a date')).toBe('not a date');
  });
});
