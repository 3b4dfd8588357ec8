import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cardValidUntil, seedDemoMileage, type DemoMileageResult } from '../../cli/demo-mileage.ts';
import { sandboxIdentity, seedDemoTenants } from '../../cli/demo-seed.ts';
import { parseMemberNumber } from '../../core/check-digit.ts';
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import { SecretBox } from '../../core/crypto.ts';
import { migrate } from '../../core/migrations.ts';
import { TenantStore } from '../../core/tenants.ts';
import { Metrics } from '../../metrics/index.ts';
import { startSandbox, type RunningSandbox } from '../../sandbox/index.ts';
import { freshClickHouse, tmpDir } from '../helpers/index.ts';

// The demo's mileage history (cli/demo-mileage.ts) on the sandbox's residents of two municipalities:
// what it writes, that the figures read it, and that a second run adds nothing.
const tmp = tmpDir();
let ch: ClickHouseClient;
let tenants: TenantStore;
let sandbox: RunningSandbox;
let first: DemoMileageResult;
let firstMs: number;
const NOW = Date.parse('2026-12-05T03:00:00Z'); // 令和8年12月5日 12:00 in Tokyo: fiscal year 2026
const SEEDED = ['24201', '24543'];

const count = async (sql: string) =>
  Number((await (await ch.query({ query: sql, format: 'JSONEachRow' })).json<{ n: string | number }>())[0]!.n);

beforeAll(async () => {
  ch = await freshClickHouse(tmp.dir);
  await migrate(ch);
  tenants = new TenantStore(ch, new SecretBox(randomBytes(32)));
  await seedDemoTenants(tenants);
  sandbox = await startSandbox({
    config: {
      channels: SEEDED.map((code) => ({
        ...sandboxIdentity(code),
        channelSecret: 'secret',
        channelAccessToken: `token-${code}`,
        residents: { count: 600, seed: Number(code), initialFriendRatio: 0.5, followRatePerDay: 0, blockRatePerDay: 0 },
      })),
    },
  });
  const t0 = performance.now();
  first = await seedDemoMileage(ch, tenants, sandbox.world, NOW);
  firstMs = performance.now() - t0;
}, 120_000);

afterAll(async () => {
  await sandbox?.close();
  await ch?.close();
  tmp.remove();
});

