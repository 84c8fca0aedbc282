import { Lexer, type Token, type Tokens } from 'marked';
import type { Block, ParsedDocument } from './types.js';

/** Strip inline Markdown (emphasis, code, links, images) to the text a reader sees. */
export function inlineText(md: string): string {
  return md
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]+)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .replace(/(\*\*|__)(.+?)\1/g, '$2')
    .replace(/(^|[^\w*])[*_]([^*_\n]+)[*_](?=[^\w*]|$)/g, '$1$2')
    .replace(/`([^`]+)`/g, '$1')
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .trim();
}

function collect(tokens: Token[], blocks: Block[]): void {
  for (const tok of tokens) {
    switch (tok.type) {
      case 'heading': {
        const h = tok as Tokens.Heading;
        blocks.push({ kind: 'heading', level: h.depth, text: inlineText(h.text), page: null });
        break;
      }
      case 'paragraph':
      case 'text': {
        const text = inlineText((tok as Tokens.Paragraph).text).replace(/\s*\n\s*/g, ' ');
        if (text) blocks.push({ kind: 'paragraph', text, page: null });
        break;
      }
      case 'code': {
        const text = (tok as Tokens.Code).text.trim();
        if (text) blocks.push({ kind: 'paragraph', text, page: null });
        break;
      }
      case 'list': {
        for (const item of (tok as Tokens.List).items) {
          const text = inlineText(item.text).replace(/\s*\n\s*/g, ' ');
          if (text) blocks.push({ kind: 'list-item', text, page: null });
        }
        break;
      }
      case 'table': {
        const t = tok as Tokens.Table;
        const rows = [t.header.map((c) => inlineText(c.text)), ...t.rows.map((r) => r.map((c) => inlineText(c.text)))];
        blocks.push({ kind: 'table', rows, page: null });
        break;
      }
      case 'blockquote':
        collect((tok as Tokens.Blockquote).tokens, blocks);
        break;
      default:
        // html comments, hr, space: no content for the index.
        break;
    }
  }
}

export function parseMarkdown(source: string, fallbackTitle: string): ParsedDocument {
  const blocks: Block[] = [];
  collect(new Lexer({ gfm: true }).lex(source.replace(/\r\n?/g, '\n')), blocks);
  const firstHeading = blocks.find((b) => b.kind === 'heading');
  return {
    format: 'markdown',
    title: firstHeading && firstHeading.kind === 'heading' ? firstHeading.text : fallbackTitle,
    pages: null,
    blocks,
  };
}
