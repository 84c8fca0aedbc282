import JSZip from 'jszip';
import mammoth from 'mammoth';
import { DocTuneError } from '../errors.js';
import { parseHtml } from './parse-html.js';
import type { ParsedDocument } from './types.js';
import { assertInflatesWithin, assertNotZipBomb } from './zip-guard.js';

/** DOCX → semantic HTML (mammoth keeps headings, lists and tables) → the same block walk as HTML. */
export async function parseDocx(buf: Buffer, file: string, fallbackTitle: string): Promise<ParsedDocument> {
  const entries = assertNotZipBomb(buf, file);
  if (!entries.some((e) => e.name === 'word/document.xml')) {
    throw new DocTuneError('PARSE_FAILED', 'not a Word document (no word/document.xml in the package)', { path: file });
  }
  await assertInflatesWithin(buf, file, entries);
  let html: string;
  let zip: JSZip;
  try {
    zip = await JSZip.loadAsync(buf);
    html = (await mammoth.convertToHtml({ buffer: buf })).value;
  } catch (err) {
    throw new DocTuneError('PARSE_FAILED', `corrupt DOCX: ${(err as Error).message}`, { path: file, cause: err });
  }
  const doc = parseHtml(html, fallbackTitle, 'docx');
  const meta = await readDocxMetadata(zip);
  return { ...doc, title: meta.title ?? doc.title, pages: meta.pages };
}

async function readDocxMetadata(zip: JSZip): Promise<{ title: string | null; pages: number | null }> {
  const app = await zip.file('docProps/app.xml')?.async('string');
  const core = await zip.file('docProps/core.xml')?.async('string');
  const pages = app ? /<Pages>(\d+)<\/Pages>/.exec(app)?.[1] : undefined;
  const title = core ? /<dc:title>([^<]+)<\/dc:title>/.exec(core)?.[1]?.trim() : undefined;
  return { title: title || null, pages: pages ? Number(pages) : null };
}
