/** Inputs of ops/ records, validated at the boundary (zod), and their Japanese field labels. */
import { z } from '../core/zod.ts';

const text = (max: number) => z.string().trim().max(max, `${max} 文字以内で入力してください`);
const required = (max: number) => text(max).min(1, '入力してください');
/** An instant with its offset, e.g. 2026-12-06T10:00:00+09:00. */
const missing = (input: unknown) => input === undefined || input === null || input === '';
const instant = z.iso.datetime({
  offset: true,
  error: (i) =>
    missing(i.input) ? '日時を入力してください' : '日時の形式ではありません (例: 2026-12-06T10:00:00+09:00)',
});
const day = z.iso.date({
  error: (i) => (missing(i.input) ? '日付を入力してください' : '日付の形式ではありません (例: 2026-12-06)'),
});

export const RECORD_KINDS = ['incident', 'support', 'issue', 'stop'] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

export const KIND_LABELS: Record<RecordKind, string> = {
  incident: '障害報告書',
  support: '対応履歴管理表',
  issue: '運用課題管理表',
  stop: '計画停止',
};

export const INCIDENT_STATUSES = ['対応中', '復旧', '完了'] as const;
export const ISSUE_STATUSES = ['未着手', '対応中', '完了'] as const;

export const incidentCreate = z.strictObject({
  title: required(200),
  detectedAt: instant,
  recoveredAt: instant.nullable().default(null),
  impact: text(4000).default(''),
  cause: text(4000).default(''),
  response: text(4000).default(''),
  prevention: text(4000).default(''),
  status: z.enum(INCIDENT_STATUSES).default('対応中'),
});
export const supportCreate = z.strictObject({
  receivedAt: instant,
  tenantId: text(20).default(''),
  inquirer: required(200),
  channel: text(50).default('電話'),
  content: required(4000),
  responder: text(100).default(''),
  response: text(4000).default(''),
  answeredAt: instant.nullable().default(null),
});
export const issueCreate = z.strictObject({
  raisedOn: day,
  title: required(200),
  description: text(4000).default(''),
  owner: text(100).default(''),
  response: text(4000).default(''),
  status: z.enum(ISSUE_STATUSES).default('未着手'),
  dueOn: day.nullable().default(null),
  resolvedOn: day.nullable().default(null),
});
export const stopCreate = z
  .strictObject({
    startsAt: instant,
    endsAt: instant,
    reason: required(500),
  })
  .refine((s) => Date.parse(s.endsAt) > Date.parse(s.startsAt), {
    message: '終了日時は開始日時より後にしてください',
    path: ['endsAt'],
  });

export const CREATE_SCHEMAS = {
  incident: incidentCreate,
  support: supportCreate,
  issue: issueCreate,
  stop: stopCreate,
} as const;

/** A change: any field of the kind, plus why (note). */
export const PATCH_SCHEMAS = {
  incident: incidentCreate.partial().extend({ note: text(500).optional() }),
  support: supportCreate.partial().extend({ note: text(500).optional() }),
  issue: issueCreate.partial().extend({ note: text(500).optional() }),
  stop: z.strictObject({
    startsAt: instant.optional(),
    endsAt: instant.optional(),
    reason: required(500).optional(),
    note: text(500).optional(),
  }),
} as const;

export const FIELD_LABELS: Record<RecordKind, Record<string, string>> = {
  incident: {
    title: '件名',
    detectedAt: '検知日時',
    recoveredAt: '復旧日時',
    impact: '影響範囲',
    cause: '原因',
    response: '対応内容',
    prevention: '再発防止策',
    status: '状況',
  },
  support: {
    receivedAt: '受付日時',
    tenantId: '団体',
    inquirer: '問い合わせ者',
    channel: '受付方法',
    content: '問い合わせ内容',
    responder: '対応者',
    response: '回答内容',
    answeredAt: '回答日時',
  },
  issue: {
    raisedOn: '起票日',
    title: '課題',
    description: '内容',
    owner: '担当',
    response: '対応内容',
    status: '状況',
    dueOn: '期限',
    resolvedOn: '完了日',
  },
  stop: { startsAt: '開始日時', endsAt: '終了日時', reason: '理由・内容' },
};
