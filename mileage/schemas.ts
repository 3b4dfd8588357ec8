/**
 * The mileage API's shapes: what staff and residents send (input schemas, validated at the
 * boundary with Japanese messages) and what they get back (the exported types). The pages helper
 * builds on these; keep them stable.
 */
import { daySchema } from '../core/time.ts';
import { z } from '../core/zod.ts';

export const METHODS = ['qr', 'self_report', 'grant'] as const;
export type Method = (typeof METHODS)[number];
export const METHOD_LABELS: Record<Method, string> = {
  qr: 'QR コード読み取り',
  self_report: '自己申告',
  grant: '職員による付与',
};
export const ENTRY_KIND_LABELS: Record<string, string> = {
  scan: 'QR コード',
  self_report: '自己申告',
  grant: '付与',
  correction: '訂正',
};

const idSchema = z.string().uuid('ID の形式が正しくありません');
const text = (label: string, max: number) =>
  z
    .string({ error: `${label}を入力してください` })
    .trim()
    .min(1, `${label}を入力してください`)
    .max(max, `${label}は ${max} 文字以内です`);

// ---------------------------------------------------------------- staff input

/** POST /programmes (and PUT /programmes/:id, every field optional there). */
export const programmeInputSchema = z
  .object({
    fiscalYear: z.coerce
      .number({ error: '年度は数値で指定してください' })
      .int('年度は整数で指定してください')
      .min(2019, '年度は 2019 以降です')
      .max(2100, '年度が大きすぎます'),
    name: text('名称', 100),
    description: z.string().trim().max(2000, '説明は 2000 文字以内です').default(''),
    startsOn: daySchema,
    endsOn: daySchema,
    goalPoints: z.coerce
      .number({ error: '目標ポイントは数値で指定してください' })
      .int('目標ポイントは整数で指定してください')
      .min(1, '目標ポイントは 1 以上です')
      .max(100_000, '目標ポイントは 100000 以下です'),
    cardValidMonths: z.coerce
      .number({ error: 'カードの有効期間は数値で指定してください' })
      .int('カードの有効期間は整数 (月数) で指定してください')
      .min(1, 'カードの有効期間は 1 か月以上です')
      .max(60, 'カードの有効期間は 60 か月以内です')
      .default(12),
  })
  .refine((p) => p.startsOn <= p.endsOn, { message: '終了日は開始日以降にしてください', path: ['endsOn'] });
export type ProgrammeInput = z.input<typeof programmeInputSchema>;

const capSchema = (label: string) =>
  z.coerce
    .number({ error: `${label}は数値で指定してください` })
    .int(`${label}は整数で指定してください`)
    .min(0, `${label}は 0 (上限なし) 以上です`)
    .max(1000, `${label}は 1000 以下です`)
    .default(0);

const activityFields = {
  name: text('活動名', 60),
  points: z.coerce
    .number({ error: 'ポイントは数値で指定してください' })
    .int('ポイントは整数で指定してください')
    .min(1, 'ポイントは 1 以上です')
    .max(10_000, 'ポイントは 10000 以下です'),
  method: z.enum(METHODS, { message: '獲得方法は qr・self_report・grant のいずれかです' }),
  /** The quick-reply button of a self-report activity (LINE shows at most 20 characters). */
  selfReportLabel: z.string().trim().max(20, '自己申告のボタン名は 20 文字以内です').default(''),
  dailyCap: capSchema('1 日の上限回数'),
  periodCap: capSchema('期間中の上限回数'),
  /** Order in lists (default: after the programme's last activity). */
  sort: z.coerce.number().int().min(-1000).max(1000).optional(),
};
/** POST /programmes/:id/activities. */
export const activityInputSchema = z
  .object(activityFields)
  .refine((a) => a.method !== 'self_report' || a.selfReportLabel !== '', {
    message: '自己申告の活動にはボタン名 (例: 今日30分歩いた) を指定してください',
    path: ['selfReportLabel'],
  });
export type ActivityInput = z.input<typeof activityInputSchema>;
/** PUT /programmes/:id/activities/:activityId (a points change applies to later awards only). */
export const activityPatchSchema = z.object(activityFields).partial();

/** POST /sessions: an event or venue whose QR code residents scan (once per resident). */
export const sessionInputSchema = z
  .object({
    programmeId: idSchema,
    activityId: idSchema,
    title: text('名称', 100),
    heldOn: daySchema,
    place: z.string().trim().max(100, '場所は 100 文字以内です').default(''),
    validFrom: z.iso.datetime({
      offset: true,
      message: '受付開始は日時 (例: 2026-06-01T09:00:00+09:00) で指定してください',
    }),
    validUntil: z.iso.datetime({
      offset: true,
      message: '受付終了は日時 (例: 2026-06-01T17:00:00+09:00) で指定してください',
    }),
  })
  .refine((s) => Date.parse(s.validFrom) < Date.parse(s.validUntil), {
    message: '受付終了は受付開始より後にしてください',
    path: ['validUntil'],
  });
