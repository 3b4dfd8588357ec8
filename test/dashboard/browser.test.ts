import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Suite } from '../../cli/suite.ts';
import { createLogger } from '../../core/logger.ts';
import { formatChange, formatCount, formatPercent } from '../../metrics/index.ts';
import { MONTH, seedFigures } from '../helpers/dashboard-fixtures.ts';
import { harness, type Harness, repoRoot } from '../helpers/index.ts';

// Real Chromium against the suite in this process (its sandbox small: the composer validates messages
// with LINE); screenshots go to test-artifacts/dashboard/.
let h: Harness;
const shots = path.join(repoRoot, 'test-artifacts', 'dashboard');
let suite: Suite;
let browser: Browser;

const op = (p: string, init: RequestInit = {}) =>
  fetch(suite.url + p, {
    ...init,
    headers: { authorization: `Bearer ${suite.token}`, 'content-type': 'application/json', ...init.headers },
  });

beforeAll(async () => {
  fs.mkdirSync(shots, { recursive: true });
  h = await harness({ clickhouse: false, env: { TAYORI_DEMO_RESIDENT_RATIO: '0.0001', TAYORI_DEMO_SPEED: '1000' } });
  suite = await h.startSuite({ demo: true }, createLogger(process.env.DBG ? 'error' : 'silent'));
  await seedFigures(suite.ch);
  for (const u of [
    { username: 'ken', displayName: '三重県 健康推進課', role: 'prefecture', password: 'prefecture-pass-1' },
    {
      username: 'tsu-staff',
      displayName: '津市 担当者',
      role: 'municipality',
      tenantId: '24201',
      password: 'municipal-pass-1',
    },
  ]) {
    expect((await op('/api/v1/users', { method: 'POST', body: JSON.stringify(u) })).status).toBe(201);
  }
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
});
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.goto(suite.url);
  expect(new URL(page.url()).pathname).toBe('/login');
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
}

