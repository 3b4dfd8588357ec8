/**
 * The card and pass images: PNG and JPEG sizes read from their headers, uploads checked (type, bytes,
 * pixel size) with Japanese messages, a draft published, nothing published without a draft.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CardImages, CardStore } from '../../cards/index.ts';
import { imageSize } from '../../cards/images.ts';
import { testPng } from './cards-suite.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cards-images-'));
const store = new CardStore(dir);
afterAll(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** SOI, an APP0 segment, then SOF0 with the given size (enough for the header reader). */
function jpegHeader(width: number, height: number): Buffer {
  const app0 = Buffer.from([0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
  const sof = Buffer.from([
    0xff,
    0xc0,
    0x00,
    0x11,
    0x08,
    height >> 8,
    height & 255,
    width >> 8,
    width & 255,
    3,
    1,
    0x22,
    0,
    2,
    0x11,
    1,
    3,
    0x11,
    1,
  ]);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app0, sof, Buffer.alloc(16)]);
}

describe('images', () => {
  it('reads PNG and JPEG sizes, and nothing from other bytes', () => {
    expect(imageSize(testPng(320, 200, '#fff'), 'image/png')).toEqual({ width: 320, height: 200 });
    expect(imageSize(jpegHeader(1200, 760), 'image/jpeg')).toEqual({ width: 1200, height: 760 });
    expect(imageSize(Buffer.from('GIF89a....................'), 'image/png')).toBeUndefined();
    expect(imageSize(testPng(320, 200, '#fff'), 'image/jpeg')).toBeUndefined();
  });

  it('checks uploads and publishes a draft', async () => {
    const images = new CardImages(store);
    const up = (type: string, data: Buffer) =>
      images.upload('11000', 'card', { type, data: data.toString('base64') }, 'test');
    await expect(up('image/gif', testPng(320, 200, '#fff'))).rejects.toThrow();
    await expect(up('image/png', Buffer.from('not an image at all, really'))).rejects.toMatchObject({
      code: 'image_invalid',
    });
    await expect(up('image/png', testPng(50, 50, '#fff'))).rejects.toMatchObject({ code: 'image_size' });
    await expect(images.publish('11000', 'card', 'test')).rejects.toMatchObject({ code: 'no_draft', status: 409 });
    expect(await up('image/jpeg', jpegHeader(1200, 760))).toMatchObject({ width: 1200, height: 760 });
    expect(images.has('11000', 'card')).toBe(false);
    await images.publish('11000', 'card', 'test');
    expect(images.get('11000', 'card')?.type).toBe('image/jpeg');
    expect(images.has('11000', 'card', 'draft')).toBe(false);
  });
});
