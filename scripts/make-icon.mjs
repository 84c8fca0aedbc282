#!/usr/bin/env node
// Draws DocTune's app icon (a page with a tuning slider on a blue tile) into resources/icon.png, 512×512.
// Kept as code so the icon can be regenerated at any size without design tools.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const N = Number(process.argv[2] ?? 512);
const px = new Uint8Array(N * N * 4);
const s = N / 512;

function blend(x, y, [r, g, b], a) {
  if (x < 0 || y < 0 || x >= N || y >= N || a <= 0) return;
  const i = (y * N + x) * 4;
  const da = px[i + 3] / 255;
  const oa = a + da * (1 - a);
  const mix = (c, d) => Math.round((c * a + d * da * (1 - a)) / (oa || 1));
  px[i] = mix(r, px[i]);
  px[i + 1] = mix(g, px[i + 1]);
  px[i + 2] = mix(b, px[i + 2]);
  px[i + 3] = Math.round(oa * 255);
}

/** Signed-distance rounded rectangle, anti-aliased over one pixel. */
function roundRect(x0, y0, x1, y1, rad, color, alpha = 1) {
  for (let y = Math.floor(y0 * s) - 1; y <= Math.ceil(y1 * s) + 1; y++) {
    for (let x = Math.floor(x0 * s) - 1; x <= Math.ceil(x1 * s) + 1; x++) {
      const cx = Math.max(x0 * s + rad * s, Math.min(x + 0.5, x1 * s - rad * s));
      const cy = Math.max(y0 * s + rad * s, Math.min(y + 0.5, y1 * s - rad * s));
      const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy) - rad * s;
      const cov = Math.max(0, Math.min(1, 0.5 - d));
      const c = typeof color === 'function' ? color(x / N, y / N) : color;
      blend(x, y, c, cov * alpha);
    }
  }
}

function circle(cx, cy, r, color) {
  roundRect(cx - r, cy - r, cx + r, cy + r, r, color);
}

// Tile: blue to teal gradient.
roundRect(16, 16, 496, 496, 96, (u, v) => [Math.round(37 + 10 * u), Math.round(99 + 80 * v), Math.round(235 - 60 * v)]);
// Page with a shadow.
roundRect(132, 92, 392, 420, 22, [10, 30, 70], 0.25);
roundRect(124, 80, 384, 408, 22, [255, 255, 255]);
// Text lines.
for (const [y, w] of [[140, 200], [180, 170], [220, 190]]) roundRect(164, y, 164 + w, y + 16, 8, [148, 163, 184]);
// Tuning slider: track, filled part, knob.
roundRect(164, 300, 344, 316, 8, [203, 213, 225]);
roundRect(164, 300, 280, 316, 8, [37, 99, 235]);
circle(280, 308, 26, [37, 99, 235]);
circle(280, 308, 12, [255, 255, 255]);

function crc32(buf) {
  return zlib.crc32(buf) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
const raw = Buffer.alloc(N * (N * 4 + 1));
for (let y = 0; y < N; y++) Buffer.from(px.buffer, y * N * 4, N * 4).copy(raw, y * (N * 4 + 1) + 1);
const ihdr = Buffer.alloc(13);
ihdr.writeUInt32BE(N, 0);
ihdr.writeUInt32BE(N, 4);
ihdr[8] = 8;
ihdr[9] = 6;
const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
const resources = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'resources');
const out = path.join(resources, N === 512 ? 'icon.png' : `icon-${N}.png`);
fs.writeFileSync(out, png);
console.log(`wrote ${out} (${png.length} bytes)`);

if (N === 512) {
  // Windows .ico and macOS .icns, each holding the PNG as is (both formats allow PNG payloads), for the
  // packager (`icon: resources/icon` picks the platform's extension).
  const ico = Buffer.alloc(22);
  ico.writeUInt16LE(1, 2); // type: icon
  ico.writeUInt16LE(1, 4); // one image
  ico[6] = 0; // 0 means 256 or more
  ico[7] = 0;
  ico.writeUInt16LE(1, 10); // colour planes
  ico.writeUInt16LE(32, 12); // bits per pixel
  ico.writeUInt32LE(png.length, 14);
  ico.writeUInt32LE(22, 18);
  fs.writeFileSync(path.join(resources, 'icon.ico'), Buffer.concat([ico, png]));
  const entry = Buffer.alloc(8);
  entry.write('ic09', 0, 'ascii'); // 512×512 PNG
  entry.writeUInt32BE(png.length + 8, 4);
  const head = Buffer.alloc(8);
  head.write('icns', 0, 'ascii');
  head.writeUInt32BE(8 + 8 + png.length, 4);
  fs.writeFileSync(path.join(resources, 'icon.icns'), Buffer.concat([head, entry, png]));
  console.log('wrote icon.ico and icon.icns');
}
