/**
 * PDFs as a scanner writes them, for the OCR tests: each page one JPEG covering it (no text layer), or a
 * page with a real text layer, to mix the two in one file.
 */
import { assemblePdf, pdfStream } from '../ingest/minimal-pdf.js';
import { imageSize } from '../ingest/ocr/page-images.js';

export type ScannedPage = { jpeg: Buffer } | { text: string[] };

export function scannedPdf(pages: ScannedPage[]): Buffer {
  const objects: string[] = ['<< /Type /Catalog /Pages 2 0 R >>', ''];
  const kids: number[] = [];
  const font = 3;
  objects.push('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>');
  for (const page of pages) {
    const pageId = objects.length + 1;
    kids.push(pageId);
    if ('jpeg' in page) {
      const size = imageSize(page.jpeg, 'jpeg');
      if (!size) throw new Error('not a JPEG');
      objects.push(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents ${pageId + 1} 0 R /Resources << /XObject << /Im1 ${pageId + 2} 0 R >> >> >>`);
      objects.push(pdfStream('q 612 0 0 792 0 0 cm /Im1 Do Q'));
      objects.push(pdfStream(page.jpeg.toString('latin1'), `/Type /XObject /Subtype /Image /Width ${size.width} /Height ${size.height} /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode`));
    } else {
      const ops = page.text.map((l, i) => `BT /F1 12 Tf 72 ${720 - i * 18} Td (${l.replace(/[()\\]/g, '\\$&')}) Tj ET`).join('\n');
      objects.push(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents ${pageId + 1} 0 R /Resources << /Font << /F1 ${font} 0 R >> >> >>`);
      objects.push(pdfStream(ops));
    }
  }
  objects[1] = `<< /Type /Pages /Kids [${kids.map((k) => `${k} 0 R`).join(' ')}] /Count ${kids.length} >>`;
  return assemblePdf(objects);
}
