/**
 * The award guards' rebuild from ClickHouse on a tenant with many rows: 200,000 ledger entries of
 * 28,572 participants in two programmes (INSERT … SELECT FROM numbers()), their balances (the
 * rollup), cards and member numbers, read page by page (pages smaller than the ledger, ending inside
 * a participant's entries). Every participant's guard hash must equal what the rows say — entries,
 * daily and period counts, balance, card — and so must the member serials and the serial counter;
 * awards after the rebuild meet the caps and the entries already there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memberNumber } from '../../core/check-digit.ts';
import { AwardGuards, KEY_PREFIX, userKey } from '../../mileage/guards.ts';
import { type Harness, harness } from '../helpers/index.ts';

const TSU = '24201';
const ENTRIES = 200_000;
const PER_USER = 7;
const USERS = Math.ceil(ENTRIES / PER_USER); // 28,572 (the last has 3 entries)
const user = (n: number) => `U${String(n).padStart(32, '0')}`;
const programmeOf = (u: number) => (u % 5 === 0 ? 'prog-b' : 'prog-a');
const serialOf = (u: number) => u * 2 + 1;
const hasCard = (u: number) => u % 4 === 0;

/** Entry i: r = i mod 7 — walk (r 0–2, 5 pt; r 0 and 1 on 6/1, r 2 on 6/3), event (r 3–4, 30 pt), check-up (r 5, 50 pt), correction (r 6, −5 pt). */
function entry(i: number) {
  const r = i % PER_USER;
  const activity = r < 3 ? 'walk' : r < 5 ? 'event' : r === 5 ? 'checkup' : '';
  const points = r < 3 ? 5 : r < 5 ? 30 : r === 5 ? 50 : -5;
  const day = `202606${String(1 + (r < 2 ? 0 : r)).padStart(2, '0')}`;
  return { id: `e${i}`, activity, points, day };
}

/** The guard hash a participant must have, from the rows above. */
function expectedHash(u: number): Record<string, string> {
  const out: Record<string, number> = {};
  let balance = 0;
  for (let i = u * PER_USER; i < Math.min(ENTRIES, (u + 1) * PER_USER); i++) {
    const e = entry(i);
    out[`e:${e.id}`] = 1;
    balance += e.points;
    if (e.activity) {
      out[`d:${e.activity}:${e.day}`] = (out[`d:${e.activity}:${e.day}`] ?? 0) + 1;
      out[`p:${e.activity}`] = (out[`p:${e.activity}`] ?? 0) + 1;
    }
  }
  out.b = balance;
  if (hasCard(u)) out.c = 1;
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, String(v)]));
}

let h: Harness;
let guards: AwardGuards;
let epoch: string;

beforeAll(async () => {
  h = await harness({
    redis: true,
    tenants: [{ id: TSU, name: '津市', kind: 'municipality', channelId: '2000000001' }],
  });
  const r = `number % ${PER_USER}`;
  const u = `intDiv(number, ${PER_USER})`;
  await h.ch.command({
    query: `INSERT INTO mileage_ledger (tenant_id, programme_id, user_id, entry_id, activity_id, kind, points,
              activity_on, source_id, corrects, reason, actor, recorded_at, member_no)
            SELECT '${TSU}', if(${u} % 5 = 0, 'prog-b', 'prog-a'), concat('U', leftPad(toString(${u}), 32, '0')),
                   concat('e', toString(number)),
                   multiIf(${r} < 3, 'walk', ${r} < 5, 'event', ${r} = 5, 'checkup', ''),
                   if(${r} = 6, 'correction', 'scan'),
                   toInt32(multiIf(${r} < 3, 5, ${r} < 5, 30, ${r} = 5, 50, -5)),
                   toDate('2026-06-01') + if(${r} < 2, 0, ${r}), '', '', '', 'resident',
                   toDateTime64('2026-06-01 01:00:00', 3, 'UTC') + number, ''
            FROM numbers(${ENTRIES})`,
  });
  await h.ch.command({
    query: `INSERT INTO mileage_cards (tenant_id, programme_id, user_id, card_no, design_id, issued_at, valid_until, version)
            SELECT '${TSU}', if(number % 5 = 0, 'prog-b', 'prog-a'), concat('U', leftPad(toString(number), 32, '0')),
                   '', '', toDateTime64('2026-06-10 01:00:00', 3, 'UTC'), toDate('2027-06-09'), 1
            FROM numbers(${USERS}) WHERE number % 4 = 0`,
  });
  await h.ch.insert({
    table: 'mileage_members',
    format: 'JSONEachRow',
    values: Array.from({ length: USERS }, (_, n) => ({
      tenant_id: TSU,
      user_id: user(n),
      member_no: memberNumber(TSU, serialOf(n)),
      joined_at: '2026-06-01 01:00:00.000',
    })),
  });
  guards = new AwardGuards(h.ch, h.redis.client);
  guards.rebuildPageRows = 30_011; // several pages, each ending inside a participant's entries
  epoch = await guards.run(TSU, async (e) => e);
}, 120_000);
afterAll(() => h?.close());

