import path from 'node:path';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { DocTuneError } from '../../errors.js';
import { epub, ods, oleEncrypted, pptx, xlsx } from '../../testing/office-fixtures.js';
import { textPdf } from '../../testing/pdf-fixtures.js';
import { zipBomb } from '../../testing/zip-fixtures.js';
import { chunkBlocks } from '../chunker.js';
import { parseDocument } from '../parse-document.js';
import { DEFAULT_CHUNK_OPTIONS, type Block } from '../types.js';
import { parseCsvRows } from './parse-spreadsheet.js';

const texts = (blocks: Block[]): string[] => blocks.map((b) => (b.kind === 'table' ? b.rows.map((r) => r.join(' | ')).join(' / ') : `${b.kind === 'heading' ? '# ' : ''}${b.text}`));

const CONTACTS: (string | Date | number)[][] = [
  ['Role', 'Name', 'Phone', 'On duty since'],
  ['Duty officer', 'A. Chen', '555-0100', new Date(Date.UTC(2024, 2, 1))],
  ['Fire warden', 'B. Osei', '555-0101', new Date(Date.UTC(2023, 10, 15))],
];

describe('spreadsheets, e-books and presentations', () => {
  it('XLSX: each sheet a heading, each row "header: value" pairs, dates as dates, hidden sheets left out', async () => {
    const file = await xlsx([
      { name: 'Contacts', rows: CONTACTS },
      { name: 'Procedures', rows: [['Step', 'Action'], [1, 'Sound the alarm.'], [2, 'Leave by the nearest exit, closing doors behind you.']] },
      { name: 'Scratch', rows: [['internal'], ['not for training']], hidden: true },
    ], 'Emergency contacts and procedures');
    const doc = await parseDocument('/x/contacts.xlsx', file);
    expect(doc.format).toBe('xlsx');
    expect(doc.title).toBe('Emergency contacts and procedures');
    expect(texts(doc.blocks)).toEqual([
      '# Contacts',
      'Role: Duty officer; Name: A. Chen; Phone: 555-0100; On duty since: 2024-03-01',
      'Role: Fire warden; Name: B. Osei; Phone: 555-0101; On duty since: 2023-11-15',
      '# Procedures',
      'Step: 1; Action: Sound the alarm.',
      'Step: 2; Action: Leave by the nearest exit, closing doors behind you.',
    ]);
    // Passages carry their sheet as the heading path.
    const chunks = chunkBlocks(doc.blocks, DEFAULT_CHUNK_OPTIONS, 'en');
    expect(chunks.map((c) => c.heading)).toEqual([['Contacts'], ['Procedures']]);
  });

  it('ODS: the same, with LibreOffice\'s padding rows and columns ignored', async () => {
    const doc = await parseDocument('/x/contacts.ods', ods([{ name: 'Contacts', rows: [['Role', 'Phone', 'Since'], ['Duty officer', '555-0100', '2024-03-01']] }]));
    expect(doc.format).toBe('ods');
    expect(texts(doc.blocks)).toEqual(['# Contacts', 'Role: Duty officer; Phone: 555-0100; Since: 2024-03-01']);
  });

  it('CSV: RFC 4180 quoting, the delimiter the header uses, Chinese in GBK', async () => {
    expect(parseCsvRows('a;b\n"x; y";"say ""go""\nnow"\r\n')).toEqual([['a', 'b'], ['x; y', 'say "go"\nnow']]);
    const rows = [['岗位', '职责', '电话'], ['值班员', '接听报警电话并记录事件发生的时间和地点', '12345'], ['消防员, 一组', '负责现场灭火和人员疏散工作', '12346'], ['安全员', '检查消防设施是否完好有效', '12347'], ['医护人员', '对受伤人员进行现场急救', '12348']];
    const csv = iconv.encode(rows.map((r) => r.map((c) => (c.includes(',') ? `"${c}"` : c)).join(',')).join('\n'), 'gbk');
    const doc = await parseDocument('/x/值班表.csv', csv);
    expect(doc.format).toBe('csv');
    expect(texts(doc.blocks).slice(0, 2)).toEqual(['岗位: 值班员; 职责: 接听报警电话并记录事件发生的时间和地点; 电话: 12345', '岗位: 消防员, 一组; 职责: 负责现场灭火和人员疏散工作; 电话: 12346']);
  });

  it('EPUB: chapters in reading order, with their headings, and the book\'s title', async () => {
    const book = epub('Household Preparedness', [
      { title: 'Make a Plan', paragraphs: ['Agree on a meeting place outside your home.'] },
      { title: 'Build a Kit', paragraphs: ['Keep one gallon of water per person per day for several days.'] },
    ]);
    const doc = await parseDocument('/x/prepare.epub', book);
    expect(doc.title).toBe('Household Preparedness');
    expect(texts(doc.blocks)).toEqual(['# Make a Plan', 'Agree on a meeting place outside your home.', '# Build a Kit', 'Keep one gallon of water per person per day for several days.']);
  });

  it('PPTX: slides in presentation order, title as heading, body and speaker notes as its passage, slide number as page', async () => {
    const deck = pptx([
      { title: 'Lockout steps', body: ['Notify affected employees.', 'Shut the machine down.'], notes: 'Stress that every energy source is isolated, not only electricity.' },
      { title: 'Why it matters', body: ['Unexpected start-up injures thousands of workers a year.'] },
    ], [1, 0]);
    const doc = await parseDocument('/x/training.pptx', deck);
    expect(doc.pages).toBe(2);
    expect(doc.blocks.map((b) => [b.page, texts([b])[0]])).toEqual([
      [1, '# Why it matters'],
      [1, 'Unexpected start-up injures thousands of workers a year.'],
      [2, '# Lockout steps'],
      [2, 'Notify affected employees.'],
      [2, 'Shut the machine down.'],
      [2, 'Notes: Stress that every energy source is isolated, not only electricity.'],
    ]);
    expect(chunkBlocks(doc.blocks, DEFAULT_CHUNK_OPTIONS, 'en').map((c) => [c.page, c.heading[0]])).toEqual([[1, 'Why it matters'], [2, 'Lockout steps']]);
  });

  it('refuses each format\'s bad files with the reason: truncated, encrypted, zip bomb, wrong content', async () => {
    const fail = async (name: string, bytes: Buffer): Promise<DocTuneError> => {
      const err = await parseDocument(path.join('/x', name), bytes).catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(DocTuneError);
      return err as DocTuneError;
    };
    const good: Record<string, Buffer> = {
      'a.xlsx': await xlsx([{ name: 'S', rows: CONTACTS }]),
      'a.ods': ods([{ name: 'S', rows: [['a', 'b'], ['1', '2']] }]),
      'a.epub': epub('T', [{ title: 'C', paragraphs: ['text'] }]),
      'a.pptx': pptx([{ title: 'T', body: ['text'] }]),
    };
    for (const [name, bytes] of Object.entries(good)) {
      expect((await fail(`cut-${name}`, bytes.subarray(0, Math.floor(bytes.length * 0.6)))).message, name).toMatch(/corrupt ZIP package|truncated/);
      expect((await fail(`pdf-${name}`, textPdf(['not a spreadsheet']))).message, name).toMatch(/^not a (XLSX|ODS|EPUB|PPTX): the content is a PDF/);
    }
    for (const name of ['locked.xlsx', 'locked.pptx']) {
      const err = await fail(name, oleEncrypted());
      expect(err.code).toBe('ENCRYPTED');
      expect(err.message).toMatch(/^encrypted (Excel workbook|PowerPoint presentation) \(password-protected\)/);
    }
    for (const [name, part] of [['bomb.xlsx', 'xl/workbook.xml'], ['bomb.ods', 'content.xml'], ['bomb.epub', 'META-INF/container.xml'], ['bomb.pptx', 'ppt/presentation.xml']] as const) {
      expect((await fail(name, zipBomb(part, 300))).message, name).toMatch(/zip bomb.*expands/);
    }
    expect((await fail('no-workbook.xlsx', ods([{ name: 'S', rows: [['a']] }]))).message).toMatch(/not a valid Excel workbook \(no xl\/workbook\.xml/);
    expect((await fail('binary.csv', Buffer.from([0x00, 0x01, 0x02, 0x41, 0x2c, 0x42, 0x0a, 0x03, 0x04]))).message).toMatch(/binary data|not valid UTF-8|not a CSV/);
    expect((await fail('empty.xlsx', await xlsx([{ name: 'S', rows: [] }]))).message).toMatch(/no text content found/);
  });
});
