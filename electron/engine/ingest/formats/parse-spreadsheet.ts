/**
 * Spreadsheets (XLSX, ODS, CSV): each sheet a heading, each row a passage written as "header: value" pairs,
 * the first non-empty row taken as the header. A procedures or contacts sheet then reads as sentences a
 * teacher can ask about ("Name: Duty officer; Phone: 555-0100").
 */
import { isTag, isText, type AnyNode, type Element } from 'domhandler';
import ExcelJS from 'exceljs';
import { DocTuneError } from '../../errors.js';
import { decodeText } from '../decode-text.js';
import type { Block, ParsedDocument } from '../types.js';
import { elements, openPackage } from './office-package.js';

/** Cells are trimmed and single-line; a table's header row names the columns of the rows under it. */
export function rowsToBlocks(sheet: string, rows: string[][], withHeading: boolean): Block[] {
  const filled = rows.map((r) => r.map((c) => c.replace(/\s+/g, ' ').trim())).filter((r) => r.some((c) => c));
  if (!filled.length) return [];
  const blocks: Block[] = withHeading ? [{ kind: 'heading', level: 1, text: sheet, page: null }] : [];
  const [header, ...body] = filled as [string[], ...string[][]];
  if (!body.length) {
    blocks.push({ kind: 'paragraph', text: header.filter(Boolean).join('; '), page: null });
    return blocks;
  }
  for (const row of body) {
    const pairs = row.map((value, i) => (value ? `${header[i] || `Column ${i + 1}`}: ${value}` : '')).filter(Boolean);
    if (pairs.length) blocks.push({ kind: 'paragraph', text: pairs.join('; '), page: null });
  }
  return blocks;
}

function finish(format: 'xlsx' | 'ods' | 'csv', title: string, sheets: { name: string; rows: string[][] }[], file: string): ParsedDocument {
  const blocks = sheets.flatMap((s) => rowsToBlocks(s.name, s.rows, sheets.length > 1 || format !== 'csv'));
  if (!blocks.some((b) => b.kind === 'paragraph')) throw new DocTuneError('EMPTY_DOCUMENT', 'no text content found (every sheet is empty)', { path: file });
  return { format, title, pages: null, blocks };
}

const isoDate = (d: Date): string => (d.getUTCHours() || d.getUTCMinutes() || d.getUTCSeconds() ? d.toISOString().slice(0, 16).replace('T', ' ') : d.toISOString().slice(0, 10));

function cellText(value: ExcelJS.CellValue): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return isoDate(value);
  if (typeof value !== 'object') return String(value);
  if ('richText' in value) return value.richText.map((r) => r.text).join('');
  if ('text' in value && typeof value.text === 'string') return value.text; // hyperlink
  if ('result' in value) return value.result === undefined ? '' : cellText(value.result as ExcelJS.CellValue); // formula
  if ('error' in value) return '';
  return '';
}

export async function parseXlsx(buf: Buffer, file: string, fallbackTitle: string): Promise<ParsedDocument> {
  await openPackage(buf, file, 'Excel workbook', 'xl/workbook.xml'); // bombs, encryption and truncation first
  const workbook = new ExcelJS.Workbook();
  try {
    await workbook.xlsx.load(buf as unknown as ArrayBuffer);
  } catch (err) {
    throw new DocTuneError('PARSE_FAILED', `corrupt Excel workbook: ${(err as Error).message}`, { path: file, cause: err });
  }
  const sheets = workbook.worksheets.filter((ws) => ws.state !== 'hidden' && ws.state !== 'veryHidden').map((ws) => {
    const rows: string[][] = [];
    ws.eachRow({ includeEmpty: false }, (row) => {
      const cells: string[] = [];
      row.eachCell({ includeEmpty: true }, (cell, col) => (cells[col - 1] = cellText(cell.value)));
      rows.push(Array.from(cells, (c) => c ?? ''));
    });
    return { name: ws.name, rows };
  });
  const title = workbook.title?.trim() || fallbackTitle;
  return finish('xlsx', title, sheets, file);
}

/** OpenDocument spreadsheets: content.xml's tables, repeated rows and cells expanded (within reason). */
export async function parseOds(buf: Buffer, file: string, fallbackTitle: string): Promise<ParsedDocument> {
  const pkg = await openPackage(buf, file, 'OpenDocument spreadsheet', 'content.xml');
  const content = await pkg.xml('content.xml');
  if (!content) throw new DocTuneError('PARSE_FAILED', 'not a valid OpenDocument spreadsheet (no content.xml)', { path: file });
  const sheets = elements(content, 'table:table').map((table) => {
    const rows: string[][] = [];
    for (const row of elements(table, 'table:table-row')) {
      const cells: string[] = [];
      for (const cell of row.children.filter((c): c is Element => isTag(c) && (c.name === 'table:table-cell' || c.name === 'table:covered-table-cell'))) {
        const repeat = Math.min(Number(cell.attribs['table:number-columns-repeated'] ?? 1), 256);
        const text = cell.attribs['office:date-value']?.slice(0, 10) ?? elements(cell, 'text:p').map((p) => pText(p)).join(' ');
        for (let k = 0; k < repeat; k++) cells.push(text);
      }
      while (cells.length && !cells[cells.length - 1]) cells.pop();
      // A repeated empty row is padding to the sheet's end; a repeated filled row is rare and kept once.
      rows.push(cells);
    }
    return { name: table.attribs['table:name'] ?? 'Sheet', rows };
  });
  return finish('ods', fallbackTitle, sheets, file);
}

function pText(p: Element): string {
  // <text:s text:c="3"/> is three spaces; <text:tab/> a tab; <text:line-break/> a new line.
  let out = '';
  const walk = (n: AnyNode): void => {
    if (isText(n)) out += n.data;
    else if (isTag(n)) {
      if (n.name === 'text:s') out += ' '.repeat(Number(n.attribs['text:c'] ?? 1));
      else if (n.name === 'text:tab' || n.name === 'text:line-break') out += ' ';
      else n.children.forEach(walk);
    }
  };
  p.children.forEach(walk);
  return out;
}

/** RFC 4180: quoted fields with doubled quotes and line breaks; the delimiter is the one the first line uses most. */
export function parseCsvRows(text: string): string[][] {
  const nl = text.search(/\r?\n/);
  const firstLine = nl < 0 ? text : text.slice(0, nl);
  const counts = [',', ';', '\t'].map((d) => [d, firstLine.split(d).length] as const);
  const delimiter = counts.reduce((a, b) => (b[1] > a[1] ? b : a))[0];
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === delimiter) {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

export function parseCsv(buf: Buffer, file: string, fallbackTitle: string): ParsedDocument {
  const text = decodeText(buf, file).text;
  // Control characters other than tab and line breaks do not occur in text: binary data decoded by chance.
  if ([...text.slice(0, 4096)].some((c) => { const n = c.charCodeAt(0); return n < 0x20 && n !== 9 && n !== 10 && n !== 13 && n !== 12 && n !== 11; })) {
    throw new DocTuneError('UNSUPPORTED_FORMAT', 'not a CSV file: the content is binary data', { path: file });
  }
  return finish('csv', fallbackTitle, [{ name: fallbackTitle, rows: parseCsvRows(text) }], file);
}
