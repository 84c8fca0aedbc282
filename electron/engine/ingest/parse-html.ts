import { parseDocument } from 'htmlparser2';
import { isTag, isText, type AnyNode, type Element } from 'domhandler';
import type { Block, ParsedDocument } from './types.js';

const SKIP = new Set(['script', 'style', 'noscript', 'template', 'head', 'nav', 'svg', 'iframe', 'object', 'button', 'select']);
const HEADING = /^h([1-6])$/;
const BLOCK_TEXT = new Set(['p', 'pre', 'blockquote', 'dd', 'dt', 'figcaption', 'caption', 'address', 'summary']);

function textOf(node: AnyNode): string {
  if (isText(node)) return node.data;
  if (!isTag(node) || SKIP.has(node.name)) return '';
  if (node.name === 'br') return '\n';
  const inner = node.children.map(textOf).join('');
  return node.name === 'p' || node.name === 'div' || node.name === 'li' ? `${inner}\n` : inner;
}

function clean(text: string): string {
  return text
    .split('\n')
    .map((l) => l.replace(/[\s\u00a0]+/g, ' ').trim())
    .filter((l) => l.length > 0)
    .join('\n');
}

function tableRows(table: Element): string[][] {
  const rows: string[][] = [];
  const visit = (node: AnyNode): void => {
    if (!isTag(node)) return;
    if (node.name === 'table' && node !== table) return; // nested tables become their own cells' text
    if (node.name === 'tr') {
      const cells = node.children.filter((c): c is Element => isTag(c) && (c.name === 'td' || c.name === 'th'));
      const row = cells.map((c) => clean(textOf(c)).replace(/\n/g, ' '));
      if (row.some((c) => c.length > 0)) rows.push(row);
      return;
    }
    node.children.forEach(visit);
  };
  table.children.forEach(visit);
  return rows;
}

/** Walk the DOM into structural blocks: headings, paragraphs, list items and whole tables. */
function walk(node: AnyNode, blocks: Block[]): void {
  if (isText(node)) {
    const text = clean(node.data);
    if (text) blocks.push({ kind: 'paragraph', text, page: null });
    return;
  }
  if (!isTag(node) || SKIP.has(node.name)) return;
  const heading = HEADING.exec(node.name);
  if (heading) {
    const text = clean(textOf(node)).replace(/\n/g, ' ');
    if (text) blocks.push({ kind: 'heading', level: Number(heading[1]), text, page: null });
    return;
  }
  if (node.name === 'table') {
    const rows = tableRows(node);
    if (rows.length) blocks.push({ kind: 'table', rows, page: null });
    return;
  }
  if (node.name === 'li') {
    const nested = node.children.filter((c) => isTag(c) && (c.name === 'ul' || c.name === 'ol'));
    const own = node.children.filter((c) => !nested.includes(c));
    const text = clean(own.map(textOf).join('')).replace(/\n/g, ' ');
    if (text) blocks.push({ kind: 'list-item', text, page: null });
    nested.forEach((c) => walk(c, blocks));
    return;
  }
  if (BLOCK_TEXT.has(node.name)) {
    for (const para of clean(textOf(node)).split('\n')) if (para) blocks.push({ kind: 'paragraph', text: para, page: null });
    return;
  }
  node.children.forEach((c) => walk(c, blocks));
}

export function parseHtml(html: string, fallbackTitle: string, format: 'html' | 'docx' = 'html'): ParsedDocument {
  const dom = parseDocument(html, { decodeEntities: true });
  const blocks: Block[] = [];
  let title = '';
  const findTitle = (n: AnyNode): void => {
    if (title || !isTag(n)) return;
    if (n.name === 'title') title = clean(textOf(n)).replace(/\n/g, ' ');
    else n.children.forEach(findTitle);
  };
  dom.children.forEach(findTitle);
  dom.children.forEach((c) => walk(c, blocks));
  const h1 = blocks.find((b) => b.kind === 'heading');
  return {
    format,
    title: title || (h1 && h1.kind === 'heading' ? h1.text : fallbackTitle),
    pages: null,
    blocks,
  };
}
