import { linesToBlocks, textToLines } from './line-structure.js';
import type { Block, ParsedDocument } from './types.js';

export function parseText(text: string, fallbackTitle: string): ParsedDocument {
  // Blank lines are hard paragraph breaks in plain text: structure each paragraph group separately.
  const blocks: Block[] = [];
  for (const group of text.replace(/\r\n?/g, '\n').split(/\n\s*\n/)) {
    blocks.push(...linesToBlocks(textToLines(group)));
  }
  const first = blocks[0];
  const title = first && first.kind === 'heading' ? first.text : fallbackTitle;
  return { format: 'text', title, pages: null, blocks };
}
