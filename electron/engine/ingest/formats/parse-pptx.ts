/**
 * PowerPoint (PPTX): slides in presentation order; each slide's title a heading, its other text and its
 * speaker notes the passage under it, with the slide number as the page.
 */
import type { Document, Element } from 'domhandler';
import { DocTuneError } from '../../errors.js';
import type { Block, ParsedDocument } from '../types.js';
import { elements, openPackage, resolvePart, textOf, type Package } from './office-package.js';

async function relationships(pkg: Package, part: string): Promise<Map<string, { target: string; type: string }>> {
  const slash = part.lastIndexOf('/');
  const rels = await pkg.xml(`${part.slice(0, slash)}/_rels/${part.slice(slash + 1)}.rels`);
  const map = new Map<string, { target: string; type: string }>();
  for (const r of rels ? elements(rels, 'Relationship') : []) map.set(r.attribs.Id ?? '', { target: resolvePart(part, r.attribs.Target ?? ''), type: r.attribs.Type ?? '' });
  return map;
}

/** The paragraphs (a:p) of a shape tree, each its runs' text joined. */
function paragraphs(root: Document | Element): string[] {
  return elements(root, 'a:p').map((p) => elements(p, 'a:t').map(textOf).join('').replace(/\s+/g, ' ').trim()).filter(Boolean);
}

const isTitle = (shape: Element): boolean => elements(shape, 'p:ph').some((ph) => /^(title|ctrTitle)$/.test(ph.attribs.type ?? ''));

export async function parsePptx(buf: Buffer, file: string, fallbackTitle: string): Promise<ParsedDocument> {
  const pkg = await openPackage(buf, file, 'PowerPoint presentation', 'ppt/presentation.xml');
  const presentation = await pkg.xml('ppt/presentation.xml');
  const rels = await relationships(pkg, 'ppt/presentation.xml');
  const slides = presentation ? elements(presentation, 'p:sldId').map((s) => rels.get(s.attribs['r:id'] ?? '')?.target).filter((t): t is string => Boolean(t)) : [];
  if (!slides.length) throw new DocTuneError('EMPTY_DOCUMENT', 'the presentation has no slides', { path: file });
  const blocks: Block[] = [];
  for (const [i, part] of slides.entries()) {
    const slide = await pkg.xml(part);
    if (!slide) continue;
    const page = i + 1;
    const shapes = elements(slide, 'p:sp');
    const title = shapes.filter(isTitle).flatMap(paragraphs).join(' ');
    blocks.push({ kind: 'heading', level: 1, text: title || `Slide ${page}`, page });
    const body = shapes.filter((s) => !isTitle(s)).flatMap(paragraphs);
    // Tables on slides (a:tbl inside graphic frames) are read row by row.
    for (const tbl of elements(slide, 'a:tbl')) {
      const rows = elements(tbl, 'a:tr').map((tr) => elements(tr, 'a:tc').map((tc) => paragraphs(tc).join(' ')));
      if (rows.some((r) => r.some(Boolean))) blocks.push({ kind: 'table', rows, page });
    }
    for (const text of body) blocks.push({ kind: /^[•\-–]/.test(text) ? 'list-item' : 'paragraph', text: text.replace(/^[•\-–]\s*/, ''), page });
    const notesPart = [...(await relationships(pkg, part)).values()].find((r) => r.type.endsWith('/notesSlide'))?.target;
    const notes = notesPart ? await pkg.xml(notesPart) : null;
    if (notes) {
      // The notes page repeats the slide image and a slide number: only its body placeholder is the notes.
      const text = elements(notes, 'p:sp').filter((s) => elements(s, 'p:ph').some((ph) => ph.attribs.type === 'body')).flatMap(paragraphs).join(' ');
      if (text) blocks.push({ kind: 'paragraph', text: `Notes: ${text}`, page });
    }
  }
  const core = await pkg.xml('docProps/core.xml');
  const title = core ? elements(core, 'dc:title').map(textOf).find((t) => t.trim())?.trim() : undefined;
  return { format: 'pptx', title: title || fallbackTitle, pages: slides.length, blocks };
}
