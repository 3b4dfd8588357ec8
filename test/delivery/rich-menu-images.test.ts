/**
 * Rich menu images as LINE checks them, in Japanese: PNG or JPEG (read from the bytes, not only the
 * declared type), at most 1 MB, width 800–2500, height ≥ 250, width ÷ height ≥ 1.45. Kept by the
 * editor only when they pass (nothing stored otherwise); a kept image is what LINE receives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../core/errors.ts';
import { checkImage, readImageHeader } from '../../delivery/rich-menus/index.ts';
import {
  jpegOf,
  operator,
  pngOf,
  type RichMenuFixture,
  richMenuFixture,
  RM_TENANT,
  upload,
} from '../helpers/rich-menu-fixtures.ts';

let f: RichMenuFixture;
beforeAll(async () => {
  f = await richMenuFixture({ prefix: 'tayori-rm-images-' });
}, 60_000);
afterAll(() => f?.h.close());

const refused = (fn: () => unknown): AppError => {
  try {
    fn();
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
};

describe('rich menu image rules', () => {
  it('reads PNG and JPEG sizes from their headers', () => {
    expect(readImageHeader(pngOf(2500, 843))).toEqual({ type: 'image/png', width: 2500, height: 843 });
    expect(readImageHeader(jpegOf(1200, 810))).toEqual({ type: 'image/jpeg', width: 1200, height: 810 });
    expect(readImageHeader(Buffer.from('GIF89a………………………'))).toBeUndefined();
  });

  it('accepts the sizes LINE accepts', () => {
    expect(checkImage(pngOf(2500, 1686), 'image/png')).toMatchObject({ width: 2500, height: 1686 });
    expect(checkImage(pngOf(800, 250), 'image/png')).toMatchObject({ width: 800, height: 250 });
    expect(checkImage(jpegOf(1200, 405), 'image/jpeg')).toMatchObject({ width: 1200, height: 405 });
  });

  it.each([
    ['a GIF declared', () => checkImage(pngOf(2500, 843), 'image/gif'), 'image_type', 415, 'PNG か JPEG'],
    [
      'a PNG declared as JPEG',
      () => checkImage(pngOf(2500, 843), 'image/jpeg'),
      'image_unreadable',
      400,
      'JPEG ではありません',
    ],
    ['too narrow', () => checkImage(pngOf(799, 250), 'image/png'), 'image_width', 400, '800〜2500'],
    ['too wide', () => checkImage(jpegOf(2501, 843), 'image/jpeg'), 'image_width', 400, '2501 ピクセル'],
    ['too low', () => checkImage(jpegOf(1000, 249), 'image/jpeg'), 'image_height', 400, '250 ピクセル以上'],
    ['too square', () => checkImage(pngOf(1000, 700), 'image/png'), 'image_ratio', 400, '1.45 以上'],
    ['empty', () => checkImage(Buffer.alloc(0), 'image/png'), 'image_empty', 400, '画像を選んでください'],
    [
      'over 1 MB',
      () => checkImage(Buffer.concat([jpegOf(2500, 843), Buffer.alloc(1024 * 1024)]), 'image/jpeg'),
      'image_too_large',
      413,
      '1 MB 以下',
    ],
  ])('refuses %s in Japanese', (_what, fn, code, status, text) => {
    const e = refused(fn);
    expect(e.code).toBe(code);
    expect(e.status).toBe(status);
    expect(e.message).toContain(text);
  });

  it('keeps an image that passes, content-addressed, and refuses one that does not without keeping it', async () => {
    const png = pngOf(2500, 843);
    const id = await upload(f, png);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect((await f.editor.image(RM_TENANT, id))?.bytes.equals(png)).toBe(true);
    // the same bytes again: the same id
    expect(await upload(f, png)).toBe(id);
    const small = pngOf(600, 300);
    await expect(upload(f, small)).rejects.toMatchObject({ code: 'image_width', status: 400 });
    const { createHash } = await import('node:crypto');
    expect(await f.editor.image(RM_TENANT, createHash('sha256').update(small).digest('hex'))).toBeUndefined();
    await expect(f.editor.uploadImage(RM_TENANT, { type: 'image/png', data: 42 }, operator)).rejects.toMatchObject({
      code: 'invalid_image',
      status: 400,
    });
  });
});
