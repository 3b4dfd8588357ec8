/**
 * The demo's sample survey: every municipality on the sandbox gets 「LINE での情報発信に関するアンケート」
 * (anonymous, open from 20 days ago for 40 days) and a few hundred of its friends' answers spread over
 * those 20 days, with the registered attributes they gave in the registration flow (so the
 * cross-tabulation shows groups), some free texts and a few partial answers.
 *
 * Deterministic (a seeded generator per tenant and resident; the survey's id is stable), written in
 * one bulk INSERT per tenant, and idempotent: a tenant whose sample survey has answers is left alone.
 */
import { createHash } from 'node:crypto';
import { type ClickHouseClient, query } from '../core/clickhouse.ts';
import type { TenantStore } from '../core/tenants.ts';
import { chDateTime, nextVersion } from '../core/time.ts';
import { z } from '../core/zod.ts';
import type { World } from '../sandbox/index.ts';
import { type Answers, ageGroup, checkAnswers, type Question, type SurveyStore } from '../surveys/index.ts';
import { prng } from './demo-prng.ts';

const DAY = 86_400_000;
const MAX_ANSWERS = 320;

const QUESTIONS: Question[] = [
  {
    id: 'info',
    type: 'single',
    text: '市の情報をどこで得ることが多いですか',
    help: '',
    required: true,
    options: [
      { id: 'paper', label: '広報紙' },
      { id: 'line', label: 'LINE' },
      { id: 'web', label: 'ホームページ' },
      { id: 'board', label: '回覧板' },
    ],
    other: true,
    branches: [],
  },
  {
    id: 'satisfaction',
    type: 'rating',
    text: 'LINE での情報発信の満足度を教えてください',
    help: '1 = 不満 ／ 5 = 満足',
    required: true,
    options: [],
    other: false,
    branches: [],
  },
  {
    id: 'topics',
    type: 'multiple',
    text: '今後 LINE で受け取りたい情報はどれですか',
    help: 'いくつでも選べます',
    required: false,
    options: [
      { id: 'disaster', label: '防災・災害' },
      { id: 'kids', label: '子育て' },
      { id: 'health', label: '健康・医療' },
      { id: 'events', label: 'イベント' },
      { id: 'waste', label: 'ごみ・環境' },
    ],
    other: false,
    branches: [],
  },
  {
    id: 'recommend',
    type: 'single',
    text: '市の LINE 公式アカウントを家族や知人に勧めたいですか',
    help: '',
    required: true,
    options: [
      { id: 'yes', label: 'はい' },
      { id: 'no', label: 'いいえ' },
    ],
    other: false,
    branches: [{ option: 'yes', goTo: '_end' }],
  },
  {
    id: 'why',
    type: 'text',
    text: '勧めたくない理由や、改善してほしい点があればお聞かせください',
    help: '',
    required: false,
    options: [],
    other: false,
    branches: [],
  },
];

const COMMENTS = [
  '通知が多すぎると感じることがあります。',
  '自分の地域の情報だけを受け取りたいです。',
  '文字が多くて読みにくいときがあります。',
  '防災情報はとても助かっています。',
  'イベントの申し込みまで LINE でできると便利です。',
  'ごみの収集日のお知らせがほしいです。',
  '',
  '高齢の親にも使い方を教えられるよう、案内がほしいです。',
];
const OTHER_SOURCES = ['自治会', '知人から', 'テレビ・ラジオ'];

