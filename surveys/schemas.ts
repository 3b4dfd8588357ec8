/** Shapes of surveys/: staff input (zod, Japanese messages), stored surveys and results. */
import { z } from '../core/zod.ts';
import { type Answers, type Question, QUESTION_TYPES } from './flow.ts';

export * from './flow.ts';

/** 'YYYY-MM-DDTHH:mm' (Tokyo) or an ISO time with its offset → epoch ms. */
export function parseTokyoTime(s: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(s.trim());
  if (m) return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]! - 9, +m[5]!, +(m[6] ?? 0));
  if (!/([+-]\d{2}:?\d{2}|Z)$/.test(s.trim())) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

const time = (what: string) =>
  z.string({ error: `${what}を指定してください (例: 2026-06-01T09:00、日本時間)` }).transform((s, ctx) => {
    const t = parseTokyoTime(s);
    if (t === undefined) {
      ctx.addIssue({ code: 'custom', message: `${what}の形式が正しくありません (例: 2026-06-01T09:00、日本時間)` });
      return z.NEVER;
    }
    return t;
  });

const idText = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_-]{1,40}$/, 'ID は半角英数字 40 文字以内です');

const optionInput = z.union([
  z.string().trim().min(1, '選択肢を入力してください').max(80, '選択肢は 80 文字以内です'),
  z.object({
    id: idText.optional(),
    label: z
      .string({ error: '選択肢を入力してください' })
      .trim()
      .min(1, '選択肢を入力してください')
      .max(80, '選択肢は 80 文字以内です'),
  }),
]);

const questionInput = z.object({
  id: idText.optional(),
  type: z.enum(QUESTION_TYPES, {
    message: '設問の種類は single・multiple・text・number・date・rating のいずれかです',
  }),
  text: z
    .string({ error: '設問文を入力してください' })
    .trim()
    .min(1, '設問文を入力してください')
    .max(300, '設問文は 300 文字以内です'),
  help: z.string().trim().max(500, '補足は 500 文字以内です').default(''),
  required: z.boolean({ error: 'required は true か false です' }).default(false),
  options: z.array(optionInput).max(20, '選択肢は 20 個までです').default([]),
  other: z.boolean({ error: 'other は true か false です' }).default(false),
  /** goTo: a question's id, its number (1 = the first), or '_end'. */
  branches: z
    .array(
      z.object({
        option: z.string({ error: '分岐の選択肢を指定してください' }).trim().min(1, '分岐の選択肢を指定してください'),
        goTo: z.union([z.string().trim().min(1), z.number().int().min(1)], { error: '分岐先を指定してください' }),
      }),
    )
    .max(20, '分岐は 20 個までです')
    .default([]),
});

export const surveyInputSchema = z
  .object({
    title: z
      .string({ error: 'タイトルを入力してください' })
      .trim()
      .min(1, 'タイトルを入力してください')
      .max(100, 'タイトルは 100 文字以内です'),
    introduction: z.string().trim().max(2000, '説明は 2000 文字以内です').default(''),
    questions: z
      .array(questionInput, { error: '設問を指定してください' })
      .min(1, '設問を 1 つ以上指定してください')
      .max(50, '設問は 50 個までです'),
    opensAt: time('回答の受付開始'),
    closesAt: time('回答の受付終了'),
    anonymous: z.boolean({ error: 'anonymous は true か false です' }).default(false),
    status: z
      .enum(['draft', 'open', 'closed'], { message: '状態は draft・open・closed のいずれかです' })
      .default('draft'),
  })
  .superRefine((s, ctx) => {
    if (s.closesAt <= s.opensAt)
      ctx.addIssue({ code: 'custom', path: ['closesAt'], message: '受付終了は受付開始より後にしてください' });
    const ids = new Set<string>();
    s.questions.forEach((q, i) => {
      const id = q.id ?? `q${i + 1}`;
      if (ids.has(id))
        ctx.addIssue({ code: 'custom', path: ['questions', i, 'id'], message: `設問 ID ${id} が重複しています` });
      ids.add(id);
      const choice = q.type === 'single' || q.type === 'multiple';
      if (choice && q.options.length < 2)
        ctx.addIssue({
          code: 'custom',
          path: ['questions', i, 'options'],
          message: `設問 ${i + 1}: 選択肢を 2 つ以上指定してください`,
        });
      if (!choice && (q.options.length || q.other))
        ctx.addIssue({
          code: 'custom',
          path: ['questions', i, 'options'],
          message: `設問 ${i + 1}: 選択肢は選択式の設問だけに指定できます`,
        });
    });
  });
