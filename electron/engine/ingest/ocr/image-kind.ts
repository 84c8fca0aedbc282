/** Image types by their first bytes (no decoder loaded: the file walker and format checks use it too). */
export const IMAGE_KINDS = ['png', 'jpeg', 'webp', 'bmp', 'tiff'] as const;
export type ImageKind = (typeof IMAGE_KINDS)[number];

/** The image type from the first bytes (the extension only chose the parser). */
export function sniffImage(bytes: Uint8Array): ImageKind | null {
  const b = (i: number): number => bytes[i] ?? -1;
  if (b(0) === 0x89 && b(1) === 0x50 && b(2) === 0x4e && b(3) === 0x47) return 'png';
  if (b(0) === 0xff && b(1) === 0xd8 && b(2) === 0xff) return 'jpeg';
  if (b(0) === 0x52 && b(1) === 0x49 && b(2) === 0x46 && b(3) === 0x46 && b(8) === 0x57 && b(9) === 0x45 && b(10) === 0x42 && b(11) === 0x50) return 'webp';
  if (b(0) === 0x42 && b(1) === 0x4d) return 'bmp';
  if ((b(0) === 0x49 && b(1) === 0x49 && b(2) === 0x2a && b(3) === 0) || (b(0) === 0x4d && b(1) === 0x4d && b(2) === 0 && b(3) === 0x2a)) return 'tiff';
  return null;
}