describe('rebuilding the guards of a tenant with many rows', () => {
  it('gives every participant exactly the hash its rows say: entries, daily and period counts, balance, card', async () => {
    expect(guards.stats.rebuilds).toBe(1);
    const redis = h.redis.client;
    let keys = 0;
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${KEY_PREFIX}{${TSU}}:${epoch}:u:*`, 'COUNT', 5000);
      cursor = next;
      keys += found.length;
    } while (cursor !== '0');
    expect(keys).toBe(USERS);
    for (let from = 0; from < USERS; from += 2000) {
      const pipe = redis.pipeline();
      const users = Array.from({ length: Math.min(2000, USERS - from) }, (_, i) => from + i);
      for (const u of users) pipe.hgetall(userKey(TSU, epoch, programmeOf(u), user(u)));
      const got = (await pipe.exec())!.map(([err, v]) => {
        expect(err).toBeNull();
        return v as Record<string, string>;
      });
      users.forEach((u, i) => expect(got[i], user(u)).toEqual(expectedHash(u)));
    }
    // a participant of the other programme has no hash there
    expect(await redis.exists(userKey(TSU, epoch, 'prog-b', user(1)))).toBe(0);
  });

  it('restores every member serial and the counter: a newcomer gets the next number', async () => {
    const members = await h.redis.client.hgetall(`${KEY_PREFIX}{${TSU}}:${epoch}:members`);
    expect(Object.keys(members)).toHaveLength(USERS);
    for (let u = 0; u < USERS; u++) expect(members[user(u)], user(u)).toBe(String(serialOf(u)));
    expect(await guards.member(TSU, epoch, user(USERS + 10))).toEqual({
      serial: serialOf(USERS - 1) + 1,
      created: true,
    });
    expect(await guards.member(TSU, epoch, user(3))).toEqual({ serial: serialOf(3), created: false });
  });

  it('applies the caps and the entries already recorded to awards after the rebuild', async () => {
    const u = 13; // prog-a, seven entries, no card
    const award = (entryId: string, activityId: string, activityOn: string, dailyCap: number, periodCap: number) =>
      guards.award(TSU, epoch, {
        programmeId: 'prog-a',
        userId: user(u),
        entryId,
        points: 5,
        activityId,
        activityOn,
        dailyCap,
        periodCap,
      });
    expect(await award(`e${u * PER_USER}`, 'walk', '2026-06-01', 0, 0)).toMatchObject({
      kind: 'already',
      balance: 120,
    });
    expect(await award('new-1', 'walk', '2026-06-01', 2, 0)).toMatchObject({ kind: 'daily_cap' });
    expect(await award('new-2', 'walk', '2026-06-20', 2, 3)).toMatchObject({ kind: 'period_cap' });
    expect(await award('new-3', 'checkup', '2026-06-20', 0, 1)).toMatchObject({ kind: 'period_cap' });
    expect(await award('new-4', 'walk', '2026-06-20', 2, 4)).toMatchObject({ kind: 'awarded', balance: 125 });
    expect(await guards.flag(TSU, epoch, 'prog-b', user(20), 'c', true)).toBe(false); // its card is known
    expect(await guards.flag(TSU, epoch, 'prog-a', user(u), 'c', true)).toBe(true);
  });
});
