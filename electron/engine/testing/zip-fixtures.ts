import zlib from 'node:zlib';

/**
 * ZIP writer for fixtures: real DOCX packages (so the good-file path is exercised too), a zip bomb whose
 * entry inflates to hundreds of megabytes, and broken archives.
 */
interface Entry {
  name: string;
  data: Buffer;
  /** Pre-compressed deflate data and its true size, for the bomb. */
  deflated?: { data: Buffer; size: number; crc: number };
  /** Declare this uncompressed size in the headers instead of the true one (a bomb that lies). */
  declaredSize?: number;
}

export function zip(entries: Entry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const comp = e.deflated?.data ?? zlib.deflateRawSync(e.data);
    const size = e.declaredSize ?? e.deflated?.size ?? e.data.length;
    const crc = e.deflated?.crc ?? zlib.crc32(e.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(comp.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc >>> 0, 16);
    central.writeUInt32LE(comp.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, comp);
    centrals.push(central, name);
    offset += local.length + name.length + comp.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

const CONTENT_TYPES = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`;
const RELS = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`;

export function docx(paragraphs: string[]): Buffer {
  const body = paragraphs.map((p) => `<w:p><w:r><w:t xml:space="preserve">${p.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</w:t></w:r></w:p>`).join('');
  const doc = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${body}</w:body></w:document>`;
  return zip([
    { name: '[Content_Types].xml', data: Buffer.from(CONTENT_TYPES) },
    { name: '_rels/.rels', data: Buffer.from(RELS) },
    { name: 'word/document.xml', data: Buffer.from(doc) },
  ]);
}

/** A DOCX whose document.xml inflates to `megabytes` MB of blanks, built without holding it in memory. */
export function docxZipBomb(megabytes = 400, options: { lie?: boolean } = {}): Buffer {
  return zipBomb('word/document.xml', megabytes, options, [
    { name: '[Content_Types].xml', data: Buffer.from(CONTENT_TYPES) },
    { name: '_rels/.rels', data: Buffer.from(RELS) },
  ]);
}

/** Any package whose part `name` inflates to `megabytes` MB of blanks, beside the small parts given. */
export function zipBomb(name: string, megabytes = 400, options: { lie?: boolean } = {}, others: Entry[] = []): Buffer {
  const mb = Buffer.alloc(1024 * 1024, 0x20);
  // Full-flush blocks are byte-aligned, so one compressed megabyte can be repeated to form the stream.
  const block = zlib.deflateRawSync(mb, { finishFlush: zlib.constants.Z_FULL_FLUSH, level: 9 });
  const final = zlib.deflateRawSync(Buffer.alloc(0));
  let crc = 0;
  for (let i = 0; i < megabytes; i++) crc = zlib.crc32(mb, crc);
  const data = Buffer.concat([...Array.from({ length: megabytes }, () => block), final]);
  return zip([
    ...others,
    {
      name,
      data: Buffer.alloc(0),
      deflated: { data, size: megabytes * 1024 * 1024, crc },
      ...(options.lie ? { declaredSize: data.length * 2 } : {}),
    },
  ]);
}
