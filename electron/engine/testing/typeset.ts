import { createCanvas } from '@napi-rs/canvas';

/** Lines of black text on a white page, as a scan or photo of it would give: a PNG for the OCR tests and bench. */
export function typesetPng(lines: string[], o: { font: string; size: number; width?: number; height?: number; left?: number; top?: number; lineHeight?: number }): Buffer {
  const { font, size, width = 2480, height = 3508, left = 200, top = 200, lineHeight = size * 1.6 } = o;
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = 'white';
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = 'black';
  ctx.font = `${size}px ${font}`;
  lines.forEach((line, i) => ctx.fillText(line, left, top + (i + 1) * lineHeight));
  return canvas.toBuffer('image/png');
}
