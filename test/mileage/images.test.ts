/** The card artwork's checks: type and size read from the bytes, Japanese errors with codes. */
import { describe, expect, it } from 'vitest';
import { checkCardImage, imageSize } from '../../mileage/images.ts';

const png = (w: number, h: number, extra = 0) => {
  const b = Buffer.alloc(33 + extra);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b, 0);
  b.writeUInt32BE(13, 8);
  b.write('IHDR', 12, 'latin1');
  b.writeUInt32BE(w, 16);
  b.writeUInt32BE(h, 20);
  return b;
};
/** SOI, an APP0 segment, then a baseline SOF0 with the size, as cameras and editors write it. */
const jpeg = (w: number, h: number) => {
  const app0 = Buffer.from([0xff, 0xe0, 0x00, 0x10, ...Buffer.from('JFIF\0'), 1, 1, 0, 0, 1, 0, 1, 0, 0]);
  const sof = Buffer.alloc(19);
  sof.writeUInt16BE(0xffc0, 0);
  sof.writeUInt16BE(17, 2);
  sof[4] = 8;
  sof.writeUInt16BE(h, 5);
  sof.writeUInt16BE(w, 7);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app0, sof, Buffer.from([0xff, 0xd9])]);
};

describe('card artwork', () => {
  it('reads the size of a PNG and a JPEG from their headers', () => {
    expect(imageSize(png(1200, 760))).toEqual({ type: 'image/png', width: 1200, height: 760 });
    expect(imageSize(jpeg(1600, 1000))).toEqual({ type: 'image/jpeg', width: 1600, height: 1000 });
    expect(imageSize(Buffer.from('GIF89a........'))).toBeUndefined();
  });

  it('accepts a landscape card-sized image and refuses the rest in Japanese', () => {
    expect(checkCardImage(jpeg(1600, 1000).toString('base64'))).toMatchObject({ type: 'image/jpeg', width: 1600 });
    const refuse = (b: Buffer) => {
      try {
        checkCardImage(b.toString('base64'));
      } catch (e) {
        return { code: (e as { code: string }).code, message: (e as Error).message };
      }
      throw new Error('accepted');
    };
    expect(refuse(png(1200, 760, 1024 * 1024))).toMatchObject({ code: 'image_too_large', message: /1 MB まで/ });
    expect(refuse(png(300, 200))).toMatchObject({ code: 'image_too_small' });
    expect(refuse(png(5000, 3000))).toMatchObject({ code: 'image_too_big' });
    expect(refuse(png(1000, 1000))).toMatchObject({ code: 'image_ratio', message: /横長/ });
    expect(refuse(Buffer.from('<svg/>'))).toMatchObject({ code: 'image_type', message: /PNG または JPEG/ });
  });
});
