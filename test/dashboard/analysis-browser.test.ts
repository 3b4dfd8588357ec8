import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSuite, type Suite } from '../../cli/suite.ts';
import { createLogger } from '../../core/logger.ts';
import { launchChromium, operatorCall, signedInPage } from '../helpers/browser.ts';
import { daily, days, writeDeliveries } from '../helpers/findings-world.ts';
import { testConfig, migratedTmpDir } from '../helpers/index.ts';

// The 分析 page in Chromium: 津市's evening deliveries are opened twice as often (四日市市's are
// not); the prefecture sees the pooled findings with their charts and evidence links, a
// municipality account its own findings only, and every page passes axe-core's WCAG 2.1 AA rules.
const tmp = migratedTmpDir();
let suite: Suite;
let browser: Browser;
const PASSWORD = 'analysis-pass-123';
const Q = '?from=2026-04&to=2026-09';

beforeAll(async () => {
  suite = await startSuite(testConfig(tmp.dir, { TAYORI_SANDBOX: 'off' }), createLogger('silent'), { demo: true });
  await writeDeliveries(
    suite.ch,
    [
      ...daily('24201', days('2026-04-02', 30, 3), 19, { recipients: 2000, openRate: 0.4, title: '夜の健康だより' }),
      ...daily('24201', days('2026-04-03', 30, 3), 10, { recipients: 2000, openRate: 0.2, title: '朝の健康だより' }),
      ...daily('24202', days('2026-04-02', 30, 3), 19, { recipients: 2000, openRate: 0.3 }),
      ...daily('24202', days('2026-04-03', 30, 3), 10, { recipients: 2000, openRate: 0.3 }),
    ],
    3,
  );
  for (const u of [
    { username: 'a-ken', displayName: '県 担当者', role: 'prefecture', password: PASSWORD },
    {
      username: 'a-yokkaichi',
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

const rendered = (page: Page) =>
  page.waitForFunction(() => document.querySelectorAll('[data-chart][data-rendered="true"]').length === 3);

describe('分析 page', () => {
  it('prefecture-wide: findings with their sample, charts, evidence linked to the deliveries; axe clean', async () => {
    const page = await signedInPage(browser, suite.url, 'a-ken', PASSWORD);
    await page.goto(`${suite.url}/analysis${Q}`);
    expect(await page.locator('h1').textContent()).toBe('分析 — 県全体');
    await rendered(page);
    const f = page.locator('[data-finding="timing.hour_open"]');
    expect(await f.locator('p').first().textContent()).toMatch(/19時台に送った配信の開封率は 3\d\.\d% \(95% 信頼区間/);
    expect(await f.locator('.sample').textContent()).toBe('標本: 配信 120 件・配信人数 240,000 人');
    await f.locator('summary').click();
    const href = await f.locator('a').first().getAttribute('href');
    expect(href).toMatch(/^\/municipalities\/2420[12]\/deliveries#delivery-[0-9a-f-]{36}$/);
    // the link opens the municipality's deliveries with that delivery's row shown (older ones read as needed)
    const linked = await page.context().newPage();
    await linked.goto(suite.url + href!);
    const row = linked.locator(`[id="${href!.split('#')[1]}"]`);
    await row.waitFor();
    expect(await row.getAttribute('class')).toContain('linked');
    expect(await row.isVisible()).toBe(true);
    await linked.close();
    // the heatmap has a row per weekday; 19時 is darker than 10時 on the prefecture's pooled rates
    const series = await page.evaluate(() => {
      type Charts = Record<string, { w: { config: { series: Array<{ name: string }> } } }>;
      return (window as unknown as { tayoriCharts: Charts }).tayoriCharts.heatmap!.w.config.series.map((s) => s.name);
    });
    expect(series).toEqual(['日曜日', '土曜日', '金曜日', '木曜日', '水曜日', '火曜日', '月曜日']);
    // what was left out, with the reason
    expect(await page.locator('[data-left-out="growth.promotion"] td').last().textContent()).toMatch(
      /^データが少ないため省略: /,
    );
    expect(await axe(page)).toEqual([]);
    await page.goto(`${suite.url}/municipalities/24201/analysis${Q}`);
    await rendered(page);
    expect(await page.locator('[data-finding="timing.hour_open"] p').first().textContent()).toMatch(
      /^津市では、19時台に送った配信の開封率は (39|4\d)\.\d% .+ の (1\.9|2\.\d) 倍でした。$/,
    );
    expect(await axe(page)).toEqual([]);
    await page.context().close();
  });

  it('a municipality account sees its own analysis only: no finding there, and 403 for another', async () => {
    const page = await signedInPage(browser, suite.url, 'a-yokkaichi', PASSWORD);
    await page.goto(`${suite.url}/analysis${Q}`);
    expect(await page.locator('h1').textContent()).toBe('分析 — 四日市市');
    await rendered(page);
    expect(await page.locator('[data-finding^="timing."]').count()).toBe(0);
    expect(await page.locator('[data-left-out="timing.hour_open"] td').last().textContent()).toMatch(
      /^はっきりした差なし: /,
    );
    expect(await page.locator('main').textContent()).not.toContain('津市');
    expect(await axe(page)).toEqual([]);
    const other = await page.goto(`${suite.url}/municipalities/24201/analysis${Q}`);
    expect(other!.status()).toBe(403);
    await page.context().close();
  });
});
