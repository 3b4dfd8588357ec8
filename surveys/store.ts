/**
 * Surveys and answers in ClickHouse: staff create and edit surveys (every change a new version row,
 * audited), residents' answers are appended (the latest row per resident key wins).
 *
 * Editing: freely until the first answer row; after it only the window, the status and texts that
 * do not change meaning (title, introduction, question wording and help) — never types, options,
 * order, required, branching or anonymity (409 survey_locked).
 */
import { randomUUID } from 'node:crypto';
import type { AuditContext, AuditLog } from '../core/audit.ts';
import { type ClickHouseClient, query } from '../core/clickhouse.ts';
import { AppError } from '../core/errors.ts';
import { chDateTime, nextVersion } from '../core/time.ts';
import { z } from '../core/zod.ts';
import {
  type Answers,
  branchProblems,
  checkAnswers,
  normaliseQuestions,
  type Question,
  type ResidentSurvey,
  type Survey,
  type SurveyPhase,
  answerInputSchema,
  surveyInputSchema,
} from './schemas.ts';
import { residentKey, type SurveyKeys } from './resident-key.ts';

/** What surveys need of delivery's residents (delivery.residents). */
export interface ResidentAttributes {
  attributes(tenantId: string, userId: string): Promise<Record<string, string[]>>;
}

const surveyRow = z.object({
  tenant_id: z.string(),
  survey_id: z.string(),
  title: z.string(),
  introduction: z.string(),
  questions: z.string(),
  opens_ms: z.coerce.number(),
  closes_ms: z.coerce.number(),
  anonymous: z.coerce.number(),
  status: z.enum(['draft', 'open', 'closed']),
  created_by: z.string(),
  created_ms: z.coerce.number(),
  updated_by: z.string(),
  updated_ms: z.coerce.number(),
  version: z.coerce.number(),
});
const countRow = z.object({ n: z.coerce.number() });
const respondentsRow = z.object({
  tenant_id: z.string(),
  survey_id: z.string(),
  complete: z.coerce.number(),
  partial: z.coerce.number(),
});
const answerRow = z.object({
  question_ids: z.array(z.string()),
  choices: z.array(z.array(z.string())),
  texts: z.array(z.string()),
  partial: z.coerce.number(),
  answered_ms: z.coerce.number(),
  version: z.coerce.number(),
});

const iso = (ms: number) => new Date(ms).toISOString();

function toSurvey(r: z.infer<typeof surveyRow>): Survey {
  return {
    tenantId: r.tenant_id,
    surveyId: r.survey_id,
    title: r.title,
    introduction: r.introduction,
    questions: JSON.parse(r.questions) as Question[],
    opensAt: iso(r.opens_ms),
    closesAt: iso(r.closes_ms),
    anonymous: r.anonymous === 1,
    status: r.status,
    createdBy: r.created_by,
    createdAt: iso(r.created_ms),
    updatedBy: r.updated_by,
    updatedAt: iso(r.updated_ms),
    version: r.version,
  };
}

/** Age group of a birth year in a Tokyo year: 10代以下, 20代 … 60代, 70代以上 ('' unknown). */
export function ageGroup(birthYear: string | undefined, year: number): string {
  if (!birthYear || !/^\d{4}$/.test(birthYear)) return '';
  const age = year - Number(birthYear);
  if (age < 0 || age > 130) return '';
  if (age < 20) return '10代以下';
  if (age >= 70) return '70代以上';
  return `${Math.floor(age / 10) * 10}代`;
}

/** A survey's phase at `now`, and the residents' words for it. */
export function phaseOf(s: Pick<Survey, 'status' | 'opensAt' | 'closesAt'>, now: number): SurveyPhase {
  if (s.status === 'draft') return 'draft';
  if (s.status === 'closed' || now >= Date.parse(s.closesAt)) return 'closed';
  if (now < Date.parse(s.opensAt)) return 'not_open';
  return 'open';
}

const tokyo = new Intl.DateTimeFormat('ja-JP', {
  timeZone: 'Asia/Tokyo',
  year: 'numeric',
  month: 'long',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});

export function phaseMessage(s: Pick<Survey, 'opensAt' | 'closesAt'>, phase: SurveyPhase): string | undefined {
  if (phase === 'not_open')
    return `このアンケートはまだ受付前です。${tokyo.format(new Date(s.opensAt))}から回答できます。`;
  if (phase === 'closed') return 'このアンケートの回答の受付は終了しました。ご協力ありがとうございました。';
  if (phase === 'draft') return 'このアンケートは公開されていません。';
  return undefined;
}

/** What may not change once a survey has answers: everything but wording, help, window and status. */
function structure(s: Pick<Survey, 'questions' | 'anonymous'>): string {
  return JSON.stringify({
    anonymous: s.anonymous,
    questions: s.questions.map((q) => ({
      id: q.id,
      type: q.type,
      required: q.required,
      options: q.options,
      other: q.other,
      branches: q.branches,
    })),
  });
}

export interface SurveyStoreDeps {
  ch: ClickHouseClient;
  audit: AuditLog;
  keys: SurveyKeys;
  residents?: ResidentAttributes;
  now: () => number;
}

