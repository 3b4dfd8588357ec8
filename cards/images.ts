/**
 * The card image and the pass image (provided by the prefecture), replaceable by staff: an upload
 * becomes a draft (previewed), publishing makes it what residents see. Kept in the cards' local
 * store, so both open while ClickHouse or Redis is down. Also the shop code printed under the card
 * (the common barcode's number).
 */
import { AppError } from '../core/errors.ts';
import { z } from '../core/zod.ts';
import type { CardImage, CardStore, ImageKind, ImageState } from './households.ts';

export const MAX_IMAGE_BYTES = 2 * 1024 * 1024;
const MIN_SIDE = 100;
const MAX_SIDE = 4000;

export const IMAGE_LABELS: Record<ImageKind, string> = {
  card: 'パパ・ママ応援ショップ優待カードの画像',
  pass: 'まいたまパスの画像',
};

export const imageUploadSchema = z.object({
  type: z.enum(['image/png', 'image/jpeg'], { message: '画像は PNG または JPEG にしてください' }),
  data: z
    .string()
    .min(1, '画像を選んでください')
    .max(Math.ceil((MAX_IMAGE_BYTES * 4) / 3) + 8, '画像は 2 MB 以内にしてください'),
});

export const shopCodeSchema = z.object({
  shopCode: z
    .string()
    .trim()
    .max(32, 'ショップコードは 32 文字以内で入力してください')
    .regex(/^[0-9A-Za-z-]*$/, 'ショップコードは半角英数字とハイフンで入力してください'),
});

/** Width and height of a PNG or JPEG, or undefined when the bytes are not one. */
export function imageSize(data: Buffer, type: string): { width: number; height: number } | undefined {
  if (type === 'image/png') {
    if (data.length < 24 || data.readUInt32BE(0) !== 0x89504e47 || data.toString('ascii', 12, 16) !== 'IHDR') return;
    return { width: data.readUInt32BE(16), height: data.readUInt32BE(20) };
  }
  if (data.length < 4 || data[0] !== 0xff || data[1] !== 0xd8) return;
  let i = 2;
  while (i + 9 < data.length) {
    if (data[i] !== 0xff) return;
    const marker = data[i + 1]!;
    const len = data.readUInt16BE(i + 2);
    // SOF0–SOF15 except DHT (C4), JPG (C8), DAC (CC)
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: data.readUInt16BE(i + 5), width: data.readUInt16BE(i + 7) };
    }
    i += 2 + len;
  }
  return;
}

const imageKey = (tenantId: string, kind: ImageKind, state: ImageState) => `${tenantId}/${kind}/${state}`;
const settingsKey = (tenantId: string) => `${tenantId}/settings`;

export class CardImages {
  constructor(private readonly store: CardStore) {}

  has(tenantId: string, kind: ImageKind, state: ImageState = 'published'): boolean {
    return this.store.images.doesExist(imageKey(tenantId, kind, state));
  }

  get(tenantId: string, kind: ImageKind, state: ImageState = 'published'): CardImage | undefined {
    const v = this.store.images.get(imageKey(tenantId, kind, state));
    return v && { ...v, type: v.type as CardImage['type'] };
  }

  /** Checks and keeps an upload as the draft (400 with a Japanese message when it will not do). */
  async upload(
    tenantId: string,
    kind: ImageKind,
    input: unknown,
    by: string,
  ): Promise<{ width: number; height: number; bytes: number }> {
    const v = imageUploadSchema.parse(input ?? {});
    const data = Buffer.from(v.data, 'base64');
    if (data.length > MAX_IMAGE_BYTES) throw new AppError('image_too_large', '画像は 2 MB 以内にしてください', 413);
    const size = imageSize(data, v.type);
    if (!size)
      throw new AppError(
        'image_invalid',
        `画像を読み取れません (${v.type === 'image/png' ? 'PNG' : 'JPEG'} ではありません)`,
        400,
      );
    if (Math.min(size.width, size.height) < MIN_SIDE || Math.max(size.width, size.height) > MAX_SIDE) {
      throw new AppError(
        'image_size',
        `画像の大きさは縦横 ${MIN_SIDE}〜${MAX_SIDE} ピクセルにしてください (この画像: ${size.width}×${size.height})`,
        400,
      );
    }
    await this.store.images.put(imageKey(tenantId, kind, 'draft'), {
      type: v.type,
      data,
      updatedAt: Date.now(),
      updatedBy: by,
    });
    return { ...size, bytes: data.length };
  }

  /** The draft becomes what residents see. */
  async publish(tenantId: string, kind: ImageKind, by: string): Promise<void> {
    const draft = this.get(tenantId, kind, 'draft');
    if (!draft) throw new AppError('no_draft', '公開する画像がありません。先に画像をアップロードしてください', 409);
    await this.store.images.put(imageKey(tenantId, kind, 'published'), {
      ...draft,
      updatedAt: Date.now(),
      updatedBy: by,
    });
    await this.store.images.remove(imageKey(tenantId, kind, 'draft'));
  }

  shopCode(tenantId: string): string {
    const s = this.store.images.get(settingsKey(tenantId)) as unknown as { shopCode?: string } | undefined;
    return s?.shopCode ?? '';
  }

  async setShopCode(tenantId: string, input: unknown): Promise<string> {
    const { shopCode } = shopCodeSchema.parse(input ?? {});
    await this.store.images.put(settingsKey(tenantId), { shopCode } as never);
    return shopCode;
  }
}
