/**
 * Model downloads: `hf:OWNER/REPO/FILE.gguf` (or hf:OWNER/REPO:FILE.gguf, Hugging Face's resolve URLs; the
 * endpoint follows HF_ENDPOINT) or any https URL, to a `.part` file that a later run continues with an HTTP
 * Range request. The finished file is checked against the expected SHA-256 (given, or the size and
 * X-Linked-Etag Hugging Face reports for LFS files) and against the GGUF format before it takes its name.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { DocTuneError } from '../errors.js';
import { readGguf } from './gguf/gguf-reader.js';

export interface DownloadOptions {
  /** Folder to put the model in. */
  dir: string;
  /** Expected SHA-256 (hex); when absent, a 64-hex X-Linked-Etag from the server is used if there is one. */
  sha256?: string;
  token?: string;
  signal?: AbortSignal;
  onProgress?: (p: { received: number; total: number | null }) => void;
}

/** The URL and file name an `hf:` URI (or a URL) stands for. */
export function downloadTarget(uri: string): { url: string; fileName: string } {
  if (/^https?:\/\//.test(uri)) return { url: uri, fileName: decodeURIComponent(new URL(uri).pathname.split('/').pop() ?? 'model.gguf') };
  const m = /^hf:([\w.-]+)\/([\w.-]+)(?:\/|:)(.+\.gguf)$/i.exec(uri);
  if (!m) throw new DocTuneError('BAD_ARGUMENT', `"${uri}" is not hf:OWNER/REPO/FILE.gguf or a URL`);
  const endpoint = (process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
  return { url: `${endpoint}/${m[1]}/${m[2]}/resolve/main/${m[3]!.split('/').map(encodeURIComponent).join('/')}`, fileName: path.basename(m[3]!) };
}

async function sha256Of(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export async function downloadModel(uri: string, o: DownloadOptions): Promise<string> {
  const { url, fileName } = downloadTarget(uri);
  await fsp.mkdir(o.dir, { recursive: true });
  const final = path.join(o.dir, fileName);
  if (await fsp.access(final).then(() => true, () => false)) return final;
  const part = `${final}.part`;
  const have = await fsp.stat(part).then((s) => s.size, () => 0);
  const headers: Record<string, string> = { ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...(have ? { range: `bytes=${have}-` } : {}) };
  let res: Response;
  try {
    res = await fetch(url, { headers, redirect: 'follow', ...(o.signal ? { signal: o.signal } : {}) });
  } catch (err) {
    throw new DocTuneError('TIMEOUT', `cannot reach ${url}: ${(err as Error).message}; run again to continue`, { cause: err });
  }
  if (res.status === 416 && have) {
    // The part file is already whole (or longer than the file): start over rather than guess.
    await fsp.rm(part, { force: true });
    return downloadModel(uri, o);
  }
  if (!res.ok) throw new DocTuneError('NOT_FOUND', `${url} answered HTTP ${res.status}`);
  const resumed = res.status === 206;
  const etag = (res.headers.get('x-linked-etag') ?? res.headers.get('etag') ?? '').replace(/^W\//, '').replace(/"/g, '');
  const expected = (o.sha256 ?? (/^[0-9a-f]{64}$/i.test(etag) ? etag : '')).toLowerCase();
  const length = Number(res.headers.get('content-length') ?? NaN);
  const total = Number.isFinite(length) ? length + (resumed ? have : 0) : null;
  let received = resumed ? have : 0;
  const out = fs.createWriteStream(part, { flags: resumed ? 'a' : 'w' });
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      received += chunk.byteLength;
      o.onProgress?.({ received, total });
    }
  } catch (err) {
    throw new DocTuneError('TIMEOUT', `the download of ${fileName} was cut at ${received} bytes: ${(err as Error).message}; run again to continue`, { cause: err });
  } finally {
    await new Promise<void>((resolve) => out.end(resolve));
  }
  if (total !== null && received !== total) throw new DocTuneError('TIMEOUT', `the download of ${fileName} stopped at ${received} of ${total} bytes; run again to continue`);
  if (expected) {
    const actual = await sha256Of(part);
    if (actual !== expected) {
      await fsp.rm(part, { force: true });
      throw new DocTuneError('PARSE_FAILED', `${fileName}: checksum mismatch (expected ${expected}, got ${actual}); the partial file was removed`, { path: final });
    }
  }
  try {
    await readGguf(part);
  } catch (err) {
    await fsp.rm(part, { force: true });
    throw new DocTuneError('PARSE_FAILED', `${fileName} is not a usable GGUF: ${(err as Error).message}`, { path: final, cause: err });
  }
  await fsp.rename(part, final);
  return final;
}