export class SurveyStore {
  constructor(private readonly d: SurveyStoreDeps) {}

  get ch(): ClickHouseClient {
    return this.d.ch;
  }

  async list(tenantId: string): Promise<Survey[]> {
    const rows = await query(this.d.ch, 'surveys.list', { tenant: tenantId, survey: '' }, surveyRow);
    return rows.map(toSurvey);
  }

  async find(tenantId: string, surveyId: string): Promise<Survey | undefined> {
    if (!/^[0-9a-f-]{36}$/.test(surveyId)) return undefined;
    const rows = await query(this.d.ch, 'surveys.list', { tenant: tenantId, survey: surveyId }, surveyRow);
    return rows[0] ? toSurvey(rows[0]) : undefined;
  }

  async get(tenantId: string, surveyId: string): Promise<Survey> {
    const s = await this.find(tenantId, surveyId);
    if (!s) throw new AppError('survey_not_found', 'アンケートが見つかりません', 404);
    return { ...s, answerRows: await this.answerRows(tenantId, surveyId) };
  }

  /** Residents who sent each survey of these tenants, and who saved it only partly (key `tenant/survey`). */
  async respondents(tenantIds: readonly string[]): Promise<Map<string, { complete: number; partial: number }>> {
    const rows = await query(this.d.ch, 'surveys.respondents', { tenants: [...tenantIds], survey: '' }, respondentsRow);
    return new Map(rows.map((r) => [`${r.tenant_id}/${r.survey_id}`, { complete: r.complete, partial: r.partial }]));
  }

  async answerRows(tenantId: string, surveyId: string): Promise<number> {
    const rows = await query(this.d.ch, 'surveys.answer_rows', { tenant: tenantId, survey: surveyId }, countRow);
    return rows[0]?.n ?? 0;
  }

