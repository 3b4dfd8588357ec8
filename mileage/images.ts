/**
 * The card artwork staff upload: PNG or JPEG, at most 1 MB, of a size a card can show. Checked from
 * the file's own bytes (signature and header), never from a name or a declared type.
 */
import { AppError } from '../core/errors.ts';

export const IMAGE_MAX_BYTES = 1024 * 1024;
export const IMAGE_MIN = { width: 600, height: 300 };
export const IMAGE_MAX = { width: 4000, height: 4000 };

export interface CheckedImage {
  type: 'image/png' | 'image/jpeg';
  width: number;
  height: number;
  bytes: Buffer;
}

/** Width and height of a PNG (IHDR) or a baseline/progressive JPEG (SOFn), else undefined. */
export function imageSize(b: Buffer): { type: CheckedImage['type']; width: number; height: number } | undefined {
  if (b.length >= 24 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
    if (b.toString('latin1', 12, 16) !== 'IHDR') return undefined;
    return { type: 'image/png', width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let i = 2;
    while (i + 9 < b.length) {
      if (b[i] !== 0xff) return undefined;
      const marker = b[i + 1]!;
      if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
        i += 2;
        continue;
      }
      const len = b.readUInt16BE(i + 2);
      const sof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
      if (sof) return { type: 'image/jpeg', height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
      i += 2 + len;
    }
  }
  return undefined;
}

/** The image from base64, or a Japanese 400 saying what is wrong with it. */
export function checkCardImage(base64: string): CheckedImage {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length === 0) throw new AppError('image_empty', '画像が空です', 400);
  if (bytes.length > IMAGE_MAX_BYTES) {
    throw new AppError(
      'image_too_large',
      `画像は 1 MB までです (この画像は ${(bytes.length / 1024 / 1024).toFixed(1)} MB)`,
      400,
    );
  }
  const size = imageSize(bytes);
  if (!size) throw new AppError('image_type', '画像は PNG または JPEG の形式にしてください', 400);
  const { width, height } = size;
  if (width < IMAGE_MIN.width || height < IMAGE_MIN.height) {
    throw new AppError(
      'image_too_small',
      `画像が小さすぎます (${width}×${height})。幅 ${IMAGE_MIN.width}・高さ ${IMAGE_MIN.height} ピクセル以上にしてください`,
      400,
    );
  }
  if (width > IMAGE_MAX.width || height > IMAGE_MAX.height) {
    throw new AppError(
      'image_too_big',
      `画像が大きすぎます (${width}×${height})。幅・高さとも ${IMAGE_MAX.width} ピクセル以下にしてください`,
      400,
    );
  }
  const ratio = width / height;
  if (ratio < 1.3 || ratio > 2.0) {
    throw new AppError(
      'image_ratio',
      `画像の縦横比がカードに合いません (${width}×${height})。横長 (横:縦 が 1.3〜2.0、カードは約 1.6) にしてください`,
      400,
    );
  }
  return { ...size, bytes };
}
