import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { DocTuneError } from '../errors.js';
import { decodeText } from './decode-text.js';

const zh = '第一条 为维护社会治安秩序，保障公共安全，保护公民、法人和其他组织的合法权益，制定本法。';

describe('decodeText', () => {
  it('reads UTF-8 with and without BOM', () => {
    expect(decodeText(Buffer.from(zh), 'a.txt').encoding).toBe('utf-8');
    expect(decodeText(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(zh)]), 'a.txt').text).toBe(zh);
  });

  it('reads UTF-16 with a BOM and without one', () => {
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), iconv.encode(zh, 'utf-16le')]);
    expect(decodeText(le, 'a.txt')).toEqual({ text: zh, encoding: 'utf-16le' });
    const plain = 'Emergency response plan for the plant floor.';
    expect(decodeText(iconv.encode(plain, 'utf-16le'), 'a.txt')).toEqual({ text: plain, encoding: 'utf-16le' });
    expect(decodeText(iconv.encode(plain, 'utf-16be'), 'a.txt')).toEqual({ text: plain, encoding: 'utf-16be' });
  });

  it('detects GB18030 rather than assuming UTF-8', () => {
    const gb = iconv.encode(zh.repeat(3), 'gb18030');
    const out = decodeText(gb, 'statute.txt');
    expect(out.encoding).toBe('gb18030');
    expect(out.text).toBe(zh.repeat(3));
  });

  it('reports broken UTF-8 with the offset', () => {
    const good = Buffer.from(zh);
    const broken = Buffer.concat([good.subarray(0, 10), Buffer.from([0xe6, 0x28]), good.subarray(10)]);
    expect(() => decodeText(broken, 'bad.txt')).toThrow(DocTuneError);
    expect(() => decodeText(broken, 'bad.txt')).toThrow(/invalid UTF-8.*offset 10/);
  });
});
