/**
 * Page images for OCR: a PDF page rendered by pdf.js onto @napi-rs/canvas at 300 dpi, and image files
 * decoded and checked (TIFF through UTIF, page by page) before Tesseract sees them.
 */
import { createCanvas, loadImage } from '@napi-rs/canvas';
import UTIF from 'utif2';
import { DocTuneError } from '../../errors.js';
import { sniffImage, type ImageKind } from './image-kind.js';

/** Tesseract reads best at about 300 dpi; PDF user space is 72 units per inch. */
const OCR_DPI = 300;
/** The longest side of a rendered page, in pixels (an A0 poster at 300 dpi would be 14,000). */
const MAX_SIDE = 5000;
/** Pixels in one image file's page, decoded: beyond this it is refused (a decompression bomb, or a wall chart). */
const MAX_PIXELS = 60e6;

interface PdfPageLike {
  getViewport(o: { scale: number }): { width: number; height: number };
  render(o: { canvasContext: unknown; viewport: unknown; canvas: unknown }): { promise: Promise<void> };
}
interface CanvasFactoryLike {
  create(w: number, h: number): { canvas: { toBuffer(mime: 'image/png'): Buffer }; context: unknown };
  destroy?(c: unknown): void;
}

/** One PDF page as a PNG at 300 dpi (less for pages whose longest side would pass MAX_SIDE). */
export async function renderPdfPage(page: PdfPageLike, canvasFactory: CanvasFactoryLike): Promise<Buffer> {
  const unit = page.getViewport({ scale: 1 });
  const scale = Math.min(OCR_DPI / 72, MAX_SIDE / Math.max(unit.width, unit.height, 1));
  const viewport = page.getViewport({ scale });
  const target = canvasFactory.create(Math.ceil(viewport.width), Math.ceil(viewport.height));
  try {
    await page.render({ canvasContext: target.context, viewport, canvas: target.canvas }).promise;
    return target.canvas.toBuffer('image/png');
  } finally {
    canvasFactory.destroy?.(target);
  }
}

/** Width and height from the header, before anything is decoded (a decompression bomb is refused unread). */
export function imageSize(bytes: Buffer, kind: Exclude<ImageKind, 'tiff'>): { width: number; height: number } | null {
  try {
    if (kind === 'png') return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
    if (kind === 'bmp') return { width: Math.abs(bytes.readInt32LE(18)), height: Math.abs(bytes.readInt32LE(22)) };
    if (kind === 'webp') {
      const chunk = bytes.toString('latin1', 12, 16);
      if (chunk === 'VP8X') return { width: 1 + bytes.readUIntLE(24, 3), height: 1 + bytes.readUIntLE(27, 3) };
      if (chunk === 'VP8L') {
        const v = bytes.readUInt32LE(21);
        return { width: 1 + (v & 0x3fff), height: 1 + ((v >> 14) & 0x3fff) };
      }
      return { width: bytes.readUInt16LE(26) & 0x3fff, height: bytes.readUInt16LE(28) & 0x3fff };
    }
    // JPEG: the first start-of-frame marker (SOF0–SOF15 but DHT, JPG and DAC) holds the size.
    for (let i = 2; i + 9 < bytes.length;) {
      if (bytes[i] !== 0xff) return null;
      const marker = bytes[i + 1]!;
      if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
        return { width: bytes.readUInt16BE(i + 7), height: bytes.readUInt16BE(i + 5) };
      }
      i += 2 + bytes.readUInt16BE(i + 2);
    }
  } catch {
    return null;
  }
  return null;
}

/**
 * The pages of an image file, each as an image Tesseract reads (PNG for TIFF pages, the file itself
 * otherwise), after checking that it decodes and is of a sane size.
 */
