/**
 * Office-style packages (XLSX, ODS, PPTX, EPUB): a ZIP checked for bombs before anything is inflated, and
 * its XML parts read with htmlparser2 in XML mode.
 */
import JSZip from 'jszip';
import { parseDocument } from 'htmlparser2';
import { getElementsByTagName, textContent } from 'domutils';
import type { Document, Element } from 'domhandler';
import { DocTuneError } from '../../errors.js';
import { assertInflatesWithin, assertNotZipBomb } from '../zip-guard.js';

export interface Package {
  zip: JSZip;
  has(name: string): boolean;
  /** A part's text; null when the package has no such part. */
  text(name: string): Promise<string | null>;
  xml(name: string): Promise<Document | null>;
}

const OLE = [0xd0, 0xcf, 0x11, 0xe0];

/** Open a package, naming what it is (`kind`) in every error; `required` is the part that makes it one. */
export async function openPackage(buf: Buffer, file: string, kind: string, required: string): Promise<Package> {
  // Password-protected Office files are not ZIPs at all but OLE compound files holding the encrypted package.
  if (OLE.every((b, i) => buf[i] === b)) {
    throw new DocTuneError('ENCRYPTED', `encrypted ${kind} (password-protected), or an old binary Office file: open it and save it without a password`, { path: file });
  }
  const entries = assertNotZipBomb(buf, file);
  if (!entries.some((e) => e.name === required)) {
    throw new DocTuneError('PARSE_FAILED', `not a valid ${kind} (no ${required} in the package)`, { path: file });
  }
  await assertInflatesWithin(buf, file, entries);
  let zip: JSZip;
  try {
    zip = await JSZip.loadAsync(buf);
  } catch (err) {
    throw new DocTuneError('PARSE_FAILED', `corrupt ${kind}: ${(err as Error).message}`, { path: file, cause: err });
  }
  const text = async (name: string): Promise<string | null> => {
    const entry = zip.file(name);
    if (!entry) return null;
    try {
      return await entry.async('string');
    } catch (err) {
      throw new DocTuneError('PARSE_FAILED', `corrupt ${kind}: ${name} cannot be read (${(err as Error).message})`, { path: file, cause: err });
    }
  };
  return {
    zip,
    has: (name) => zip.file(name) !== null,
    text,
    xml: async (name) => {
      const t = await text(name);
      return t === null ? null : parseDocument(t, { xmlMode: true });
    },
  };
}

/** Elements by qualified name ("a:t", "table:table-row"), in document order. */
export function elements(root: Document | Element, name: string): Element[] {
  return getElementsByTagName(name, root, true);
}

export function textOf(node: Element): string {
  return textContent(node);
}

/** A package path relative to the part that refers to it ("../media/x.png" from "ppt/slides/slide1.xml"). */
export function resolvePart(from: string, target: string): string {
  if (target.startsWith('/')) return target.slice(1);
  const parts = from.split('/').slice(0, -1);
  for (const seg of target.split('/')) {
    if (seg === '..') parts.pop();
    else if (seg !== '.') parts.push(seg);
  }
  return parts.join('/');
}
