import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoTenants } from '../../cli/demo-seed.ts';
import type { Principal } from '../../core/auth.ts';
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import { SecretBox } from '../../core/crypto.ts';
import { migrate } from '../../core/migrations.ts';
import { TenantStore } from '../../core/tenants.ts';
import { DashboardData } from '../../dashboard/data.ts';
import {
  MILEAGE_FIGURES,
  Metrics,
  fiscalYearLabel,
  fiscalYearOf,
  mileageValue,
  type MileageOverview,
} from '../../metrics/index.ts';
import { freshClickHouse, tmpDir } from '../helpers/index.ts';
import { MILEAGE_EXPECTED, MILEAGE_MONTH, seedMileageLedger } from '../helpers/mileage-fixtures.ts';

// The mileage figures on a small hand-made ledger (test/helpers/mileage-fixtures.ts) whose answers
// are worked out by hand: Tokyo month edges, a correction, another tenant's resident, no programme.
const tmp = tmpDir();
let ch: ClickHouseClient;
let tenants: TenantStore;
let metrics: Metrics;
let june: MileageOverview;
const ALL = ['24000', '24201', '24202', '24203'];

beforeAll(async () => {
  ch = await freshClickHouse(tmp.dir);
  await migrate(ch);
  tenants = new TenantStore(ch, new SecretBox(randomBytes(32)));
  await seedDemoTenants(tenants);
  await seedMileageLedger(ch);
  metrics = new Metrics(ch, tenants);
  june = await metrics.mileage(ALL, MILEAGE_MONTH, { today: '2026-01-01' });
});

afterAll(async () => {
  await ch?.close();
  tmp.remove();
});

const row = (o: MileageOverview, id: string) => o.rows.find((r) => r.tenantId === id)!;