describe('dashboard in Chromium', () => {
  it('signs in, shows 29 municipality rows whose numbers equal the API, sorts, and signs out', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1500, height: 1100 }, locale: 'ja-JP' });
    const page = await ctx.newPage();
    await page.goto(suite.url);
    await page.screenshot({ path: path.join(shots, '01-login.png') });
    await signIn(page, 'ken', 'prefecture-pass-1');
    expect(new URL(page.url()).pathname).toBe('/overview');

    await page.goto(`${suite.url}/overview?month=${MONTH}`);
    await page.waitForSelector('#overview tbody tr');
    await page.waitForSelector('.spark svg');
    const api = (await (await op(`/api/v1/dashboard/overview?month=${MONTH}`)).json()) as {
      rows: Array<Record<string, number | null | string>>;
    };
    const rows = await page.$$eval('#overview tbody tr', (trs) =>
      trs.map((tr) => ({
        tenant: tr.getAttribute('data-tenant'),
        cells: Object.fromEntries(
          [...tr.querySelectorAll('td[data-field]')].map((td) => [
            td.getAttribute('data-field'),
            { v: td.getAttribute('data-v'), text: td.textContent!.trim() },
          ]),
        ),
      })),
    );
    expect(rows).toHaveLength(29);
    expect(rows.map((r) => r.tenant)).toEqual(api.rows.map((r) => r.tenantId));
    const fmt: Record<string, (v: number | null) => string> = {
      friends: formatCount,
      friendsChange: formatChange,
      friendsPerPopulation: (v) => formatPercent(v, 2),
      blocks: formatCount,
      blockRate: (v) => formatPercent(v, 1),
      follows: formatCount,
      unfollows: formatCount,
      deliveries: formatCount,
      openRate: (v) => formatPercent(v, 1),
      clicks: formatCount,
    };
    for (const r of rows) {
      const want = api.rows.find((x) => x.tenantId === r.tenant)!;
      for (const [field, f] of Object.entries(fmt)) {
        const value = want[field] as number | null;
        expect(r.cells[field]!.v, `${r.tenant} ${field}`).toBe(value === null ? '' : String(value));
        expect(r.cells[field]!.text.startsWith(f(value)), `${r.tenant} ${field}: ${r.cells[field]!.text}`).toBe(true);
      }
    }
    // unknown is "—" with its reason, never 0
    const kiho = rows.find((r) => r.tenant === '24562')!;
    expect(kiho.cells.friends!.text).toMatch(/^—/);
    expect(await page.getAttribute('tr[data-tenant="24562"] td[data-field="friends"] abbr', 'title')).toContain(
      'プライバシー',
    );
    expect(await page.textContent('#definitions')).toContain('開封人数 ÷ 配信人数');
    await page.screenshot({ path: path.join(shots, '02-overview.png'), fullPage: true });

    // sort by friends, largest first; unknown values last
    await page.click('th:has-text("友だち数")');
    const order = await page.$$eval('#overview tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-tenant')));
    expect(order.slice(0, 2)).toEqual(['24202', '24201']);

    // sign out: the session ends, pages go back to the sign-in form
    await Promise.all([page.waitForNavigation(), page.click('#sign-out')]);
    expect(new URL(page.url()).pathname).toBe('/login');
    expect(await page.textContent('body')).toContain('サインアウトしました');
    await page.goto(`${suite.url}/overview`);
    expect(new URL(page.url()).pathname).toBe('/login');
    const apiAfter = await page.evaluate(async () => (await fetch('/api/v1/dashboard/overview')).status);
    expect(apiAfter).toBe(401);
    await ctx.close();
  });

  it('renders a municipality chart with data', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1300, height: 1000 }, locale: 'ja-JP' });
    const page = await ctx.newPage();
    await signIn(page, 'ken', 'prefecture-pass-1');
    await page.goto(`${suite.url}/municipalities/24201?from=2025-05-01&to=2025-06-30`);
    await page.waitForSelector('[data-chart="friends"][data-rendered="true"]');
    await page.waitForSelector('[data-chart="followsBlocks"][data-rendered="true"]');
    const series = await page.evaluate(() => {
      const charts = (window as unknown as { tayoriCharts: Record<string, { w: { globals: { series: number[][] } } }> })
        .tayoriCharts;
      return { friends: charts.friends!.w.globals.series[0], follows: charts.followsBlocks!.w.globals.series[0] };
    });
    expect(series.friends).toEqual([1000, 1100, 1200]);
    expect(series.follows!.reduce((a, b) => a + b, 0)).toBe(7 + 50 + 2);
    expect(await page.$$eval('[data-chart="friends"] .apexcharts-series path', (p) => p.length)).toBeGreaterThan(0);
    expect(await page.textContent('#deliveries')).toContain('60.0%');
    // residents by registered attribute, by name (areas, 大 › 中, extra items)
    await page.waitForSelector('[data-chart="attr-x:i1"][data-rendered="true"]');
    const labels = await page.evaluate(() => {
      const charts = (window as unknown as { tayoriCharts: Record<string, { w: { globals: { labels: string[] } } }> })
        .tayoriCharts;
      return Object.fromEntries(
        ['attr-interests', 'attr-residence', 'attr-x:i1'].map((k) => [k, charts[k]!.w.globals.labels]),
      );
    });
    expect(labels).toEqual({
      'attr-interests': ['防災', '防災 › 気象・警報'],
      'attr-residence': ['久居'],
      'attr-x:i1': ['参加している'],
    });
    expect(await page.textContent('[data-chart="attr-x:i1"]')).toContain('健康マイレージ');
    await page.screenshot({ path: path.join(shots, '03-municipality.png'), fullPage: true });
    await ctx.close();
  });

  it('saves a delivery from the composer and lists it; the save is audited', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1300, height: 1000 }, locale: 'ja-JP' });
    const page = await ctx.newPage();
    await signIn(page, 'tsu-staff', 'municipal-pass-1');
    await page.goto(`${suite.url}/municipalities/24201/deliveries`);
    await page.fill('input[name=title]', '健康マイレージ 6月のお知らせ');
    await page.fill('textarea[name=text]', '今月の健康ウォーキングは 6/15 です。');
    await page.click('#composer button[type=submit]');
    await page.waitForFunction(() => !document.getElementById('composer-result')!.textContent!.includes('送信中'));
    expect(await page.textContent('#composer-result')).toContain('下書きを保存しました');
    await page.waitForFunction(() =>
      document.getElementById('live-deliveries')!.textContent!.includes('健康マイレージ 6月のお知らせ'),
    );
    expect(await page.textContent('#live-deliveries')).toContain('下書き');
    await page.screenshot({ path: path.join(shots, '05-deliveries.png'), fullPage: true });
    // send the draft from the list (confirmed), through delivery's API; the send is audited
    page.once('dialog', (d) => void d.accept());
    await page.click('#live-deliveries button:has-text("送信")');
    await page.waitForFunction(() => !/下書き/.test(document.getElementById('live-deliveries')!.textContent!));
    const sends = (await (await op('/api/v1/audit?action=send')).json()) as { records: Array<Record<string, unknown>> };
    expect(sends.records[0]).toMatchObject({ username: 'tsu-staff', tenantId: '24201', outcome: 'ok' });
    const { records } = (await (await op('/api/v1/audit?action=delivery_saved')).json()) as {
      records: Array<Record<string, unknown>>;
    };
    expect(records[0]).toMatchObject({
      username: 'tsu-staff',
      tenantId: '24201',
      detail: { title: '健康マイレージ 6月のお知らせ', audience: 'all' },
    });
    await ctx.close();
  });

  it("keeps a municipality account to its own tenant: another tenant's page and API answer 403", async () => {
    const ctx = await browser.newContext({ viewport: { width: 1300, height: 900 }, locale: 'ja-JP' });
    const page = await ctx.newPage();
    await signIn(page, 'tsu-staff', 'municipal-pass-1');
    expect(new URL(page.url()).pathname).toBe('/municipalities/24201');
    const other = await page.goto(`${suite.url}/municipalities/24202`);
    expect(other!.status()).toBe(403);
    expect(await page.textContent('main')).toContain('24202');
    await page.screenshot({ path: path.join(shots, '04-forbidden.png') });
    const statuses = await page.evaluate(async () => ({
      own: (await fetch('/api/v1/dashboard/municipalities/24201')).status,
      other: (await fetch('/api/v1/dashboard/municipalities/24202')).status,
    }));
    expect(statuses).toEqual({ own: 200, other: 403 });
    expect((await page.goto(`${suite.url}/overview`))!.status()).toBe(403);
    await ctx.close();
  });
});
