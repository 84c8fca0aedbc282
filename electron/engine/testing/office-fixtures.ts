/**
 * Spreadsheets, e-books and presentations for the import tests, written the way their applications lay them
 * out (the parts DocTune reads, with their real namespaces), plus the hostile variants.
 */
import ExcelJS from 'exceljs';
import { zip } from './zip-fixtures.js';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
const b = (s: string): Buffer => Buffer.from(s, 'utf8');

/** An XLSX written by ExcelJS: sheets of rows (Dates stay dates), one sheet hidden if asked. */
export async function xlsx(sheets: { name: string; rows: (string | number | Date | null)[][]; hidden?: boolean }[], title?: string): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  if (title) wb.title = title;
  for (const s of sheets) {
    const ws = wb.addWorksheet(s.name, s.hidden ? { state: 'hidden' } : {});
    for (const r of s.rows) ws.addRow(r);
  }
  return Buffer.from(await wb.xlsx.writeBuffer());
}

export function ods(tables: { name: string; rows: string[][] }[]): Buffer {
  const body = tables.map((t) => `<table:table table:name="${esc(t.name)}">${t.rows.map((r) => `<table:table-row>${r.map((c) => (/^\d{4}-\d{2}-\d{2}$/.test(c) ? `<table:table-cell office:value-type="date" office:date-value="${c}"><text:p>${c}</text:p></table:table-cell>` : `<table:table-cell office:value-type="string"><text:p>${esc(c)}</text:p></table:table-cell>`)).join('')}</table:table-row>`).join('')}<table:table-row table:number-rows-repeated="1048000"><table:table-cell table:number-columns-repeated="1024"/></table:table-row></table:table>`).join('');
  return zip([
    { name: 'mimetype', data: b('application/vnd.oasis.opendocument.spreadsheet') },
    { name: 'META-INF/manifest.xml', data: b('<?xml version="1.0"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>') },
    { name: 'content.xml', data: b(`<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet>${body}</office:spreadsheet></office:body></office:document-content>`) },
  ]);
}

export function epub(title: string, chapters: { title: string; paragraphs: string[] }[]): Buffer {
  const items = chapters.map((_, i) => `<item id="c${i + 1}" href="text/chapter${i + 1}.xhtml" media-type="application/xhtml+xml"/>`).join('');
  const spine = chapters.map((_, i) => `<itemref idref="c${i + 1}"/>`).join('');
  return zip([
    { name: 'mimetype', data: b('application/epub+zip') },
    { name: 'META-INF/container.xml', data: b('<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>') },
    { name: 'OEBPS/content.opf', data: b(`<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>${esc(title)}</dc:title></metadata><manifest><item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>${items}</manifest><spine>${spine}</spine></package>`) },
    ...chapters.map((c, i) => ({ name: `OEBPS/text/chapter${i + 1}.xhtml`, data: b(`<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>${esc(c.title)}</title></head><body><h1>${esc(c.title)}</h1>${c.paragraphs.map((p) => `<p>${esc(p)}</p>`).join('')}</body></html>`) })),
  ]);
}

const P = 'xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"';
const REL = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
const shape = (text: string[], ph?: string): string => `<p:sp><p:nvSpPr><p:cNvPr id="2" name="s"/><p:cNvSpPr/><p:nvPr>${ph ? `<p:ph type="${ph}"/>` : ''}</p:nvPr></p:nvSpPr><p:txBody>${text.map((t) => `<a:p><a:r><a:t>${esc(t)}</a:t></a:r></a:p>`).join('')}</p:txBody></p:sp>`;

/** A PPTX; slides listed in `order` (a permutation of their files) to check presentation order is followed. */
export function pptx(slides: { title: string; body: string[]; notes?: string }[], order = slides.map((_, i) => i)): Buffer {
  const entries = [
    { name: '[Content_Types].xml', data: b('<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>') },
    { name: 'ppt/presentation.xml', data: b(`<?xml version="1.0"?><p:presentation ${P}><p:sldIdLst>${order.map((k, i) => `<p:sldId id="${256 + i}" r:id="rId${k + 1}"/>`).join('')}</p:sldIdLst></p:presentation>`) },
    { name: 'ppt/_rels/presentation.xml.rels', data: b(`<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${slides.map((_, i) => `<Relationship Id="rId${i + 1}" Type="${REL}/slide" Target="slides/slide${i + 1}.xml"/>`).join('')}</Relationships>`) },
  ];
  slides.forEach((s, i) => {
    entries.push({ name: `ppt/slides/slide${i + 1}.xml`, data: b(`<?xml version="1.0"?><p:sld ${P}><p:cSld><p:spTree>${shape([s.title], 'title')}${shape(s.body)}</p:spTree></p:cSld></p:sld>`) });
    if (s.notes) {
      entries.push({ name: `ppt/slides/_rels/slide${i + 1}.xml.rels`, data: b(`<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId9" Type="${REL}/notesSlide" Target="../notesSlides/notesSlide${i + 1}.xml"/></Relationships>`) });
      entries.push({ name: `ppt/notesSlides/notesSlide${i + 1}.xml`, data: b(`<?xml version="1.0"?><p:notes ${P}><p:cSld><p:spTree>${shape(['1'], 'sldNum')}${shape([s.notes], 'body')}</p:spTree></p:cSld></p:notes>`) });
    }
  });
  return zip(entries);
}

/** What a password-protected Office file starts with: an OLE compound file header (the package is inside, encrypted). */
export function oleEncrypted(): Buffer {
  const head = Buffer.alloc(1024);
  Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]).copy(head);
  return head;
}