export async function imagePages(bytes: Buffer, file: string): Promise<Buffer[]> {
  const kind = sniffImage(bytes);
  if (!kind) throw new DocTuneError('UNSUPPORTED_FORMAT', 'not an image DocTune reads (PNG, JPEG, WebP, BMP or TIFF)', { path: file });
  if (kind === 'tiff') return tiffPages(bytes, file);
  // Skia shows a cut-off file as far as it goes; a missing end marker says the copy is incomplete.
  const tail = bytes.subarray(Math.max(0, bytes.length - 1024));
  if ((kind === 'png' && !tail.includes('IEND', 0, 'latin1')) || (kind === 'jpeg' && !tail.includes(Buffer.from([0xff, 0xd9])))) {
    throw new DocTuneError('PARSE_FAILED', `truncated ${kind.toUpperCase()} image (no end marker; incomplete download or copy?)`, { path: file });
  }
  const size = imageSize(bytes, kind);
  if (!size) throw new DocTuneError('PARSE_FAILED', `corrupt ${kind.toUpperCase()} image (unreadable header)`, { path: file });
  if (size.width * size.height > MAX_PIXELS) {
    throw new DocTuneError('TOO_LARGE', `image of ${size.width}×${size.height} pixels is too large to recognise (at most ${MAX_PIXELS / 1e6} megapixels)`, { path: file });
  }
  let image;
  try {
    image = await loadImage(bytes);
  } catch (err) {
    throw new DocTuneError('PARSE_FAILED', `corrupt ${kind.toUpperCase()} image: ${(err as Error).message}`, { path: file, cause: err });
  }
  if (!(image.width > 0 && image.height > 0)) throw new DocTuneError('PARSE_FAILED', `corrupt ${kind.toUpperCase()} image (no pixels)`, { path: file });
  // Re-encoded as PNG: Skia has decoded it (Tesseract's own decoders are stricter about odd JPEGs and WebPs).
  const canvas = createCanvas(image.width, image.height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = 'white';
  ctx.fillRect(0, 0, image.width, image.height); // transparent PNGs read as black text on black otherwise
  ctx.drawImage(image, 0, 0);
  return [canvas.toBuffer('image/png')];
}

function tiffPages(bytes: Buffer, file: string): Buffer[] {
  let ifds: UTIF.IFD[];
  try {
    ifds = UTIF.decode(bytes).filter((ifd) => ifd['t256'] && ifd['t257']); // pages with a width and height
  } catch (err) {
    throw new DocTuneError('PARSE_FAILED', `corrupt TIFF image: ${(err as Error).message}`, { path: file, cause: err });
  }
  if (!ifds.length) throw new DocTuneError('PARSE_FAILED', 'corrupt TIFF image (no pages)', { path: file });
  return ifds.map((ifd, i) => {
    const width = Number((ifd['t256'] as number[])[0]);
    const height = Number((ifd['t257'] as number[])[0]);
    if (!(width > 0 && height > 0) || width * height > MAX_PIXELS) {
      throw new DocTuneError('TOO_LARGE', `TIFF page ${i + 1} of ${width}×${height} pixels is too large to recognise (at most ${MAX_PIXELS / 1e6} megapixels)`, { path: file });
    }
    let rgba: Uint8Array;
    try {
      UTIF.decodeImage(bytes, ifd);
      rgba = UTIF.toRGBA8(ifd);
    } catch (err) {
      throw new DocTuneError('PARSE_FAILED', `corrupt TIFF image (page ${i + 1}): ${(err as Error).message}`, { path: file, cause: err });
    }
    if (rgba.length < width * height * 4) throw new DocTuneError('PARSE_FAILED', `corrupt TIFF image (page ${i + 1} is cut short)`, { path: file });
    const canvas = createCanvas(width, height);
    const ctx = canvas.getContext('2d');
    const data = ctx.createImageData(width, height);
    data.data.set(rgba.subarray(0, width * height * 4));
    ctx.putImageData(data, 0, 0);
    return canvas.toBuffer('image/png');
  });
}
