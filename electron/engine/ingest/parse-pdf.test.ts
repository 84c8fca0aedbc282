import fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { corpusFile, CORPUS } from '../testing/corpus.js';
import { isNotAHeading } from './heading-rules.js';
import { assemblePdf, pdfStream } from './minimal-pdf.js';
import { parsePdf } from './parse-pdf.js';
import type { ParsedDocument } from './types.js';

const esc = (s: string): string => s.replace(/[()\\]/g, '\\$&');

/**
 * A page set as manuals are: a bold title, body text in Helvetica 10, a letter-spaced heading, a superscript
 * footnote marker with its footnote at the foot of the page, bullets from a font without a Unicode map
 * (control characters), and bold lines that only look like headings (an address, a phone line, flowchart words).
 */
function manualPage(metadataTitle?: string): Buffer {
  const ops: string[] = [];
  let y = 740;
  const line = (font: string, size: number, text: string): void => {
    ops.push(`BT /${font} ${size} Tf 72 ${y} Td (${esc(text)}) Tj ET`);
    y -= size * 1.5;
  };
  line('F2', 20, 'Safe Work Near Machines');
  line('F1', 10, 'This booklet explains how workers keep machines from starting while they are serviced.');
  ops.push(`8 Tc BT /F2 14 Tf 72 ${y} Td (Scope) Tj ET 0 Tc`);
  y -= 21;
  line('F1', 10, 'The rule covers service and maintenance of machines in general industry. Employers must train');
  ops.push(`BT /F1 10 Tf 72 ${y} Td (every worker in their duties.) Tj /F1 6 Tf 4 Ts (17) Tj 0 Ts /F1 10 Tf ( The training is repeated each year.) Tj ET`);
  y -= 15;
  // Bullets as fonts without a real Unicode map leave them: a control character, a Wingdings code point.
  ops.push(`BT /F3 10 Tf 72 ${y} Td (o) Tj /F1 10 Tf 8 0 Td (Lock the energy source.) Tj ET`);
  y -= 15;
  ops.push(`BT /F3 10 Tf 72 ${y} Td (p) Tj /F1 10 Tf 8 0 Td (Tag the lock with your name.) Tj ET`);
  y -= 15;
  line('F2', 14, 'Boston, MA 02203');
  line('F1', 10, 'JFK Federal Building, Room E340.');
  line('F2', 14, 'Voice phone: (202) 693-1999; teletypewriter');
  line('F2', 14, 'YES');
  line('F2', 14, 'NO STOP');
  line('F2', 14, 'What must workers do?');
  line('F1', 10, 'They must follow the written procedure every time.');
  ops.push('BT /F1 7 Tf 72 60 Td (17 Training records are kept for three years.) Tj ET');
  const info = metadataTitle ? [`<< /Title (${esc(metadataTitle)}) >>`] : [];
  return assemblePdf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R /F2 6 0 R /F3 7 0 R >> >> >>',
    pdfStream(ops.join('\n')),
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 8 0 R >>',
    pdfStream('/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /Bullets def 1 begincodespacerange <00> <FF> endcodespacerange 2 beginbfchar <6F> <0002> <70> <F0A7> endbfchar endcmap CMapName currentdict /CMap defineresource pop end end'),
    ...info,
  ], metadataTitle ? '/Info 9 0 R ' : '');
}

const texts = (doc: ParsedDocument): string[] => doc.blocks.map((b) => (b.kind === 'table' ? b.rows.flat().join(' ') : b.text));
const headings = (doc: ParsedDocument): string[] => doc.blocks.flatMap((b) => (b.kind === 'heading' ? [b.text] : []));
// eslint-disable-next-line no-control-regex
const ODD = /[\u0000-\u0008\u000b-\u001f\ue000-\uf8ff\ufffd]/u;

