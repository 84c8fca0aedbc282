import iconv from 'iconv-lite';
import jschardet from 'jschardet';
import { DocTuneError } from '../errors.js';

export interface DecodedText {
  text: string;
  encoding: string;
}

/** Encodings we accept from statistical detection; anything else is too likely a misdetection. */
const LEGACY_ENCODINGS: Record<string, string> = {
  GB2312: 'gb18030',
  GB18030: 'gb18030',
  GBK: 'gb18030',
  Big5: 'big5',
  'EUC-JP': 'euc-jp',
  SHIFT_JIS: 'shift_jis',
  'EUC-KR': 'euc-kr',
  'windows-1252': 'windows-1252',
  'ISO-8859-1': 'windows-1252',
  'windows-1251': 'windows-1251',
};

/**
 * Decode a text file without assuming its encoding: BOMs first, then strict UTF-8, then UTF-16 without BOM
 * (by its NUL pattern), then statistical detection of legacy encodings (GB18030 and friends). A file that is
 * mostly valid UTF-8 with broken sequences is reported as invalid UTF-8 rather than misread as Latin-1.
 */
export function decodeText(bytes: Uint8Array, path: string): DecodedText {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
    return { text: strictUtf8(buf.subarray(3), path), encoding: 'utf-8' };
  }
  if (buf.length >= 2 && buf[0] === 0xff && buf[1] === 0xfe) return { text: iconv.decode(buf.subarray(2), 'utf-16le'), encoding: 'utf-16le' };
  if (buf.length >= 2 && buf[0] === 0xfe && buf[1] === 0xff) return { text: iconv.decode(buf.subarray(2), 'utf-16be'), encoding: 'utf-16be' };

  const utf16 = guessBomlessUtf16(buf);
  if (utf16) return { text: iconv.decode(buf, utf16), encoding: utf16 };

  const scan = scanUtf8(buf);
  if (scan.firstInvalid < 0) return { text: buf.toString('utf8'), encoding: 'utf-8' };
  if (scan.validMultibyte > 0 && scan.validMultibyte >= scan.invalid) {
    throw new DocTuneError('ENCODING', `invalid UTF-8 (broken byte sequence at offset ${scan.firstInvalid})`, { path });
  }
  if (buf.includes(0)) throw new DocTuneError('UNSUPPORTED_FORMAT', 'binary data, not text', { path });

  const guess = jschardet.detect(buf, { minimumThreshold: 0 });
  const encoding = guess.encoding ? LEGACY_ENCODINGS[guess.encoding] : undefined;
  // Short Chinese files (a CSV of names and duties) get low statistical confidence; GB18030 is accepted
  // then only if it decodes cleanly into Chinese text.
  if (encoding === 'gb18030' && guess.confidence >= 0.2 && guess.confidence < 0.5 && readsAsChinese(iconv.decode(buf, encoding))) {
    return { text: iconv.decode(buf, encoding), encoding };
  }
  if (!encoding || guess.confidence < 0.5) {
    throw new DocTuneError(
      'ENCODING',
      `not valid UTF-8 and no other encoding recognised (broken byte at offset ${scan.firstInvalid})`,
      { path },
    );
  }
  return { text: iconv.decode(buf, encoding), encoding };
}

/** No replacement characters, and nine in ten non-ASCII characters are Han or CJK punctuation. */
function readsAsChinese(text: string): boolean {
  if (text.includes('\ufffd')) return false;
  const wide = [...text].filter((c) => c.charCodeAt(0) > 0x7f);
  const han = wide.filter((c) => /[\p{Script=Han}\u3000-\u303f\uff00-\uffef]/u.test(c)).length;
  return wide.length >= 4 && han >= wide.length * 0.9;
}

function strictUtf8(buf: Buffer, path: string): string {
  const scan = scanUtf8(buf);
  if (scan.firstInvalid >= 0) {
    throw new DocTuneError('ENCODING', `invalid UTF-8 (broken byte sequence at offset ${scan.firstInvalid + 3})`, { path });
  }
  return buf.toString('utf8');
}

function guessBomlessUtf16(buf: Buffer): 'utf-16le' | 'utf-16be' | null {
  if (buf.length < 16 || buf.length % 2 !== 0) return null;
  const n = Math.min(buf.length, 4096);
  let evenZeros = 0;
  let oddZeros = 0;
  for (let i = 0; i + 1 < n; i += 2) {
    if (buf[i] === 0) evenZeros++;
    if (buf[i + 1] === 0) oddZeros++;
  }
  const pairs = n / 2;
  if (oddZeros > pairs * 0.3 && evenZeros < pairs * 0.05) return 'utf-16le';
  if (evenZeros > pairs * 0.3 && oddZeros < pairs * 0.05) return 'utf-16be';
  return null;
}

interface Utf8Scan {
  firstInvalid: number;
  invalid: number;
  validMultibyte: number;
}

function scanUtf8(buf: Uint8Array): Utf8Scan {
  let firstInvalid = -1;
  let invalid = 0;
  let validMultibyte = 0;
  let i = 0;
  while (i < buf.length) {
    const b = buf[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    const len = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    let ok = len > 0 && i + len <= buf.length;
    for (let k = 1; ok && k < len; k++) ok = (buf[i + k]! & 0xc0) === 0x80;
    if (ok && len === 3) {
      const cp = ((b & 0x0f) << 12) | ((buf[i + 1]! & 0x3f) << 6);
      ok = cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff);
    }
    if (ok) {
      validMultibyte++;
      i += len;
    } else {
      if (firstInvalid < 0) firstInvalid = i;
      invalid++;
      i++;
    }
  }
  return { firstInvalid, invalid, validMultibyte };
}
