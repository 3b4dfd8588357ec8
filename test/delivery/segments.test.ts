/**
 * Segments compile to SQL over user_id (a set per condition, combined with AND / OR / NOT). For
 * residents with every shape of answers — none, several versions (latest wins), a deleted answer,
 * an empty one, interests at each level of the tree — the count query and the send query's ranges
 * select exactly the friends a plain JavaScript reading of the same answers selects.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import { sql } from '../../core/sql.ts';
import { chDateTime } from '../../core/time.ts';
import { compileCondition, type Condition, type Leaf } from '../../delivery/audience.ts';
import { idsOfLines, readBatchLines } from '../../delivery/audience-batches.ts';
import { harness, type Harness } from '../helpers/index.ts';

let h: Harness;
const TENANT = '24203';
let ch: ClickHouseClient;

type Answers = Record<string, string[]>;
interface Resident {
  id: string;
  friend: boolean;
  answers: Answers;
}

// deterministic residents: each item answered or not, some answers changed, deleted or emptied
const residents: Resident[] = [];
const rows: Array<Record<string, unknown>> = [];
const states: Array<Record<string, unknown>> = [];
let seed = 7;
const rnd = (n: number) => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % n;
};
const pick = <T>(xs: readonly T[]) => xs[rnd(xs.length)]!;
const at = Date.parse('2026-03-01T00:00:00Z');
for (let i = 0; i < 400; i++) {
  const id = `U${((i * 2654435761) % 2 ** 32).toString(16).padStart(32, '0')}`;
  const friend = rnd(10) !== 0;
  states.push({ tenant_id: TENANT, user_id: id, is_friend: 1, changed_at: chDateTime(at), version: 1 });
  if (!friend)
    states.push({ tenant_id: TENANT, user_id: id, is_friend: 0, changed_at: chDateTime(at + 1000), version: 2 });
  const answers: Answers = {};
  const answer = (item: string, values: string[]) => {
    const versions = 1 + rnd(3);
    for (let v = 1; v < versions; v++)
      rows.push({
        tenant_id: TENANT,
        user_id: id,
        item,
        values: [pick(['female', 'male', '1960', 'a1', 'c1/m1/a2'])],
        answered_at: chDateTime(at),
        version: v,
        is_deleted: 0,
      });
    const deleted = rnd(8) === 0;
    rows.push({
      tenant_id: TENANT,
      user_id: id,
      item,
      values,
      answered_at: chDateTime(at + versions),
      version: versions,
      is_deleted: deleted ? 1 : 0,
    });
    if (!deleted) answers[item] = values;
  };
  if (rnd(4)) answer('gender', [pick(['female', 'male', 'other'])]);
  if (rnd(3)) answer('birth_year', [String(1930 + rnd(80))]);
  if (rnd(3))
    answer('news_areas', rnd(6) === 0 ? [] : [...new Set([pick(['a1', 'a2', 'a3']), pick(['a1', 'a2', 'a3', 'a4'])])]);
  if (rnd(3))
    answer('interests', [
      ...new Set(
        Array.from({ length: 1 + rnd(3) }, () =>
          pick(['c1', 'c1/m1', 'c1/m1/a1', 'c1/m1/a2', 'c1/m2/a1', 'c2/m3', 'c2/m3/a3']),
        ),
      ),
    ]);
  if (rnd(2)) answer('x:club', [pick(['o1', 'o2'])]);
  residents.push({ id, friend, answers });
}
// a resident of another tenant with the same answers is never counted
states.push({ tenant_id: '24204', user_id: residents[0]!.id, is_friend: 1, changed_at: chDateTime(at), version: 1 });
rows.push({
  tenant_id: '24204',
  user_id: residents[0]!.id,
  item: 'gender',
  values: ['female'],
  answered_at: chDateTime(at),
  version: 1,
  is_deleted: 0,
});

const under = (x: string, q: string) => x === q || x.startsWith(`${q}/`);
function holds(c: Condition, a: Answers): boolean {
  if ('and' in c) return c.and.every((x) => holds(x, a));
  if ('or' in c) return c.or.some((x) => holds(x, a));
  if ('not' in c) return !holds(c.not, a);
  const l = c as Leaf;
  const v = a[l.attr] ?? [];
  const qs = l.values ?? [];
  switch (l.op) {
    case 'exists':
      return v.length > 0;
    case 'between':
      return v.some((x) => Number(x) >= (l.min ?? -Infinity) && Number(x) <= (l.max ?? Infinity));
    case 'in':
      return l.attr === 'interests' ? v.some((x) => qs.some((q) => under(x, q))) : v.some((x) => qs.includes(x));
    case 'all':
      return l.attr === 'interests' ? qs.every((q) => v.some((x) => under(x, q))) : qs.every((q) => v.includes(q));
  }
}

const conditions: Condition[] = [
  { attr: 'gender', op: 'in', values: ['female'] },
  { not: { attr: 'gender', op: 'exists' } },
  { attr: 'birth_year', op: 'between', min: 1950, max: 1969 },
  { attr: 'birth_year', op: 'between', max: 1945 },
  { attr: 'news_areas', op: 'all', values: ['a1', 'a2'] },
  { not: { attr: 'news_areas', op: 'in', values: ['a3'] } },
  { attr: 'news_areas', op: 'exists' },
  { attr: 'interests', op: 'in', values: ['c1/m1'] },
  { attr: 'interests', op: 'in', values: ['c1/m1/a1', 'c2'] },
  { attr: 'interests', op: 'all', values: ['c1', 'c2/m3'] },
  { attr: 'x:club', op: 'in', values: ['o2'] },
  {
    and: [
      {
        or: [
          { attr: 'gender', op: 'in', values: ['female'] },
          { attr: 'interests', op: 'in', values: ['c2'] },
        ],
      },
      { not: { attr: 'birth_year', op: 'between', min: 1950, max: 1989 } },
    ],
  },
  {
    or: [
      { and: [{ attr: 'x:club', op: 'exists' }, { not: { attr: 'gender', op: 'in', values: ['male'] } }] },
      {
        not: {
          or: [
            { attr: 'interests', op: 'exists' },
            { attr: 'news_areas', op: 'exists' },
          ],
        },
      },
    ],
  },
];

beforeAll(async () => {
  h = await harness();
  ch = h.ch;
  await ch.insert({ table: 'resident_states', format: 'JSONEachRow', values: states });
  // in several inserts (several parts), as answers arrive
  for (let i = 0; i < rows.length; i += 300)
    await ch.insert({ table: 'resident_attributes', format: 'JSONEachRow', values: rows.slice(i, i + 300) });
}, 60_000);

afterAll(() => h?.close());

describe('segments in ClickHouse', () => {
  it.each(conditions.map((c) => [JSON.stringify(c), c] as const))(
    '%s counts and selects what the answers say',
    async (_, c) => {
      const want = residents
        .filter((r) => r.friend && holds(c, r.answers))
        .map((r) => r.id)
        .sort();
      expect(want.length).toBeGreaterThan(0);
      expect(want.length).toBeLessThan(residents.filter((r) => r.friend).length);
      const counted = compileCondition(c);
      const rs = await ch.query({
        query: sql('delivery.audience_count_segment').replaceAll('{{segment}}', counted.sql),
        query_params: { tenant: TENANT, ...counted.params },
        format: 'JSONEachRow',
      });
      expect(Number((await rs.json<{ n: string }>())[0]!.n)).toBe(want.length);
      // the send query, in two ranges along user_id
      const ranged = compileCondition(c, { range: true });
      const ids = [...residents].map((r) => r.id).sort();
      const mid = ids[200]!;
      const got: string[] = [];
      for (const [after, upto] of [
        ['', mid],
        [mid, ids.at(-1)!],
      ]) {
        got.push(
          ...idsOfLines(
            await readBatchLines(
              ch,
              'delivery.audience_segment_range',
              { tenant: TENANT, after, upto, ...ranged.params },
              ranged.sql,
            ),
          ),
        );
      }
      expect(got).toEqual(want);
    },
  );
});
