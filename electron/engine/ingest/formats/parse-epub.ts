/**
 * EPUB: the package document (META-INF/container.xml → the OPF) gives the title and the reading order
 * (spine); each chapter's XHTML is read as HTML is, in that order, each chapter's own headings kept.
 */
import { DocTuneError } from '../../errors.js';
import { parseHtml } from '../parse-html.js';
import type { Block, ParsedDocument } from '../types.js';
import { elements, openPackage, resolvePart, textOf } from './office-package.js';

export async function parseEpub(buf: Buffer, file: string, fallbackTitle: string): Promise<ParsedDocument> {
  const pkg = await openPackage(buf, file, 'EPUB e-book', 'META-INF/container.xml');
  const container = await pkg.xml('META-INF/container.xml');
  const opfPath = container ? elements(container, 'rootfile')[0]?.attribs['full-path'] : undefined;
  const opf = opfPath ? await pkg.xml(opfPath) : null;
  if (!opfPath || !opf) throw new DocTuneError('PARSE_FAILED', 'not a valid EPUB e-book (no package document)', { path: file });
  const manifest = new Map(elements(opf, 'item').map((i) => [i.attribs.id ?? '', { href: i.attribs.href ?? '', type: i.attribs['media-type'] ?? '' }]));
  const spine = elements(opf, 'itemref').map((r) => manifest.get(r.attribs.idref ?? '')).filter((i): i is { href: string; type: string } => Boolean(i && /html/.test(i.type)));
  if (!spine.length) throw new DocTuneError('PARSE_FAILED', 'not a valid EPUB e-book (no chapters in its reading order)', { path: file });
  const blocks: Block[] = [];
  for (const item of spine) {
    const html = await pkg.text(resolvePart(opfPath, decodeURIComponent(item.href.split('#')[0]!)));
    if (html === null) continue; // a spine entry without its file: skipped, as readers do
    blocks.push(...parseHtml(html, '', 'html').blocks);
  }
  const title = elements(opf, 'dc:title').map(textOf).find((t) => t.trim())?.trim() ?? fallbackTitle;
  return { format: 'epub', title, pages: null, blocks };
}
