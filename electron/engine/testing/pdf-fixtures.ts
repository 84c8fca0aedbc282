import { assemblePdf as assemble, minimalTextPdf as textPdf, pdfStream as stream } from '../ingest/minimal-pdf.js';

/**
 * Minimal, valid PDFs written byte by byte, for the bad-input suite: a text page, an image-only page
 * ("scanned"), and an encrypted file whose user password is not empty.
 */
export { textPdf };

/** A page that is only a picture, like a scan without OCR. */
export function imageOnlyPdf(): Buffer {
  const pixels = Buffer.alloc(64 * 64, 0x80).toString('latin1');
  return assemble([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /XObject << /Im1 5 0 R >> >> >>',
    stream('q 468 0 0 468 72 200 cm /Im1 Do Q'),
    stream(pixels, '/Type /XObject /Subtype /Image /Width 64 /Height 64 /ColorSpace /DeviceGray /BitsPerComponent 8'),
  ]);
}

/** Standard security handler, revision 2, with /O and /U that no empty password satisfies. */
export function encryptedPdf(): Buffer {
  const hex = (n: number, seed: number): string => Array.from({ length: n }, (_, i) => ((i * 37 + seed) % 256).toString(16).padStart(2, '0')).join('');
  return assemble(
    [
      '<< /Type /Catalog /Pages 2 0 R >>',
      '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
      '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>',
      stream('BT /F1 12 Tf 72 720 Td (secret) Tj ET'),
      `<< /Filter /Standard /V 1 /R 2 /O <${hex(32, 11)}> /U <${hex(32, 91)}> /P -44 >>`,
    ],
    `/Encrypt 5 0 R /ID [<${hex(16, 3)}> <${hex(16, 3)}>] `,
  );
}
