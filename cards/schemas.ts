import { z } from '../core/zod.ts';
import type { HouseholdKind } from './eligibility.ts';

export const MAX_CHILDREN = 5;
export const HOUSEHOLD_KINDS = ['children', 'pregnant', 'grandparent'] as const satisfies readonly HouseholdKind[];
export const KIND_LABELS: Record<HouseholdKind, string> = {
  children: '18歳到達後の3月31日までのお子さまがいる世帯',
  pregnant: '妊娠中の世帯',
  grandparent: '子育てを応援する祖父母',
};

const realDay = (v: string) => {
  const d = new Date(`${v}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === v;
};

const birthDate = z
  .string({ message: '生年月日を入力してください' })
  .trim()
  .min(1, '生年月日を入力してください')
  .regex(/^\d{4}-\d{2}-\d{2}$/, { message: '生年月日は YYYY-MM-DD の形式で入力してください', abort: true })
  .refine((v) => realDay(v) && v >= '1900-01-01', '実在する生年月日を入力してください');

const childSchema = z.object({
  name: z
    .string({ message: 'お子さまの氏名を入力してください' })
    .trim()
    .min(1, 'お子さまの氏名を入力してください')
    .max(50, 'お子さまの氏名は 50 文字以内で入力してください'),
  birthDate,
});

/** What a resident registers (the form's fields). `today` (Tokyo) bounds birth dates. */
export const householdInputSchema = (today: string) =>
  z
    .object({
      holderName: z
        .string({ message: 'カード対象者の氏名を入力してください' })
        .trim()
        .min(1, 'カード対象者の氏名を入力してください')
        .max(50, 'カード対象者の氏名は 50 文字以内で入力してください'),
      relationship: z
        .string({ message: '続柄を入力してください' })
        .trim()
        .min(1, '続柄を入力してください')
        .max(20, '続柄は 20 文字以内で入力してください'),
      kind: z.enum(HOUSEHOLD_KINDS, { message: '世帯の区分を選んでください' }),
      children: z
        .array(childSchema, { message: 'お子さまの情報の形式が不正です' })
        .max(MAX_CHILDREN, `お子さまは ${MAX_CHILDREN} 人まで登録できます`)
        .default([]),
    })
    .strict()
    .superRefine((v, ctx) => {
      if (v.kind === 'children' && v.children.length === 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['children', 0, 'name'],
          message: '第1子の氏名と生年月日を入力してください',
        });
      }
      if (v.kind !== 'children' && v.children.length > 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['children'],
          message: '妊娠中の世帯・祖父母の登録では、お子さまの情報は入力しないでください',
        });
      }
      v.children.forEach((c, i) => {
        if (c.birthDate > today) {
          ctx.addIssue({
            code: 'custom',
            path: ['children', i, 'birthDate'],
            message: '生年月日に未来の日付は入力できません',
          });
        }
      });
    });

export type HouseholdInput = z.output<ReturnType<typeof householdInputSchema>>;