  #parse(
    input: unknown,
  ): Omit<Survey, 'tenantId' | 'surveyId' | 'createdBy' | 'createdAt' | 'updatedBy' | 'updatedAt' | 'version'> {
    const v = surveyInputSchema.parse(input);
    const questions = normaliseQuestions(v.questions);
    const problems = branchProblems(questions);
    if (problems.length)
      throw new AppError('invalid_branch', problems[0]!.message, 400, {
        fields: problems.map((p) => ({ field: p.path, message: p.message })),
      });
    return {
      title: v.title,
      introduction: v.introduction,
      questions,
      opensAt: iso(v.opensAt),
      closesAt: iso(v.closesAt),
      anonymous: v.anonymous,
      status: v.status,
    };
  }

  async #write(s: Survey): Promise<void> {
    await this.d.ch.insert({
      table: 'surveys',
      format: 'JSONEachRow',
      values: [
        {
          tenant_id: s.tenantId,
          survey_id: s.surveyId,
          title: s.title,
          introduction: s.introduction,
          questions: JSON.stringify(s.questions),
          opens_at: chDateTime(Date.parse(s.opensAt)),
          closes_at: chDateTime(Date.parse(s.closesAt)),
          anonymous: s.anonymous ? 1 : 0,
          status: s.status,
          created_by: s.createdBy,
          created_at: chDateTime(Date.parse(s.createdAt)),
          updated_by: s.updatedBy,
          updated_at: chDateTime(Date.parse(s.updatedAt)),
          version: s.version,
          is_deleted: 0,
        },
      ],
    });
  }

  async create(tenantId: string, input: unknown, by: AuditContext, actor: string): Promise<Survey> {
    const body = this.#parse(input);
    const at = iso(this.d.now());
    const s: Survey = {
      ...body,
      tenantId,
      surveyId: randomUUID(),
      createdBy: actor,
      createdAt: at,
      updatedBy: actor,
      updatedAt: at,
      version: nextVersion(),
    };
    await this.d.audit.by(by, { action: 'survey_created', tenantId, target: s.surveyId, detail: { title: s.title } });
    await this.#write(s);
    return { ...s, answerRows: 0 };
  }

  /** A change: the body's fields over the current survey's. After the first answer only wording and the window. */
  async update(tenantId: string, surveyId: string, input: unknown, by: AuditContext, actor: string): Promise<Survey> {
    const cur = await this.get(tenantId, surveyId);
    const patch = (input && typeof input === 'object' ? input : {}) as Record<string, unknown>;
    const body = this.#parse({
      title: cur.title,
      introduction: cur.introduction,
      questions: cur.questions,
      opensAt: cur.opensAt,
      closesAt: cur.closesAt,
      anonymous: cur.anonymous,
      status: cur.status,
      ...patch,
    });
    if ((cur.answerRows ?? 0) > 0 && structure(body) !== structure(cur))
      throw new AppError(
        'survey_locked',
        '回答が届いているため、設問の種類・選択肢・順序・必須・分岐・匿名の設定は変更できません。変更できるのは受付期間と文言 (タイトル・説明・設問文) だけです',
        409,
      );
    const next: Survey = { ...cur, ...body, updatedBy: actor, updatedAt: iso(this.d.now()), version: nextVersion() };
    delete next.answerRows;
    await this.d.audit.by(by, {
      action: 'survey_changed',
      tenantId,
      target: surveyId,
      detail: { fields: Object.keys(patch), answered: (cur.answerRows ?? 0) > 0 },
    });
    await this.#write(next);
    return { ...next, answerRows: cur.answerRows };
  }

  // ------------------------------------------------------------ residents

  keyOf(tenantId: string, s: Pick<Survey, 'surveyId' | 'anonymous'>, userId: string): string {
    return residentKey(this.d.keys, tenantId, s, userId);
  }

  async latest(
    tenantId: string,
    s: Survey,
    userId: string,
  ): Promise<{ answers: Answers; partial: boolean; at: number } | undefined> {
    const rows = await query(
      this.d.ch,
      'surveys.latest_answer',
      { tenant: tenantId, survey: s.surveyId, key: this.keyOf(tenantId, s, userId) },
      answerRow,
    );
    const r = rows[0];
    if (!r) return undefined;
    const answers: Answers = {};
    r.question_ids.forEach((q, i) => {
      answers[q] = { choices: r.choices[i] ?? [], text: r.texts[i] ?? '' };
    });
    return { answers, partial: r.partial === 1, at: r.answered_ms };
  }

  /** A survey as a resident sees it, with their own latest answer; a draft is 404. */
  async forResident(tenantId: string, surveyId: string, userId: string): Promise<ResidentSurvey> {
    const s = await this.find(tenantId, surveyId);
    if (!s || s.status === 'draft') throw new AppError('survey_not_found', 'アンケートが見つかりません', 404);
    const phase = phaseOf(s, this.d.now());
    const mine = await this.latest(tenantId, s, userId);
    return {
      survey: {
        surveyId: s.surveyId,
        title: s.title,
        introduction: s.introduction,
        questions: s.questions,
        opensAt: s.opensAt,
        closesAt: s.closesAt,
        anonymous: s.anonymous,
      },
      phase,
      ...(phaseMessage(s, phase) ? { phaseMessage: phaseMessage(s, phase) } : {}),
      answers: mine?.answers ?? {},
      partial: mine?.partial ?? false,
      answeredAt: mine ? iso(mine.at) : null,
    };
  }

  /** Surveys open (or announced) for residents now, with whether this resident answered. */
  async openForResident(tenantId: string, userId: string) {
    const now = this.d.now();
    const out = [];
    for (const s of await this.list(tenantId)) {
      const phase = phaseOf(s, now);
      if (phase !== 'open' && phase !== 'not_open') continue;
      const mine = await this.latest(tenantId, s, userId);
      out.push({
        surveyId: s.surveyId,
        title: s.title,
        opensAt: s.opensAt,
        closesAt: s.closesAt,
        phase,
        state: !mine ? 'new' : mine.partial ? 'partial' : 'answered',
      });
    }
    return out;
  }

  /**
   * Saves a resident's answer (partial: on the way; else sent, every required question on the path
   * answered). Only while the survey is open. The answers given are merged over the saved ones when
   * `merge` (the chat answers one question at a time).
   */
  async answer(
    tenantId: string,
    surveyId: string,
    userId: string,
    input: unknown,
    opts: { merge?: boolean } = {},
  ): Promise<{ saved: true; partial: boolean; answeredAt: string }> {
    const body = answerInputSchema.parse(input);
    const s = await this.find(tenantId, surveyId);
    if (!s || s.status === 'draft') throw new AppError('survey_not_found', 'アンケートが見つかりません', 404);
    const now = this.d.now();
    const phase = phaseOf(s, now);
    if (phase !== 'open') throw new AppError(`survey_${phase}`, phaseMessage(s, phase)!, 409);
    let answers: Answers = body.answers;
    if (opts.merge) answers = { ...((await this.latest(tenantId, s, userId))?.answers ?? {}), ...answers };
    const { kept, problems } = checkAnswers(s.questions, answers, !body.partial);
    const ids = Object.keys(problems);
    if (ids.length)
      throw new AppError('invalid_answer', problems[ids[0]!]!, 400, {
        fields: ids.map((q) => ({ field: q, message: problems[q] })),
      });
    const attrs: Record<string, string[]> =
      (await this.d.residents?.attributes(tenantId, userId).catch(() => ({}))) ?? {};
    const year = Number(new Date(now + 9 * 3_600_000).toISOString().slice(0, 4));
    await this.d.ch.insert({
      table: 'survey_answers',
      format: 'JSONEachRow',
      values: [
        {
          tenant_id: tenantId,
          survey_id: surveyId,
          resident_key: this.keyOf(tenantId, s, userId),
          question_ids: kept.map(([q]) => q.id),
          choices: kept.map(([, v]) => v.choices),
          texts: kept.map(([, v]) => v.text),
          partial: body.partial ? 1 : 0,
          gender: attrs.gender?.[0] ?? '',
          age_group: ageGroup(attrs.birth_year?.[0], year),
          residence: attrs.residence?.[0] ?? '',
          answered_at: chDateTime(now),
          version: nextVersion(),
        },
      ],
    });
    return { saved: true, partial: body.partial, answeredAt: iso(now) };
  }
}
