/**
 * A survey's results from the latest complete answer of each resident: answers per day, counts and
 * shares per option, free texts with search, and cross-tabulation by the registered attributes
 * copied at answering (gender, age group, residence), where a group of under 5 answers shows null
 * (「—」 on the page and in the files).
 */
import { type ClickHouseClient, query } from '../core/clickhouse.ts';
import { GENDERS } from '../core/vocabulary.ts';
import { z } from '../core/zod.ts';
import {
  type CrossDimension,
  type CrossTab,
  MIN_GROUP,
  optionsOf,
  type Survey,
  type SurveyResults,
} from './schemas.ts';

/** One survey's respondents (surveys.respondents, the staff list's query, filtered to it). */
const totalsRow = z.object({ complete: z.coerce.number(), partial: z.coerce.number() });
const dailyRow = z.object({ day: z.string(), n: z.coerce.number() });
const optionRow = z.object({ qid: z.string(), choice: z.string(), n: z.coerce.number() });
const crossRow = z.object({ qid: z.string(), choice: z.string(), grp: z.string(), n: z.coerce.number() });
const groupRow = z.object({ grp: z.string(), n: z.coerce.number() });
const textRow = z.object({ text: z.string(), answered_ms: z.coerce.number() });

const AGE_GROUPS = ['10代以下', '20代', '30代', '40代', '50代', '60代', '70代以上'];
const pct = (n: number, of: number) => (of ? Math.round((n / of) * 1000) / 10 : 0);

/** Names of areas (delivery's categories) for the residence groups. */
export type AreaNames = (tenantId: string) => Promise<Map<string, string>>;

export class SurveyResultsReader {
  constructor(
    private readonly ch: ClickHouseClient,
    private readonly areaNames: AreaNames = async () => new Map(),
  ) {}

  async results(s: Survey): Promise<SurveyResults> {
    const p = { tenant: s.tenantId, survey: s.surveyId };
    const [totals, daily, options] = await Promise.all([
      query(this.ch, 'surveys.respondents', { tenants: [s.tenantId], survey: s.surveyId }, totalsRow),
      query(this.ch, 'surveys.daily', p, dailyRow),
      query(this.ch, 'surveys.option_counts', p, optionRow),
    ]);
    const complete = totals[0]?.complete ?? 0;
    return {
      complete,
      partial: totals[0]?.partial ?? 0,
      daily: daily.map((d) => ({ day: d.day, count: d.n })),
      questions: s.questions.map((q) => ({
        questionId: q.id,
        text: q.text,
        type: q.type,
        options: optionsOf(q).map((o) => {
          const count = options.find((r) => r.qid === q.id && r.choice === o.id)?.n ?? 0;
          return { option: o.id, label: o.label, count, share: pct(count, complete) };
        }),
      })),
    };
  }

  /** The group labels of a dimension, in a fixed order, then any other value seen; '' is 未登録. */
  async #groups(s: Survey, dim: CrossDimension, seen: string[]): Promise<Array<{ id: string; label: string }>> {
    let known: Array<{ id: string; label: string }>;
    if (dim === 'gender') known = GENDERS.map((g) => ({ id: g.id, label: g.label }));
    else if (dim === 'age_group') known = AGE_GROUPS.map((a) => ({ id: a, label: a }));
    else {
      const names = await this.areaNames(s.tenantId);
      known = [...names].map(([id, label]) => ({ id, label }));
    }
    const extra = seen.filter((v) => v !== '' && !known.some((k) => k.id === v)).map((v) => ({ id: v, label: v }));
    return [...known, ...extra, { id: '', label: '未登録' }];
  }

  /** Cross-tabulation of a choice question by a registered attribute; groups under 5 answers are null. */
  async crossTab(s: Survey, questionId: string, dim: CrossDimension): Promise<CrossTab> {
    const q = s.questions.find((x) => x.id === questionId);
    const p = { tenant: s.tenantId, survey: s.surveyId };
    const fill = { dim };
    const [cells, sizes] = await Promise.all([
      query(this.ch, 'surveys.crosstab', p, crossRow, fill),
      query(this.ch, 'surveys.group_sizes', p, groupRow, fill),
    ]);
    const groups = (
      await this.#groups(
        s,
        dim,
        sizes.map((g) => g.grp),
      )
    ).map((g) => {
      const n = sizes.find((x) => x.grp === g.id)?.n ?? 0;
      return { ...g, answers: n < MIN_GROUP ? null : n };
    });
    const rows = (q ? optionsOf(q) : []).map((o) => ({
      option: o.id,
      label: o.label,
      counts: groups.map((g) =>
        g.answers === null
          ? null
          : (cells.find((c) => c.qid === questionId && c.choice === o.id && c.grp === g.id)?.n ?? 0),
      ),
    }));
    return { dimension: dim, questionId, groups, rows };
  }

  async texts(s: Survey, questionId: string, search = '', limit = 200) {
    const rows = await query(
      this.ch,
      'surveys.texts',
      { tenant: s.tenantId, survey: s.surveyId, question: questionId, search, limit },
      textRow,
    );
    return rows.map((r) => ({ text: r.text, answeredAt: new Date(r.answered_ms).toISOString() }));
  }
}