export type SessionInput = z.input<typeof sessionInputSchema>;
export const sessionPatchSchema = z.object({
  title: text('名称', 100).optional(),
  heldOn: daySchema.optional(),
  place: z.string().trim().max(100).optional(),
  validFrom: z.iso.datetime({ offset: true }).optional(),
  validUntil: z.iso.datetime({ offset: true }).optional(),
});

const reasonSchema = text('理由', 200);
/** A client's key that makes a retried grant land once (e.g. a UUID made when the form opened). */
const grantKeySchema = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_.:-]{8,80}$/, '再送キーは 8〜80 文字の英数字・記号 (_ . : -) です');

/** POST /programmes/:id/grants: one grant by member number. */
export const grantInputSchema = z.object({
  memberNo: z.string().trim().min(1, '会員番号を入力してください').max(40),
  activityId: idSchema,
  /** The day the activity took place (Tokyo); today when omitted. */
  activityOn: daySchema.optional(),
  reason: reasonSchema,
  key: grantKeySchema,
});
export type GrantInput = z.input<typeof grantInputSchema>;

/** POST /programmes/:id/corrections: a negative entry naming the entry it corrects. */
export const correctionInputSchema = z.object({
  entryId: z.string().min(1, '訂正する記録の ID を指定してください').max(200),
  /** Points to take away (positive number); the whole entry when omitted. */
  points: z.coerce.number().int('ポイントは整数で指定してください').min(1, 'ポイントは 1 以上です').optional(),
  reason: reasonSchema,
});
export type CorrectionInput = z.input<typeof correctionInputSchema>;

/** POST /programmes/:id/imports: a CSV or xlsx file (base64) to preview; nothing is written. */
export const importInputSchema = z.object({
  fileName: z.string().trim().min(1, 'ファイル名を指定してください').max(200),
  /** The file's bytes, base64. */
  data: z.string().min(1, 'ファイルが空です').max(4_000_000, 'ファイルは 3 MB までです'),
  /** The reason recorded with every row that has none of its own. */
  reason: z.string().trim().max(200).default(''),
});

/** POST /designs and PUT /designs/:id (drafts only). */
export const designInputSchema = z.object({
  name: text('デザイン名', 60),
  title: text('カードの表題', 40).default('三重とこわか健康応援カード'),
  note: z.string().trim().max(200, '注記は 200 文字以内です').default(''),
  colour: z
    .string()
    .regex(/^#[0-9a-fA-F]{6}$/, '色は #rrggbb の形式で指定してください')
    .default('#1d6fa5'),
  /** The artwork, PNG or JPEG, base64, at most 1 MB. */
  image: z.string().max(1_500_000, '画像は 1 MB までです').optional(),
});
export type DesignInput = z.input<typeof designInputSchema>;

export const historyQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  offset: z.coerce.number().int().min(0).max(100_000).default(0),
});

/** Participants listed a page at a time (GET …/participants and the staff page). */
export const PARTICIPANTS_PER_PAGE = 50;
export const PARTICIPANTS_MAX_PER_PAGE = 500;
export const PARTICIPANT_ORDERS = { points: 'ポイントの多い順', member: '会員番号順' } as const;
export type ParticipantOrder = keyof typeof PARTICIPANT_ORDERS;
const LIMIT_MESSAGE = `1 ページの件数は 1〜${PARTICIPANTS_MAX_PER_PAGE} の整数で指定してください`;
const OFFSET_MESSAGE = '開始位置は 0 以上の整数で指定してください';
export const participantsQuerySchema = z.object({
  limit: z.coerce
    .number({ message: LIMIT_MESSAGE })
    .int(LIMIT_MESSAGE)
    .min(1, LIMIT_MESSAGE)
    .max(PARTICIPANTS_MAX_PER_PAGE, LIMIT_MESSAGE)
    .default(PARTICIPANTS_PER_PAGE),
  offset: z.coerce
    .number({ message: OFFSET_MESSAGE })
    .int(OFFSET_MESSAGE)
    .min(0, OFFSET_MESSAGE)
    .max(10_000_000, OFFSET_MESSAGE)
    .default(0),
  /** Part of a member (card) number; hyphens, spaces and full-width digits allowed. */
  q: z
    .string({ message: '会員番号 (カード番号) は 1 つだけ指定してください' })
    .max(40, '会員番号 (カード番号) は 40 文字以内で入力してください')
    .default('')
    .transform((v) => v.normalize('NFKC').trim())
    .refine((v) => /^[\d\s-]*$/.test(v), '会員番号 (カード番号) は数字とハイフンで入力してください'),
  order: z
    .enum(Object.keys(PARTICIPANT_ORDERS) as [ParticipantOrder, ...ParticipantOrder[]], {
      message: '並び順は points (ポイントの多い順) か member (会員番号順) で指定してください',
    })
    .default('points'),
});
export type ParticipantsQuery = z.output<typeof participantsQuerySchema>;