describe('demo mileage history', () => {
  it('gives every municipality wired to the sandbox a programme for the fiscal year, with its activities and past sessions', async () => {
    // (printed for the report: how long the seed adds to the demo's start)
    console.info(
      `demo mileage seed: ${Math.round(firstMs)} ms for ${first.members} members, ${first.entries} entries, ${first.cards} cards`,
    );
    expect(first.tenants).toBe(2);
    const programmes = await (
      await ch.query({
        query:
          'SELECT tenant_id, toString(starts_on) s, toString(ends_on) e, goal_points g, card_valid_months v FROM mileage_programmes FINAL ORDER BY tenant_id',
        format: 'JSONEachRow',
      })
    ).json<{ tenant_id: string; s: string; e: string; g: number; v: number }>();
    expect(programmes).toEqual(
      SEEDED.map((id) => ({ tenant_id: id, s: '2026-04-01', e: '2027-03-31', g: 100, v: 12 })),
    );
    expect(await count("SELECT count() n FROM mileage_activities FINAL WHERE tenant_id = '24201'")).toBe(5);
    // sessions held by 5 December: health classes April–November, three sports events
    expect(await count("SELECT count() n FROM mileage_sessions FINAL WHERE tenant_id = '24201'")).toBe(11);
    expect(await count("SELECT count() n FROM mileage_sessions FINAL WHERE held_on > '2026-12-05'")).toBe(0);
  });

  it('most residents never join; the ledger holds scans, self-reports and grants with their idempotency keys, none after today', async () => {
    const friends = SEEDED.reduce(
      (a, code) => a + sandbox.world.byChannelId(sandboxIdentity(code).channelId)!.followerIds().length,
      0,
    );
    expect(first.members).toBeGreaterThan(10);
    expect(first.members).toBeLessThan(friends / 2);
    const kinds = await (
      await ch.query({
        query: `SELECT kind, count() n, countIf(NOT match(entry_id, multiIf(kind = 'scan', '^scan:[0-9a-f-]{36}:U[0-9a-f]{32}$', kind = 'self_report', '^self:[0-9a-f-]{36}$', '^grant:[0-9a-f-]{36}$'))) bad,
                       toString(max(activity_on)) last, toString(min(activity_on)) first
                FROM mileage_ledger GROUP BY kind ORDER BY kind`,
        format: 'JSONEachRow',
      })
    ).json<{ kind: string; n: string; bad: string; last: string; first: string }>();
    expect(kinds.map((k) => k.kind)).toEqual(['grant', 'scan', 'self_report']);
    for (const k of kinds) {
      expect(Number(k.bad)).toBe(0);
      expect(k.last <= '2026-12-05').toBe(true);
      expect(k.first >= '2026-04-01').toBe(true);
    }
    expect(await count('SELECT count() - uniqExact(entry_id) n FROM mileage_ledger')).toBe(0);
    // every entry carries the participant's member number (migration 0042)
    expect(
      await count(
        'SELECT count() n FROM mileage_ledger AS l LEFT JOIN mileage_members AS m FINAL USING (tenant_id, user_id) WHERE l.member_no != m.member_no',
      ),
    ).toBe(0);
    // the daily cap of the walk: one a day
    expect(
      await count(
        "SELECT count() n FROM (SELECT user_id, activity_on FROM mileage_ledger WHERE kind = 'self_report' GROUP BY user_id, activity_on HAVING count() > 1)",
      ),
    ).toBe(0);
  });

  it('some reach the goal and get a card numbered with their member number, valid 12 months', async () => {
    expect(first.cards).toBeGreaterThan(0);
    expect(first.cards).toBeLessThan(first.members);
    const cards = await (
      await ch.query({
        query: `SELECT c.card_no AS card_no, m.member_no AS member_no, toString(toDate(c.issued_at, 'Asia/Tokyo')) AS issued, toString(c.valid_until) AS until, b.points AS points
                FROM mileage_cards AS c FINAL
                JOIN mileage_members AS m FINAL ON m.tenant_id = c.tenant_id AND m.user_id = c.user_id
                JOIN (SELECT tenant_id, user_id, sum(points) points FROM mileage_balances GROUP BY tenant_id, user_id) AS b
                  ON b.tenant_id = c.tenant_id AND b.user_id = c.user_id`,
        format: 'JSONEachRow',
      })
    ).json<{ card_no: string; member_no: string; issued: string; until: string; points: string }>();
    expect(cards.length).toBe(first.cards);
    for (const c of cards) {
      expect(c.card_no).toBe(c.member_no);
      expect(parseMemberNumber(c.card_no)).toBeDefined();
      expect(c.until).toBe(cardValidUntil(c.issued, 12));
      expect(Number(c.points)).toBeGreaterThanOrEqual(100);
    }
    expect(cardValidUntil('2026-06-10', 12)).toBe('2027-06-09');
    expect(cardValidUntil('2027-01-31', 1)).toBe('2027-02-27');
    // everyone at the goal has a card
    const m = await new Metrics(ch, tenants).mileage(SEEDED, '2026-12', { today: '2026-12-05' });
    expect(m.totals.figures.reachedGoal).toBe(first.cards);
    expect(m.totals.figures.cardsIssuedToDate).toBe(first.cards);
    expect(m.totals.figures.participants).toBe(first.members);
    // residents were active in the first months already
    const active = m.totals.series.map((s) => s.active);
    expect(Math.max(...active.slice(0, 4))).toBeGreaterThan(0);
    console.info(
      `active per month: ${active.join(', ')}; participants: ${m.totals.series.map((s) => s.participants).join(', ')}`,
    );
  });

  it('running the seed again adds nothing', async () => {
    const before = await count(
      'SELECT (SELECT count() FROM mileage_ledger) + (SELECT count() FROM mileage_members) + (SELECT count() FROM mileage_cards) + (SELECT count() FROM mileage_programmes) + (SELECT count() FROM mileage_sessions) + (SELECT count() FROM mileage_activities) AS n',
    );
    const again = await seedDemoMileage(ch, tenants, sandbox.world, NOW);
    expect(again).toEqual({ tenants: 0, members: 0, entries: 0, cards: 0 });
    const after = await count(
      'SELECT (SELECT count() FROM mileage_ledger) + (SELECT count() FROM mileage_members) + (SELECT count() FROM mileage_cards) + (SELECT count() FROM mileage_programmes) + (SELECT count() FROM mileage_sessions) + (SELECT count() FROM mileage_activities) AS n',
    );
    expect(after).toBe(before);
  });

  it('a seed cut short after the ledger is completed without writing the ledger twice', async () => {
    // the programme is written last: without it, the seed runs again for the tenant
    await ch.command({ query: "DELETE FROM mileage_programmes WHERE tenant_id = '24543'" });
    const ledger = await count('SELECT count() n FROM mileage_ledger');
    const again = await seedDemoMileage(ch, tenants, sandbox.world, NOW);
    expect(again).toMatchObject({ tenants: 1, members: 0, entries: 0, cards: 0 });
    expect(await count('SELECT count() n FROM mileage_ledger')).toBe(ledger);
    expect(await count("SELECT count() n FROM mileage_programmes FINAL WHERE tenant_id = '24543'")).toBe(1);
  });
});