function stableId(key: string): string {
  const h = createHash('sha256').update(`tayori-demo-surveys:${key}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const attrRow = z.object({ user_id: z.string(), gender: z.string(), birth_year: z.string(), residence: z.string() });

export interface DemoSurveysResult {
  tenants: number;
  answers: number;
}

/** A resident's simulated answers (the path's questions only). */
function answersOf(r: () => number, ageGroupOf: string): Answers {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const a: Answers = {};
  const older = ageGroupOf === '60代' || ageGroupOf === '70代以上';
  const info =
    r() < 0.08 ? '_other' : older && r() < 0.5 ? pick(['paper', 'board']) : pick(['line', 'line', 'web', 'paper']);
  a.info = { choices: [info], text: info === '_other' ? pick(OTHER_SOURCES) : '' };
  const score = Math.min(5, Math.max(1, Math.round(3.4 + (r() - 0.5) * 3 + (older ? -0.3 : 0.2))));
  a.satisfaction = { choices: [String(score)], text: '' };
  const topics = ['disaster', 'kids', 'health', 'events', 'waste'].filter(
    (_, i) => r() < [0.6, 0.3, 0.4, 0.35, 0.3][i]!,
  );
  if (topics.length) a.topics = { choices: topics, text: '' };
  const yes = r() < 0.45 + score * 0.08;
  a.recommend = { choices: [yes ? 'yes' : 'no'], text: '' };
  if (!yes) {
    const c = pick(COMMENTS);
    if (c) a.why = { choices: [], text: c };
  }
  return a;
}

export async function seedDemoSurveys(
  ch: ClickHouseClient,
  tenants: TenantStore,
  world: Pick<World, 'byChannelId'>,
  store: Pick<SurveyStore, 'keyOf' | 'find' | 'answerRows'>,
  now = Date.now(),
): Promise<DemoSurveysResult> {
  const result: DemoSurveysResult = { tenants: 0, answers: 0 };
  const opens = Math.floor((now - 20 * DAY) / DAY) * DAY; // whole UTC days: the same id and window all day
  for (const t of await tenants.list()) {
    const friends = t.kind === 'municipality' && t.channelId ? world.byChannelId(t.channelId) : undefined;
    if (!friends) continue;
    const surveyId = stableId(`${t.id}:info`);
    if ((await store.answerRows(t.id, surveyId)) > 0) continue;
    const survey = { surveyId, anonymous: true };
    if (!(await store.find(t.id, surveyId))) {
      const at = chDateTime(opens - DAY);
      await ch.insert({
        table: 'surveys',
        format: 'JSONEachRow',
        values: [
          {
            tenant_id: t.id,
            survey_id: surveyId,
            title: 'LINE での情報発信に関するアンケート',
            introduction: `${t.name}の LINE 公式アカウントをより良くするためのアンケートです。回答は匿名で集計し、個人が特定される形では公表しません。`,
            questions: JSON.stringify(QUESTIONS),
            opens_at: chDateTime(opens),
            closes_at: chDateTime(opens + 40 * DAY),
            anonymous: 1,
            status: 'open',
            created_by: 'デモ',
            created_at: at,
            updated_by: 'デモ',
            updated_at: at,
            version: nextVersion(),
            is_deleted: 0,
          },
        ],
      });
    }
    const attrs = new Map(
      (await query(ch, 'surveys.demo_attributes', { tenant: t.id }, attrRow)).map((a) => [a.user_id, a]),
    );
    const rows: Array<Record<string, unknown>> = [];
    const year = Number(new Date(now + 9 * 3_600_000).toISOString().slice(0, 4));
    const base = nextVersion();
    let i = 0;
    for (const userId of friends.followerIds()) {
      if (rows.length >= MAX_ANSWERS) break;
      const r = prng(`${t.id}:${userId}`);
      if (r() > 0.6) continue;
      const a = attrs.get(userId);
      const age = ageGroup(a?.birth_year, year);
      const answers = answersOf(r, age);
      const partial = r() < 0.05;
      const { kept } = checkAnswers(QUESTIONS, partial ? { info: answers.info! } : answers, !partial);
      // more answers in the first days after the delivery, fewer later
      const at = Math.min(now - 60_000, opens + Math.floor(20 * DAY * r() ** 2) + Math.floor(r() * DAY));
      rows.push({
        tenant_id: t.id,
        survey_id: surveyId,
        resident_key: store.keyOf(t.id, survey, userId),
        question_ids: kept.map(([q]) => q.id),
        choices: kept.map(([, v]) => v.choices),
        texts: kept.map(([, v]) => v.text),
        partial: partial ? 1 : 0,
        gender: a?.gender ?? '',
        age_group: age,
        residence: a?.residence ?? '',
        answered_at: chDateTime(at),
        version: base + i++,
      });
    }
    if (!rows.length) continue;
    await ch.insert({ table: 'survey_answers', format: 'JSONEachRow', values: rows });
    result.tenants++;
    result.answers += rows.length;
  }
  return result;
}