/** The digits a participants search matches member numbers by. */
export const searchDigits = (q: string) => q.replace(/\D/g, '');

// ---------------------------------------------------------------- resident input

/** POST mileage/scan (resident API). */
export const scanInputSchema = z.object({
  code: z.string().trim().min(10, 'QR コードの内容が正しくありません').max(400, 'QR コードの内容が正しくありません'),
});

// ---------------------------------------------------------------- what the API answers

export interface Programme {
  tenantId: string;
  programmeId: string;
  fiscalYear: number;
  name: string;
  description: string;
  startsOn: string;
  endsOn: string;
  goalPoints: number;
  cardValidMonths: number;
  createdBy: string;
  createdAt: string;
  updatedBy: string;
  updatedAt: string;
  activities: Activity[];
}

export interface Activity {
  activityId: string;
  programmeId: string;
  name: string;
  points: number;
  method: Method;
  selfReportLabel: string;
  dailyCap: number;
  periodCap: number;
  sort: number;
  retired: boolean;
}

export interface Session {
  sessionId: string;
  tenantId: string;
  programmeId: string;
  activityId: string;
  title: string;
  heldOn: string;
  place: string;
  validFrom: string;
  validUntil: string;
  createdBy: string;
  createdAt: string;
}

/** GET /sessions/:id/code: what the QR code encodes. */
export interface SessionCode {
  code: string;
  /** The LIFF URL residents' cameras open (undefined: the tenant has no LIFF app yet). */
  url: string | null;
  expiresAt: string;
}

export interface LedgerEntry {
  entryId: string;
  activityId: string;
  activityName: string;
  kind: string;
  kindLabel: string;
  points: number;
  activityOn: string;
  corrects: string;
  reason: string;
  actor: string;
  recordedAt: string;
}

export interface Card {
  cardNo: string;
  designId: string;
  issuedAt: string;
  /** Last valid day (Tokyo, YYYY-MM-DD). */
  validUntil: string;
  expired: boolean;
}

/** The answer to an award (scan, self-report, grant). */
export interface AwardResult {
  awarded: boolean;
  /** Why nothing was added when awarded is false: already (this rule already awarded). */
  reason?: 'already';
  entryId: string;
  points: number;
  balance: number;
  goal: number;
  memberNo: string;
  /** The card, when this award reached the goal. */
  cardIssued?: Card;
}

export interface ResidentSummary {
  programme: {
    programmeId: string;
    name: string;
    startsOn: string;
    endsOn: string;
    goalPoints: number;
    activities: Array<Pick<Activity, 'activityId' | 'name' | 'points' | 'method' | 'dailyCap' | 'periodCap'>>;
  } | null;
  memberNo: string | null;
  balance: number;
  goal: number;
  /** 0..1 */
  progress: number;
  recent: LedgerEntry[];
  card: Card | null;
}

export interface Participant {
  memberNo: string;
  balance: number;
  entries: number;
  firstAt: string;
  lastAt: string;
  card: Card | null;
}

/** A page of a programme's participants, with how many there are. */
export interface ParticipantsPage extends ParticipantsQuery {
  participants: Participant[];
  /** Participants that match the search (all of them without one). */
  total: number;
  /** The whole programme: participants and those at or over the goal. */
  summary: { participants: number; reachedGoal: number };
}

export interface ImportRowResult {
  row: number;
  memberNo: string;
  activity: string;
  activityOn: string;
  points: number;
  reason: string;
  /** Japanese error messages for this row ([] when it can be applied). */
  errors: string[];
}

export interface ImportPreview {
  importId: string;
  fileName: string;
  rows: ImportRowResult[];
  valid: number;
  invalid: number;
  expiresAt: string;
}

export interface ImportConfirmation {
  importId: string;
  applied: number;
  alreadyApplied: number;
  failed: Array<{ row: number; message: string }>;
}

export interface Design {
  designId: string;
  name: string;
  title: string;
  note: string;
  colour: string;
  hasImage: boolean;
  imageType: string;
  status: 'draft' | 'published';
  createdBy: string;
  createdAt: string;
  publishedAt: string | null;
}
