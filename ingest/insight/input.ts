import { AppError } from '../../core/errors.ts';
import { tenantIdSchema } from '../../core/tenants.ts';
import { z } from '../../core/zod.ts';
import { dayDiff, isIsoDay, tokyoDay } from './dates.ts';
import type { DeliveryKind } from './store.ts';

/** Longest backfill in one request: a year (LINE allows 60 calls an hour per channel). */
export const MAX_BACKFILL_DAYS = 366;

const isoDay = (label: string) =>
  z
    .string({ error: `${label}を yyyy-MM-dd 形式で指定してください` })
    .trim()
    .refine(isIsoDay, `${label}は yyyy-MM-dd 形式の実在する日付で指定してください (例: 2026-01-31)`);

export const backfillInputSchema = z.object({
  tenant: z.literal('all').or(tenantIdSchema),
  from: isoDay('開始日 (from) '),
  to: isoDay('終了日 (to) '),
});
export type BackfillInput = z.infer<typeof backfillInputSchema>;

/** Validates a backfill request: shape (zod), then the range against today in Asia/Tokyo. */
export function parseBackfillInput(input: unknown, now: number): BackfillInput {
  const b = backfillInputSchema.parse(input);
  if (b.from > b.to) {
    throw new AppError('invalid_date_range', `開始日 ${b.from} が終了日 ${b.to} より後になっています`, 400);
  }
  const today = tokyoDay(now);
  if (b.to > today) {
    throw new AppError(
      'date_in_future',
      `終了日 ${b.to} は未来の日付です (今日は ${today}、日本時間)。前日までの日付を指定してください`,
      400,
    );
  }
  const days = dayDiff(b.from, b.to) + 1;
  if (days > MAX_BACKFILL_DAYS) {
    throw new AppError(
      'range_too_long',
      `期間が長すぎます (${days} 日)。1 回に指定できるのは ${MAX_BACKFILL_DAYS} 日までです`,
      400,
    );
  }
  return b;
}

export const trackDeliveryInputSchema = z.discriminatedUnion('kind', [
  z.object({
    tenantId: tenantIdSchema,
    kind: z.literal('aggregation_unit'),
    /** LINE's rule for custom aggregation unit names. */
    key: z.string().regex(/^[a-zA-Z0-9_]{1,30}$/, '集計単位名は英数字と _ の 30 文字以内です'),
    sentAt: z.union([z.date(), z.number().int().positive(), z.iso.datetime({ offset: true })]),
  }),
  z.object({
    tenantId: tenantIdSchema,
    kind: z.literal('request_id'),
    key: z.string().regex(/^[A-Za-z0-9-]{1,100}$/, 'リクエスト ID の形式が不正です'),
    sentAt: z.union([z.date(), z.number().int().positive(), z.iso.datetime({ offset: true })]),
  }),
]);
export type TrackDeliveryInput = {
  tenantId: string;
  kind: DeliveryKind;
  /** The custom aggregation unit name, or the x-line-request-id of the narrowcast/broadcast. */
  key: string;
  /** When LINE accepted the send (Date, epoch ms or ISO 8601). */
  sentAt: Date | number | string;
};

export function sentAtMs(v: Date | number | string): number {
  return v instanceof Date ? v.getTime() : typeof v === 'number' ? v : Date.parse(v);
}
