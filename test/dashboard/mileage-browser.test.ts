import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSuite, type Suite } from '../../cli/suite.ts';
import { createLogger } from '../../core/logger.ts';
import { Metrics, type MileageOverview } from '../../metrics/index.ts';
import { launchChromium, operatorCall, signedInPage } from '../helpers/browser.ts';
import { testConfig, migratedTmpDir } from '../helpers/index.ts';
import { MILEAGE_MONTH, seedMileageLedger } from '../helpers/mileage-fixtures.ts';

// The dashboard's health-mileage figures for the hand-made ledger of test/helpers/mileage-fixtures.ts:
// the API (scoped to the caller), the overview's CSV columns, and the overview and 市町 pages in
// Chromium (table, charts, definitions, axe-core's WCAG 2.1 AA rules).
const tmp = migratedTmpDir();
let suite: Suite;
let browser: Browser;
let expected: MileageOverview;

/** The cells of a CSV line (quoted cells may hold commas and doubled quotes). */
function csvCells(line: string): string[] {
  const out: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cell);
      cell = '';
    } else cell += c;
  }
  out.push(cell);
  return out;
}
const parseCsv = (text: string): string[][] => text.trim().split(/\r?\n/).map(csvCells);
const PASSWORD = 'mileage-pass-123';

beforeAll(async () => {
  suite = await startSuite(testConfig(tmp.dir, { TAYORI_SANDBOX: 'off' }), createLogger('silent'), { demo: true });
  await seedMileageLedger(suite.ch);
  expected = await new Metrics(suite.ch, suite.tenants).mileage(
    (await suite.tenants.list()).map((t) => t.id),
    MILEAGE_MONTH,
  );
  for (const u of [
    { username: 'm-ken', displayName: '県 担当者', role: 'prefecture', password: PASSWORD },
    {
      username: 'm-yokkaichi',
      displayName: '四日市市 担当者',
      role: 'municipality',
      tenantId: '24202',
      password: PASSWORD,
    },
  ])
    expect((await operatorCall(suite, 'POST', '/api/v1/users', u)).status).toBe(201);
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await suite?.close();
  tmp.remove();
});

async function axe(page: Page): Promise<string[]> {
  const r = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return r.violations.map((v) => `${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(' | ')}`);
}

describe('dashboard: health mileage', () => {
  it('the API answers the metrics; a municipality account gets its own municipality only', async () => {
    const all = await operatorCall<MileageOverview>(suite, 'GET', `/api/v1/dashboard/mileage?month=${MILEAGE_MONTH}`);
    expect(all.status).toBe(200);
    expect(all.body).toEqual(JSON.parse(JSON.stringify(expected)));
    expect(all.body.rows.find((r) => r.tenantId === '24201')!.figures.participants).toBe(4);

    const page = await signedInPage(browser, suite.url, 'm-yokkaichi', PASSWORD);
    const own = await page.request.get(`${suite.url}/api/v1/dashboard/mileage?month=${MILEAGE_MONTH}`);
    const body = (await own.json()) as MileageOverview;
    expect(body.rows.map((r) => r.tenantId)).toEqual(['24202']);
    expect(body.totals.figures.participants).toBe(2);
    expect((await page.request.get(`${suite.url}/municipalities/24201`)).status()).toBe(403);
    await page.context().close();
  });

  it('the overview CSV has the mileage columns, equal to the metrics', async () => {
    const res = await fetch(`${suite.url}/api/v1/dashboard/overview.csv?month=${MILEAGE_MONTH}`, {
      headers: { authorization: `Bearer ${suite.token}` },
    });
    const rows = parseCsv((await res.text()).replace(/^\uFEFF/, ''));
    const header = rows[0]!;
    const col = (h: string) => header.indexOf(h);
    expect(col('マイレージ: 参加者数 (人)')).toBeGreaterThan(0);
    const tsu = rows.find((r) => r[1] === '津市')!;
    const total = rows.find((r) => r[1]?.startsWith('県全体'))!;
    const t = expected.rows.find((r) => r.tenantId === '24201')!.figures;
    expect(
      ['参加者数 (人)', '新規参加者 (人)', '獲得ポイント (年度累計) (pt)', 'カード発行 (年度累計) (枚)'].map(
        (h) => tsu[col(`マイレージ: ${h}`)],
      ),
    ).toEqual([t.participants, t.newParticipants, t.pointsToDate, t.cardsIssuedToDate].map(String));
    expect(total[col('マイレージ: 参加者数 (人)')]).toBe('6');
    expect(rows.find((r) => r[1] === '伊勢市')![col('マイレージ: 参加者数 (人)')]).toBe('—');
  });

  it('the overview shows every municipality and 県全体 with the definitions and charts, and passes axe-core', async () => {
    const page = await signedInPage(browser, suite.url, 'm-ken', PASSWORD);
    await page.goto(`${suite.url}/overview?month=${MILEAGE_MONTH}`, { waitUntil: 'networkidle' });
    const rows = page.locator('#mileage-table tbody tr');
    expect(await rows.count()).toBe(29);
    expect(
      await page.locator('#mileage-table tr[data-tenant="24201"] td[data-field="participants"]').getAttribute('data-v'),
    ).toBe('4');
    expect(
      await page.locator('#mileage-table tr[data-tenant="total"] td[data-field="pointsToDate"]').textContent(),
    ).toBe('340');
    expect(
      await page.locator('#mileage-table tr[data-tenant="24203"] td[data-field="participants"]').textContent(),
    ).toMatch(/^—※\d$/);
    expect(await page.locator('#mileage-definitions').textContent()).toContain('1 ポイント以上');
    await page.waitForSelector('#chart-mileage-growth[data-rendered="true"]');
    const series = await page.evaluate(
      () =>
        (window as unknown as { tayoriCharts: Record<string, { w: { globals: { series: number[][] } } }> }).tayoriCharts
          .mileageGrowth!.w.globals.series,
    );
    expect(series[0]).toEqual([3, 4, 6]);
    expect(await axe(page)).toEqual([]);
    await page.context().close();
  });

  it('the 市町 page shows its own figures, activities and definitions, and passes axe-core', async () => {
    const page = await signedInPage(browser, suite.url, 'm-yokkaichi', PASSWORD);
    await page.goto(`${suite.url}/municipalities/24202?from=2025-04-01&to=2025-06-30`, { waitUntil: 'networkidle' });
    expect(await page.locator('#mileage .stat[data-field="participants"] .v').textContent()).toBe('2 人');
    expect(await page.locator('#mileage-activities').textContent()).toContain('スポーツイベント');
    expect(await page.locator('#mileage-definitions').textContent()).toContain('目標ポイント');
    await page.waitForSelector('#chart-mileage-activities[data-rendered="true"]');
    expect(await axe(page)).toEqual([]);
    await page.context().close();
  });
});
