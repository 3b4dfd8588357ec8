import { tenantIdSchema } from '../core/tenants.ts';
import { z } from '../core/zod.ts';
import { monthSchema } from '../core/time.ts';

export const MINUTES_KINDS = ['定例会', '個別検討会議', '研修', 'その他'] as const;
export const MINUTES_STATUSES = ['draft', 'approved'] as const;
export const MINUTES_STATUS_LABELS: Record<(typeof MINUTES_STATUSES)[number], string> = {
  draft: '下書き',
  approved: '承認済み',
};
export const ISSUE_STATUSES = ['未着手', '対応中', '完了'] as const;

/** 'YYYY-MM-DD' that is a real calendar day. */
export const isoDateSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, '日付は YYYY-MM-DD の形式で指定してください (例: 2026-04-10)')
  .refine((s) => isRealDay(s), '存在しない日付です')
  .refine((s) => s >= '2000-01-01' && s <= '2100-12-31', '2000年から2100年までの日付を指定してください');

function isRealDay(day: string): boolean {
  const t = Date.parse(`${day}T00:00:00Z`);
  return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === day;
}

/**
 * A date and time: 'YYYY-MM-DDTHH:mm[:ss]' (or with a space) read as Asia/Tokyo, or an ISO instant
 * with Z or an offset. → epoch ms.
 */
export const tokyoDateTimeSchema = z
  .string()
  .trim()
  .transform((s, ctx) => {
    const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?)(Z|[+-]\d{2}:\d{2})?$/.exec(s);
    const t = m ? Date.parse(`${m[1]}T${m[2]}${m[3] ?? '+09:00'}`) : NaN;
    if (!m || Number.isNaN(t) || !isRealDay(m[1]!) || m[1]! < '2000-01-01' || m[1]! > '2100-12-31') {
      ctx.addIssue({
        code: 'custom',
        message: '日時は YYYY-MM-DDTHH:mm の形式 (日本時間) で指定してください (例: 2026-04-10T14:00)',
      });
      return z.NEVER;
    }
    return t;
  });

const text = (label: string, max: number) => z.string().trim().max(max, `${label}は ${max} 文字以内です`);
const required = (label: string, max: number) => text(label, max).min(1, `${label}を入力してください`);

export const attendeeSchema = z.strictObject({
  organization: text('所属', 60).default(''),
  name: required('出席者の氏名', 60),
});

export const actionItemSchema = z.strictObject({
  task: required('対応事項', 500),
  owner: required('対応事項の担当', 60),
  due: isoDateSchema.nullable().default(null),
});

/** Every field of a minutes record as given by a person; what a create needs is required below. */
const minutesFields = {
  heldAt: tokyoDateTimeSchema,
  endedAt: tokyoDateTimeSchema.nullable(),
  kind: z.enum(MINUTES_KINDS, { message: `種別は ${MINUTES_KINDS.join('・')} のいずれかです` }),
  title: required('件名', 100),
  place: text('場所', 100),
  tenantIds: z.array(tenantIdSchema).max(30, '関係団体は 30 件までです'),
  attendees: z.array(attendeeSchema).max(100, '出席者は 100 人までです'),
  agenda: z.array(required('議題', 200)).max(50, '議題は 50 件までです'),
  discussion: text('協議内容', 20_000),
  decisions: z.array(required('決定事項', 500)).max(50, '決定事項は 50 件までです'),
  actionItems: z.array(actionItemSchema).max(100, '対応事項は 100 件までです'),
};

export const minutesCreateSchema = z.strictObject({
  ...minutesFields,
  endedAt: minutesFields.endedAt.default(null),
  place: minutesFields.place.default(''),
  tenantIds: minutesFields.tenantIds.default([]),
  attendees: minutesFields.attendees.default([]),
  agenda: minutesFields.agenda.default([]),
  discussion: minutesFields.discussion.default(''),
  decisions: minutesFields.decisions.default([]),
  actionItems: minutesFields.actionItems.default([]),
});
export type MinutesInput = z.infer<typeof minutesCreateSchema>;

export const minutesPatchSchema = z.strictObject({
  heldAt: minutesFields.heldAt.optional(),
  endedAt: minutesFields.endedAt.optional(),
  kind: minutesFields.kind.optional(),
  title: minutesFields.title.optional(),
  place: minutesFields.place.optional(),
  tenantIds: minutesFields.tenantIds.optional(),
  attendees: minutesFields.attendees.optional(),
  agenda: minutesFields.agenda.optional(),
  discussion: minutesFields.discussion.optional(),
  decisions: minutesFields.decisions.optional(),
  actionItems: minutesFields.actionItems.optional(),
  /** The version the change was made on; a newer stored version means someone else changed it (409). */
  version: z.number().int().positive().optional(),
});
export type MinutesPatch = z.infer<typeof minutesPatchSchema>;

export const issueCreateSchema = z.strictObject({
  tenantId: tenantIdSchema,
  raisedOn: isoDateSchema.optional(),
  category: required('分類', 50),
  description: required('課題の内容', 2000),
  response: text('対応内容', 2000).default(''),
  owner: text('担当', 60).default(''),
  status: z.enum(ISSUE_STATUSES, { message: `状況は ${ISSUE_STATUSES.join('・')} のいずれかです` }).default('未着手'),
  dueOn: isoDateSchema.nullable().default(null),
  resolvedOn: isoDateSchema.nullable().default(null),
  note: text('変更の理由', 500).default(''),
});
export type IssueInput = z.infer<typeof issueCreateSchema>;

export const issuePatchSchema = z.strictObject({
  tenantId: tenantIdSchema.optional(),
  raisedOn: isoDateSchema.optional(),
  category: required('分類', 50).optional(),
  description: required('課題の内容', 2000).optional(),
  response: text('対応内容', 2000).optional(),
  owner: text('担当', 60).optional(),
  status: z.enum(ISSUE_STATUSES, { message: `状況は ${ISSUE_STATUSES.join('・')} のいずれかです` }).optional(),
  dueOn: isoDateSchema.nullable().optional(),
  resolvedOn: isoDateSchema.nullable().optional(),
  note: text('変更の理由', 500).default(''),
  version: z.number().int().positive().optional(),
});
export type IssuePatch = z.infer<typeof issuePatchSchema>;

/** One month schema for the suite (core/time.ts). */
export { monthSchema };

export const minutesListQuerySchema = z.object({
  month: monthSchema.optional(),
  tenant: tenantIdSchema.optional(),
  status: z.enum(MINUTES_STATUSES, { message: '状態は draft (下書き) か approved (承認済み) です' }).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});

export const issueListQuerySchema = z.object({
  month: monthSchema.optional(),
  tenant: tenantIdSchema.optional(),
  status: z.enum(ISSUE_STATUSES, { message: `状況は ${ISSUE_STATUSES.join('・')} のいずれかです` }).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});

// Tokyo dates live in core/time.ts; reports' modules import them from here as before.
export { tokyoIso, tokyoMonth, tokyoMonthRange, tokyoToday } from '../core/time.ts';
