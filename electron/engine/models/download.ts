/**
 * Model downloads: `hf:OWNER/REPO/FILE.gguf` (or hf:OWNER/REPO:FILE.gguf, Hugging Face's resolve URLs; the
 * endpoint follows HF_ENDPOINT) or any https URL, to a `.part` file that a later run continues with an HTTP
 * Range request. The finished file is checked against the expected SHA-256 (given, or the one Hugging Face
 * reports for LFS files, on the first response even when the file itself comes from a redirect) and against
 * the GGUF format before it takes its name.
 *
 * What a careful user expects, and what this does: plain http only to this machine (a local mirror); the
 * token only to the Hugging Face host (HF_ENDPOINT's), never over plain http to another machine and never
 * to where it redirects; the file name is the URL's last segment as a plain name, never a path; no more bytes
 * than the server announced, and the disk is checked for room before anything is written.
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
  /** Sent to the Hugging Face host only (HF_ENDPOINT's), over https or to this machine. */
  token?: string;
  signal?: AbortSignal;
  onProgress?: (p: { received: number; total: number | null }) => void;
}

const MAX_REDIRECTS = 5;
/** Left free on the disk when the size is not announced, and beside what it is. */
const DISK_RESERVE = 1024 ** 3;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
const isLoopback = (u: URL): boolean => LOOPBACK.has(u.hostname) || /^127\.\d+\.\d+\.\d+$/.test(u.hostname);

function hfEndpoint(): URL {
  return new URL((process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, ''));
}

/** A URL DocTune may fetch a model from: https, or http to this machine (a local mirror). */
function checkedUrl(url: string, what: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new DocTuneError('BAD_ARGUMENT', `${what} "${url}" is not a URL`);
  }
  if (u.protocol === 'https:' || (u.protocol === 'http:' && isLoopback(u))) return u;
  throw new DocTuneError('BAD_ARGUMENT', `${what} ${u.origin} is not https: models are fetched over https (plain http only from this machine)`);
}

/** The URL's last segment as a plain file name (no path: "..%2f" and the like are refused). */
function fileNameOf(u: URL): string {
  const raw = u.pathname.split('/').pop() ?? '';
  let name: string;
  try {
    name = decodeURIComponent(raw);
  } catch {
    name = '';
  }
  const control = [...name].some((c) => c.charCodeAt(0) < 0x20);
  if (!name || name !== path.basename(name) || /[\\/:]/.test(name) || control || name.startsWith('.')) {
    throw new DocTuneError('BAD_ARGUMENT', `"${u.href}" does not end in a plain file name (got "${name || raw}")`);
  }
  return name;
}

/** The URL and file name an `hf:` URI (or a URL) stands for. */
export function downloadTarget(uri: string): { url: string; fileName: string } {
  if (/^https?:\/\//i.test(uri)) {
    const u = checkedUrl(uri, 'the download URL');
    return { url: u.href, fileName: fileNameOf(u) };
  }
  const m = /^hf:([\w.-]+)\/([\w.-]+)(?:\/|:)(.+\.gguf)$/i.exec(uri);
  if (!m) throw new DocTuneError('BAD_ARGUMENT', `"${uri}" is not hf:OWNER/REPO/FILE.gguf or a URL`);
  if (m[3]!.split('/').some((s) => s === '..' || s === '.' || s === '')) throw new DocTuneError('BAD_ARGUMENT', `"${uri}" names a path outside the repository`);
  const endpoint = checkedUrl(hfEndpoint().href, 'HF_ENDPOINT');
  const url = `${endpoint.href.replace(/\/+$/, '')}/${m[1]}/${m[2]}/resolve/main/${m[3]!.split('/').map(encodeURIComponent).join('/')}`;
  return { url, fileName: path.basename(m[3]!) };
}