describe('PDF text cleaning', () => {
  it('maps control-character bullets, joins letter spacing, keeps footnotes out of sentences and addresses out of headings', async () => {
    const doc = await parsePdf(manualPage(), 'manual.pdf', 'manual');
    const all = texts(doc);
    expect(all.join('\n')).not.toMatch(ODD);
    expect(headings(doc)).toEqual(['Safe Work Near Machines', 'Scope', 'What must workers do?']);
    // The footnote marker does not glue onto the sentence; the footnote is a block of its own.
    expect(all.some((t) => t.includes('duties.17') || t.includes('duties. 17'))).toBe(false);
    expect(all.some((t) => t.endsWith('every worker in their duties. The training is repeated each year.'))).toBe(true);
    expect(all.at(-1)).toBe('Training records are kept for three years.');
    expect(doc.blocks.filter((b) => b.kind === 'list-item').map((b) => (b.kind === 'list-item' ? b.text : ''))).toEqual(['Lock the energy source.', 'Tag the lock with your name.']);
  });

  it('takes the title from the first page\'s largest text when the metadata title is a publication code', async () => {
    expect((await parsePdf(manualPage('OSHA 3138-01R 2004'), 'm.pdf', 'm')).title).toBe('Safe Work Near Machines');
    expect((await parsePdf(manualPage('Machine Safety for Employers'), 'm.pdf', 'm')).title).toBe('Machine Safety for Employers');
  });
});

describe('PDF text cleaning on the corpus', () => {
  const docs = new Map<string, ParsedDocument>();
  beforeAll(async () => {
    for (const f of fs.readdirSync(CORPUS).filter((f) => f.endsWith('.pdf'))) {
      docs.set(f, await parsePdf(fs.readFileSync(corpusFile(f)), f, f.replace(/\.pdf$/, '')));
    }
  }, 180_000);

  it('leaves no control, private-use or replacement characters in any passage', () => {
    for (const [f, doc] of docs) for (const t of texts(doc)) expect(ODD.test(t), `${f}: ${t.slice(0, 80)}`).toBe(false);
  });

  it('repairs the OSHA booklet\'s Mac-encoded quotes and apostrophes', () => {
    const loto = docs.get('osha3120_control_of_hazardous_energy_lockout_tagout.pdf')!;
    expect(headings(loto)).toContain('What is “lockout/tagout”?');
    expect(headings(loto)).toContain('What are OSHA’s requirements?');
    expect(texts(loto).join('\n')).not.toMatch(/OSHAís|ìlockout|doesnít/u);
  });

  it('finds the booklets\' questions and the guide\'s numbered sections as headings, and no address, phone line or flowchart word', () => {
    expect(headings(docs.get('osha3071_job_hazard_analysis.pdf')!)).toEqual(expect.arrayContaining(['What is a hazard?', 'Why is job hazard analysis important?', 'Hazard Control Measures']));
    expect(headings(docs.get('fema_nims_incident_complexity_guide.pdf')!)).toEqual(expect.arrayContaining(['2.1. Purpose', '2.2. Incident Complexity Levels']));
    for (const [f, doc] of docs) {
      for (const h of headings(doc)) {
        expect(isNotAHeading(h), `${f}: ${h}`).toBe(false);
        expect(h, f).not.toMatch(/\(\d{3}\)|\b\d{5}$|^(?:yes|no)\b/iu);
      }
    }
  });

  it('has no letter-spaced words left', () => {
    for (const [f, doc] of docs) {
      for (const t of texts(doc)) expect(t, f).not.toMatch(/(?<!\p{L})\p{L}{1,2} \p{L}{1,2} \p{L} \p{L}{1,2} \p{L}{1,2}(?!\p{L})/u);
    }
  });

  it('titles documents by their cover, not by a metadata code', () => {
    expect(docs.get('osha3071_job_hazard_analysis.pdf')!.title).toBe('Job Hazard Analysis');
    expect(docs.get('osha3120_control_of_hazardous_energy_lockout_tagout.pdf')!.title).toBe('Control of Hazardous Energy');
    for (const [f, doc] of docs) expect(doc.title, f).not.toMatch(/^OSHA\s+\d{4}/u);
  });
});
