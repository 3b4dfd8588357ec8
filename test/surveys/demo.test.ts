/**
 * The demo's sample survey: a few hundred answers from the tenant's friends with their registered
 * attributes, the same answers on every run (deterministic), nothing written twice (idempotent), and
 * results that show something (options counted, the cross-tab has groups of 5 and more).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { seedDemoSurveys } from '../../cli/demo-surveys.ts';
import type { World } from '../../sandbox/index.ts';
import { type SurveysWorld, surveysWorld, TSU, user } from './fixtures.ts';

let w: SurveysWorld;
const friends = Array.from({ length: 600 }, (_, i) => user(5000 + i));
const world = {
  byChannelId: (id: string) => (id === '2000000001' ? { followerIds: () => friends } : undefined),
} as unknown as Pick<World, 'byChannelId'>;
const NOW = Date.parse('2026-06-15T01:00:00Z');

beforeAll(async () => {
  w = await surveysWorld();
  const genders = ['female', 'male', 'other'];
  await w.h.ch.insert({
    table: 'resident_attributes',
    format: 'JSONEachRow',
    values: friends.flatMap((u, i) => [
      {
        tenant_id: TSU,
        user_id: u,
        item: 'gender',
        values: [genders[i % 3]],
        answered_at: '2026-05-01 00:00:00.000',
        version: 1,
        is_deleted: 0,
      },
      {
        tenant_id: TSU,
        user_id: u,
        item: 'birth_year',
        values: [String(1940 + (i % 7) * 10)],
        answered_at: '2026-05-01 00:00:00.000',
        version: 1,
        is_deleted: 0,
      },
      {
        tenant_id: TSU,
        user_id: u,
        item: 'residence',
        values: [i % 2 ? 'north' : 'south'],
        answered_at: '2026-05-01 00:00:00.000',
        version: 1,
        is_deleted: 0,
      },
    ]),
  });
}, 60_000);
afterAll(() => w?.h.close());

const dump = async () => {
  const rs = await w.h.ch.query({
    query: `SELECT resident_key, question_ids, choices, texts, partial, gender, age_group, residence, answered_at
            FROM survey_answers WHERE tenant_id = {t:String} ORDER BY resident_key`,
    query_params: { t: TSU },
    format: 'JSONEachRow',
  });
  return rs.json();
};

it('seeds a few hundred answers once, deterministically, with results to show', async () => {
  const first = await seedDemoSurveys(w.h.ch, w.h.tenants, world, w.surveys.store, NOW);
  expect(first.tenants).toBe(1);
  expect(first.answers).toBeGreaterThanOrEqual(200);
  expect(first.answers).toBeLessThanOrEqual(320);
  const rows = await dump();
  expect(rows).toHaveLength(first.answers);
  // again: nothing more
  expect(await seedDemoSurveys(w.h.ch, w.h.tenants, world, w.surveys.store, NOW)).toEqual({ tenants: 0, answers: 0 });
  expect(await dump()).toEqual(rows);
  // from scratch: the same answers
  await w.h.ch.command({ query: 'TRUNCATE TABLE survey_answers' });
  await w.h.ch.command({ query: 'TRUNCATE TABLE surveys' });
  await seedDemoSurveys(w.h.ch, w.h.tenants, world, w.surveys.store, NOW);
  expect(await dump()).toEqual(rows);

  const [survey] = await w.surveys.store.list(TSU);
  expect(survey!.title).toBe('LINE での情報発信に関するアンケート');
  expect(survey!.anonymous).toBe(true);
  const r = await w.surveys.reader.results(survey!);
  expect(r.complete + r.partial).toBe(first.answers);
  expect(r.partial).toBeGreaterThan(0);
  expect(r.daily.length).toBeGreaterThan(5);
  expect(r.questions[0]!.options.reduce((a, o) => a + o.count, 0)).toBe(r.complete);
  const ct = await w.surveys.reader.crossTab(survey!, 'recommend', 'gender');
  expect(ct.groups.filter((g) => g.answers !== null).map((g) => g.id)).toEqual(['female', 'male', 'other']);
  expect((await w.surveys.reader.texts(survey!, 'why')).length).toBeGreaterThan(0);
});