export type SurveyInput = z.input<typeof surveyInputSchema>;

/** The questions of parsed input with ids filled in and branch targets as question ids. */
export function normaliseQuestions(input: z.output<typeof surveyInputSchema>['questions']): Question[] {
  const ids = input.map((q, i) => q.id ?? `q${i + 1}`);
  return input.map((q, i) => {
    const options = q.options.map((o, k) =>
      typeof o === 'string' ? { id: `o${k + 1}`, label: o } : { id: o.id ?? `o${k + 1}`, label: o.label },
    );
    return {
      id: ids[i]!,
      type: q.type,
      text: q.text,
      help: q.help,
      required: q.required,
      options,
      other: q.other,
      branches: q.branches.map((b) => ({
        // an option may be named by its label too
        option: options.find((o) => o.label === b.option && o.id !== b.option)?.id ?? b.option,
        goTo: typeof b.goTo === 'number' ? (ids[b.goTo - 1] ?? `#${b.goTo}`) : b.goTo,
      })),
    };
  });
}

export type SurveyStatus = 'draft' | 'open' | 'closed';

export interface Survey {
  tenantId: string;
  surveyId: string;
  title: string;
  introduction: string;
  questions: Question[];
  opensAt: string;
  closesAt: string;
  anonymous: boolean;
  status: SurveyStatus;
  createdBy: string;
  createdAt: string;
  updatedBy: string;
  updatedAt: string;
  version: number;
  /** Answer rows so far (partial saves included): above 0, only the window and texts may change. */
  answerRows?: number;
}

/** Where a survey stands for residents right now. */
export type SurveyPhase = 'draft' | 'not_open' | 'open' | 'closed';

export const answerValueSchema = z.object({
  choices: z.array(z.string().max(40)).max(30).default([]),
  text: z.string().max(2000, '2000 文字以内で入力してください').default(''),
});

export const answerInputSchema = z.object({
  answers: z.record(z.string().max(40), answerValueSchema, { error: '回答を指定してください' }),
  /** true: saved on the way (resumed later); false: sent. */
  partial: z.boolean({ error: 'partial は true か false です' }).default(false),
});

/** A resident's view of a survey and their own latest answer. */
export interface ResidentSurvey {
  survey: Pick<Survey, 'surveyId' | 'title' | 'introduction' | 'questions' | 'opensAt' | 'closesAt' | 'anonymous'>;
  phase: SurveyPhase;
  /** Japanese, for a survey not open now. */
  phaseMessage?: string;
  answers: Answers;
  partial: boolean;
  answeredAt: string | null;
}

export interface OptionCount {
  option: string;
  label: string;
  count: number;
  /** Of the complete answers to the survey, in percent (one decimal). */
  share: number;
}

export interface QuestionResult {
  questionId: string;
  text: string;
  type: string;
  options: OptionCount[];
}

export const CROSS_DIMENSIONS = ['gender', 'age_group', 'residence'] as const;
export type CrossDimension = (typeof CROSS_DIMENSIONS)[number];
export const CROSS_DIMENSION_LABELS: Record<CrossDimension, string> = {
  gender: '性別',
  age_group: '年代',
  residence: 'お住まい',
};

/** Answers per option and group; `null` for a group under 5 answers (shown as 「—」). */
export interface CrossTab {
  dimension: CrossDimension;
  questionId: string;
  groups: Array<{ id: string; label: string; answers: number | null }>;
  rows: Array<{ option: string; label: string; counts: Array<number | null> }>;
}

export interface SurveyResults {
  complete: number;
  partial: number;
  daily: Array<{ day: string; count: number }>;
  questions: QuestionResult[];
}

/** Groups smaller than this are not shown (LINE's privacy idea for cross-analysis). */
export const MIN_GROUP = 5;
