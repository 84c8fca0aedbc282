import fs from 'node:fs';
import path from 'node:path';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { corpusFile, tempDir } from '../testing/corpus.js';
import { chunkBlocks } from './chunker.js';
import { decodeText } from './decode-text.js';
import { detectLanguage } from '../text/detect-language.js';
import { parseText } from './parse-text.js';
import { streamTextFile } from './stream-text.js';
import type { ChunkDraft } from './types.js';

const OPTIONS = { targetTokens: 120, overlapTokens: 20 };

/** The file read whole, as the parser does for smaller files. */
function whole(file: string): { title: string; language: string; chunks: ChunkDraft[] } {
  const doc = parseText(decodeText(fs.readFileSync(file), file).text, path.basename(file, path.extname(file)));
  const language = detectLanguage(doc.blocks.slice(0, 200).map((b) => (b.kind === 'table' ? '' : b.text)).join('\n'));
  return { title: doc.title, language, chunks: chunkBlocks(doc.blocks, OPTIONS, language) };
}

async function streamed(file: string, tuning: Parameters<typeof streamTextFile>[3]) {
  const batches: ChunkDraft[][] = [];
  const result = await streamTextFile(file, OPTIONS, async (b) => void batches.push(b), tuning);
  return { result, batches, chunks: batches.flat() };
}

describe('reading a large text file in pieces', () => {
  const dir = tempDir('stream-text');
  // Real text: a Chinese statute and English prose, CRLF line ends, repeated to many pieces' worth.
  const statute = fs.readFileSync(corpusFile('突发事件应对法(2024-06-28).md'), 'utf8');
  const english = Array.from({ length: 60 }, (_, i) => `Section ${i + 1}\r\n\r\nEmployers shall establish a program consisting of energy control procedures, employee training and periodic inspections, to ensure that before any employee performs servicing or maintenance on a machine, the machine is isolated from its energy source and rendered inoperative.\r\nEach procedure names the machines it covers.\r\n`).join('\r\n');

  it('gives the chunks reading the file whole gives, however the pieces fall (UTF-8, CRLF, Chinese)', async () => {
    const file = path.join(dir, 'mixed.txt');
    fs.writeFileSync(file, `${english}\r\n\r\n${statute}`);
    const expected = whole(file);
    expect(expected.chunks.length).toBeGreaterThan(100);
    // Piece sizes that cut UTF-8 characters, CRLF pairs and paragraphs at every kind of place.
    for (const readBytes of [997, 4096, 65_536]) {
      const got = await streamed(file, { readBytes, batchChunks: 25 });
      expect(got.chunks).toEqual(expected.chunks);
      expect(got.result).toEqual({ document: { title: expected.title, format: 'text', pages: null, language: expected.language }, chunks: expected.chunks.length });
      expect(Math.max(...got.batches.map((b) => b.length))).toBeLessThanOrEqual(25);
    }
  });

  it('decodes GB18030 and UTF-16 as the whole-file reader does', async () => {
    for (const [name, bytes] of [['gb.txt', iconv.encode(statute, 'gb18030')], ['u16.txt', Buffer.concat([Buffer.from([0xff, 0xfe]), iconv.encode(statute, 'utf-16le')])]] as const) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, bytes);
      const got = await streamed(file, { readBytes: 1001 });
      expect(got.chunks).toEqual(whole(file).chunks);
      expect(got.chunks[0]!.text).toMatch(/突发事件/);
    }
  });

  it('bounds what it holds when the text has no blank lines: cut at line ends, every word kept', async () => {
    const file = path.join(dir, 'log.txt');
    const lines = Array.from({ length: 3000 }, (_, i) => `2026-01-01 inspection ${i} extinguisher tag signed.`);
    fs.writeFileSync(file, lines.join('\n'));
    const got = await streamed(file, { readBytes: 4096, maxPendingChars: 8192 });
    const words = (s: string) => s.split(/\s+/).filter(Boolean);
    // Overlap repeats sentences; every input sentence appears, in order.
    const text = got.chunks.map((c) => c.text).join(' ');
    for (const i of [0, 1499, 2999]) expect(text).toContain(`inspection ${i} extinguisher`);
    expect(words(got.chunks.at(-1)!.text).at(-1)).toBe('signed.');
    expect(got.chunks.every((c, i) => c.ordinal === i)).toBe(true);
  });

  it('refuses broken UTF-8 past the first megabyte, an empty file and a binary one, naming the file', async () => {
    const broken = path.join(dir, 'broken.txt');
    fs.writeFileSync(broken, Buffer.concat([Buffer.from('safe text '.repeat(300)), Buffer.from([0xe4, 0xb8]), Buffer.from(' more')]));
    await expect(streamTextFile(broken, OPTIONS, async () => undefined, { readBytes: 1024 })).rejects.toMatchObject({ code: 'ENCODING', path: broken });
    const empty = path.join(dir, 'blank.txt');
    fs.writeFileSync(empty, '\n\n   \n');
    await expect(streamTextFile(empty, OPTIONS, async () => undefined)).rejects.toMatchObject({ code: 'EMPTY_DOCUMENT', path: empty });
    const binary = path.join(dir, 'model.txt');
    fs.writeFileSync(binary, Buffer.concat([Buffer.from('GGUF'), Buffer.alloc(64)]));
    await expect(streamTextFile(binary, OPTIONS, async () => undefined)).rejects.toMatchObject({ path: binary });
  });

  it('reads the next piece only once the previous batch is taken (backpressure)', async () => {
    const file = path.join(dir, 'paced.txt');
    fs.writeFileSync(file, english.repeat(4));
    let inFlight = 0;
    let most = 0;
    await streamTextFile(file, OPTIONS, async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
    }, { readBytes: 2048, batchChunks: 3 });
    expect(most).toBe(1);
  });
});