async function sha256Of(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The token goes to the Hugging Face host only, and not over plain http to another machine. */
function tokenFor(u: URL, token: string | undefined): string | undefined {
  if (!token) return undefined;
  const hf = hfEndpoint();
  return u.origin === hf.origin && (u.protocol === 'https:' || isLoopback(u)) ? token : undefined;
}

interface Answer {
  res: Response;
  /** What the first hop (Hugging Face's resolve URL) said about the file: its SHA-256 and size. */
  linkedSha: string;
  linkedSize: number | null;
}

/** Follows redirects by hand: each hop checked, the token dropped once the origin changes. */
async function fetchFollowing(url: string, headers: Record<string, string>, token: string | undefined, signal: AbortSignal | undefined): Promise<Answer> {
  let u = new URL(url);
  let linkedSha = '';
  let linkedSize: number | null = null;
  for (let hop = 0; ; hop++) {
    const auth = tokenFor(u, token);
    let res: Response;
    try {
      res = await fetch(u, { headers: { ...headers, ...(auth ? { authorization: `Bearer ${auth}` } : {}) }, redirect: 'manual', ...(signal ? { signal } : {}) });
    } catch (err) {
      throw new DocTuneError('TIMEOUT', `cannot reach ${u.origin}: ${(err as Error).message}; run again to continue`, { cause: err });
    }
    const etag = (res.headers.get('x-linked-etag') ?? '').replace(/^W\//, '').replace(/"/g, '');
    if (!linkedSha && /^[0-9a-f]{64}$/i.test(etag)) linkedSha = etag.toLowerCase();
    const size = Number(res.headers.get('x-linked-size') ?? NaN);
    if (linkedSize === null && Number.isFinite(size) && size > 0) linkedSize = size;
    if (res.status < 300 || res.status >= 400 || res.status === 304) return { res, linkedSha, linkedSize };
    const location = res.headers.get('location');
    await res.body?.cancel();
    if (!location) throw new DocTuneError('NOT_FOUND', `${u.origin} redirected without saying where`);
    if (hop >= MAX_REDIRECTS) throw new DocTuneError('NOT_FOUND', `${url} redirects more than ${MAX_REDIRECTS} times`);
    u = checkedUrl(new URL(location, u).href, 'a redirect to');
  }
}

async function freeBytes(dir: string): Promise<number> {
  try {
    const s = await fsp.statfs(dir);
    return s.bavail * s.bsize;
  } catch {
    return Infinity; // no statfs here: the write itself will fail when the disk is full
  }
}

const gib = (n: number): string => `${(n / 1024 ** 3).toFixed(1)} GiB`;

export async function downloadModel(uri: string, o: DownloadOptions): Promise<string> {
  const { url, fileName } = downloadTarget(uri);
  await fsp.mkdir(o.dir, { recursive: true });
  const final = path.join(o.dir, fileName);
  if (await fsp.access(final).then(() => true, () => false)) return final;
  const part = `${final}.part`;
  const have = await fsp.stat(part).then((s) => s.size, () => 0);
  const { res, linkedSha, linkedSize } = await fetchFollowing(url, have ? { range: `bytes=${have}-` } : {}, o.token, o.signal);
  if (res.status === 416 && have) {
    // The part file is already whole (or longer than the file): start over rather than guess.
    await fsp.rm(part, { force: true });
    return downloadModel(uri, o);
  }
  if (!res.ok) throw new DocTuneError('NOT_FOUND', `${url} answered HTTP ${res.status}`);
  const resumed = res.status === 206;
  const etag = (res.headers.get('x-linked-etag') ?? res.headers.get('etag') ?? '').replace(/^W\//, '').replace(/"/g, '');
  const expected = (o.sha256 ?? (linkedSha || (/^[0-9a-f]{64}$/i.test(etag) ? etag : ''))).toLowerCase();
  const length = Number(res.headers.get('content-length') ?? NaN);
  const total = Number.isFinite(length) ? length + (resumed ? have : 0) : linkedSize;
  let received = resumed ? have : 0;
  // Room on the disk for what is still to come; without an announced size, at most what the disk has spare.
  const free = await freeBytes(o.dir);
  if (total !== null && total - received + DISK_RESERVE > free) {
    await res.body?.cancel();
    throw new DocTuneError('TOO_LARGE', `${fileName} needs ${gib(total - received)} more on the disk, ${gib(free)} are free (${o.dir})`, { path: final });
  }
  const limit = total ?? received + Math.max(0, free - DISK_RESERVE);
  const out = fs.createWriteStream(part, { flags: resumed ? 'a' : 'w' });
  let overrun = false;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      if (received + chunk.byteLength > limit) {
        overrun = true;
        break;
      }
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      received += chunk.byteLength;
      o.onProgress?.({ received, total });
    }
  } catch (err) {
    throw new DocTuneError('TIMEOUT', `the download of ${fileName} was cut at ${received} bytes: ${(err as Error).message}; run again to continue`, { cause: err });
  } finally {
    await new Promise<void>((resolve) => out.end(resolve));
  }
  if (overrun) {
    await fsp.rm(part, { force: true });
    throw new DocTuneError('TOO_LARGE', total !== null
      ? `${url} sent more than the ${total} bytes it announced for ${fileName}; the partial file was removed`
      : `${url} announced no size and sent more than the disk has room for (${gib(free)} free); the partial file was removed`, { path: final });
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