describe('mileage figures', () => {
  it('fiscal years run April to March', () => {
    expect([fiscalYearOf('2025-04'), fiscalYearOf('2026-03'), fiscalYearOf('2026-04')]).toEqual([2025, 2025, 2026]);
    expect(fiscalYearLabel(2026)).toBe('令和8年度');
    expect(june).toMatchObject({ fiscalYear: 2025, fiscalYearLabel: '令和7年度', asOf: '2025-06-30' });
  });

  it('counts each figure of a month as worked out by hand (the municipality, and its months so far)', () => {
    const tsu = row(june, '24201');
    expect(tsu.figures).toEqual({ month: '2025-06', ...MILEAGE_EXPECTED['24201']['2025-06'] });
    expect(tsu.series).toEqual(
      (['2025-04', '2025-05', '2025-06'] as const).map((m) => ({ month: m, ...MILEAGE_EXPECTED['24201'][m] })),
    );
    expect(tsu.programme).toMatchObject({ id: 'p1', goalPoints: 100, startsOn: '2025-04-01', endsOn: '2026-03-31' });
    expect(row(june, '24202').figures).toEqual({ month: '2025-06', ...MILEAGE_EXPECTED['24202']['2025-06'] });
  });

  it('splits points by activity and by method; a correction of no activity is its own line', () => {
    const tsu = row(june, '24201');
    expect(
      tsu.activities.map(({ name, method, points, awards, pointsToDate, awardsToDate }) => ({
        name,
        method,
        points,
        awards,
        pointsToDate,
        awardsToDate,
      })),
    ).toEqual(MILEAGE_EXPECTED.activities24201);
    expect(tsu.activities.map((a) => a.methodLabel)).toEqual(['職員付与', '会場QR', '自己申告', '訂正']);
    expect(tsu.methods.map((m) => [m.label, m.points, m.pointsToDate])).toEqual([
      ['会場QR', 20, 60],
      ['自己申告', 5, 10],
      ['職員付与', 50, 200],
      ['訂正', 0, -20],
    ]);
    // the activities add up to the month's and the year's points
    expect(tsu.activities.reduce((a, x) => a + x.points, 0)).toBe(tsu.figures.points);
    expect(tsu.activities.reduce((a, x) => a + x.pointsToDate, 0)).toBe(tsu.figures.pointsToDate);
  });

  it('participants per 1,000 residents from the registered population', async () => {
    const tsu = row(june, '24201');
    const population = (await tenants.require('24201')).population!;
    expect(tsu.participantsPerThousand).toBeCloseTo((4 / population) * 1000, 3);
    expect(mileageValue(tsu, 'participantsPerThousand')).toBe(tsu.participantsPerThousand);
  });

  it('a municipality without a programme shows "not known" (— with the reason), not 0; its valid cards still count', () => {
    const ise = row(june, '24203');
    expect(ise.programme).toBeNull();
    expect(ise.missing.participants).toBe('no_programme');
    expect(mileageValue(ise, 'participants')).toBeNull();
    expect(mileageValue(ise, 'cardsValid')).toBe(0);
  });

  it("the prefecture-wide total is the municipalities' sum; the prefecture's own account is no row", () => {
    expect(june.rows.map((r) => r.tenantId)).toEqual(['24201', '24202', '24203']);
    const t = june.totals;
    expect(t.figures).toMatchObject({
      participants: 6,
      newParticipants: 2,
      active: 4,
      points: 135,
      pointsToDate: 340,
      reachedGoal: 3,
      reachedGoalNew: 2,
      cardsIssued: 2,
      cardsIssuedToDate: 3,
      cardsValid: 4,
    });
    expect(t.programmes).toBe(2);
    expect(t.activities.find((a) => a.name === 'スポーツイベント')).toMatchObject({ points: 60, pointsToDate: 90 });
    expect(t.series.map((s) => s.participants)).toEqual([3, 4, 6]);
    // valid cards count in every municipality, also one without a programme this year
    expect(t.series.map((s) => s.cardsValid)).toEqual([2, 3, 4]);
  });

  it('an earlier month counts only what happened by its end (Tokyo): the April card issued at 00:30 on 1 May is a May card', async () => {
    const may = await metrics.mileage(['24201'], '2025-05', { today: '2026-01-01' });
    expect(row(may, '24201').figures).toEqual({ month: '2025-05', ...MILEAGE_EXPECTED['24201']['2025-05'] });
    // a month that runs counts valid cards today
    const running = await metrics.mileage(['24201'], '2025-06', { today: '2025-06-19' });
    expect(row(running, '24201').figures).toMatchObject({ cardsValidOn: '2025-06-19', cardsValid: 4 });
  });

  it('a month of the next fiscal year starts from zero', async () => {
    const next = await metrics.mileage(['24201'], '2026-04', { today: '2026-05-01' });
    expect(row(next, '24201').programme).toBeNull();
    expect(row(next, '24201').missing.participants).toBe('no_programme');
  });

  it('history over a period: month by month, by municipality and by activity', async () => {
    const h = await metrics.mileageHistory(ALL, { from: '2025-04', to: '2025-07' }, { today: '2026-01-01' });
    expect(h.months).toEqual(['2025-04', '2025-05', '2025-06', '2025-07']);
    const tsu = h.rows.find((r) => r.tenantId === '24201')!;
    expect(tsu.months.map((m) => m?.participants)).toEqual([3, 3, 4, 5]);
    expect(tsu.activities.find((a) => a.name === '健康教室への参加')?.points).toEqual([20, 20, 20, 20]);
    expect(h.rows.find((r) => r.tenantId === '24203')!.months).toEqual([null, null, null, null]);
    expect(h.totals.months.map((m) => m?.pointsToDate)).toEqual([170, 205, 340, 360]);
  });

  it('every figure has a Japanese definition', () => {
    for (const f of Object.values(MILEAGE_FIGURES)) expect(f.definition).toMatch(/[ぁ-ん]/);
    expect(MILEAGE_FIGURES.participants.definition).toContain('1 ポイント以上');
  });
});

describe('scoping', () => {
  it('a municipality account sees its own municipality only; the prefecture sees all', async () => {
    const data = new DashboardData(ch, tenants);
    const staff = (role: 'municipality' | 'prefecture', tenantId: string | null): Principal => ({
      kind: 'staff',
      via: 'token',
      userId: 'x',
      username: 'x',
      displayName: 'x',
      role,
      tenantId,
      permissions: [],
    });
    const own = await data.mileage(staff('municipality', '24202'), MILEAGE_MONTH);
    expect(own.rows.map((r) => r.tenantId)).toEqual(['24202']);
    expect(own.totals.figures.participants).toBe(2);
    await expect(
      data.municipalityMileage(staff('municipality', '24202'), '24201', MILEAGE_MONTH),
    ).rejects.toMatchObject({
      status: 403,
    });
    const all = await data.mileage(staff('prefecture', null), MILEAGE_MONTH);
    expect(all.rows.length).toBe(29);
  });
});
