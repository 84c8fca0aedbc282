import { describe, expect, it } from 'vitest';
import { chunkBlocks } from './chunker.js';
import { parseText } from './parse-text.js';

describe('parseText', () => {
  it('keeps a short Chinese paragraph as text, not a heading', () => {
    const doc = parseText('地震应急指南\n\n发生地震时，应当就近躲避在坚固的桌子下面，保护头部。\n', 'x');
    expect(doc.blocks).toEqual([
      { kind: 'heading', level: 2, text: '地震应急指南', page: null },
      { kind: 'paragraph', text: '发生地震时，应当就近躲避在坚固的桌子下面，保护头部。', page: null },
    ]);
    const chunks = chunkBlocks(doc.blocks, { targetTokens: 400, overlapTokens: 50 }, 'zh');
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.heading).toEqual(['地震应急指南']);
  });

  it('joins wrapped English lines into paragraphs and recognises headings and bullets', () => {
    const doc = parseText('Shelter in Place\nClose all windows and doors, and turn off\nventilation systems before sealing the room.\n• Bring a radio.\n• Bring water.\n', 'x');
    expect(doc.blocks).toEqual([
      { kind: 'heading', level: 2, text: 'Shelter in Place', page: null },
      { kind: 'paragraph', text: 'Close all windows and doors, and turn off ventilation systems before sealing the room.', page: null },
      { kind: 'list-item', text: 'Bring a radio.', page: null },
      { kind: 'list-item', text: 'Bring water.', page: null },
    ]);
  });
});
