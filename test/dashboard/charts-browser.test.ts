import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Suite } from '../../cli/suite.ts';
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import { seedFigures } from '../helpers/dashboard-fixtures.ts';
import { launchChromium, signedInPage } from '../helpers/browser.ts';
import { harness, type Harness, repoRoot } from '../helpers/index.ts';

// The 市町 page's charts in real Chromium: apexcharts' Japanese locale (a daily axis reads 6/1, never
// "01 Jun" or "12:00"), and axis labels that never run into each other. Screenshots go to
// test-artifacts/dashboard/.
let h: Harness;
const shots = path.join(repoRoot, 'test-artifacts', 'dashboard');
let suite: Suite;
let browser: Browser;
const PASSWORD = 'charts-check-pass-1';
const ENGLISH_MONTH = /\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\b/;

/**
 * Yokkaichi's registered friends at a real town's scale: 20,000 friends over the default interest tree
 * (大 › 中, long names), 23 areas, genders and birth years, so counts run to thousands.
 */
async function seedAttributes(ch: ClickHouseClient): Promise<void> {
  const tenant = '24202';
  const now = '2025-07-01 00:00:00.000';
  const tree: Array<[string, string[]]> = [
    ['防災', ['気象・警報', '避難情報', '防災訓練']],
    ['子育て', ['健診・予防接種', '保育・教育', '子育てイベント']],
    ['健康', ['健康マイレージ', '健康教室', '検診']],
    ['イベント', ['文化・スポーツ', 'まつり', '講座']],
    ['お知らせ', ['行政', 'ごみ・環境', '募集']],
  ];
  const areas =
    '富田 羽津 常磐 日永 四郷 内部 塩浜 小山田 川島 神前 桜 三重 県 下野 大矢知 八郷 海蔵 橋北 中部 保々 河原田 水沢 楠'.split(
      ' ',
    );
  const categories = [
    ...tree.flatMap(([name, middles], i) => [
      [`c${i}`, '', name],
      ...middles.map((m, j) => [`c${i}_${j}`, `c${i}`, m]),
    ]),
    ...areas.map((name, i) => [`a${i}`, '@area', name]),
  ];
  await ch.insert({
    table: 'delivery_categories',
    values: categories.map(([id, parent, name], i) => ({
      tenant_id: tenant,
      category_id: id,
      parent_id: parent,
      name,
      sort: i,
      retired: 0,
      updated_at: now,
      version: 1,
      is_deleted: 0,
    })),
    format: 'JSONEachRow',
  });
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed % n;
  };
  const users = Array.from({ length: 20_000 }, (_, i) => `U${String(i).padStart(32, '0')}`);
  await ch.insert({
    table: 'resident_states',
    values: users.map((u) => ({ tenant_id: tenant, user_id: u, is_friend: 1, changed_at: now, version: 1 })),
    format: 'JSONEachRow',
  });
  const row = (u: string, item: string, values: string[]) => ({
    tenant_id: tenant,
    user_id: u,
    item,
    values,
    answered_at: now,
    version: 1,
    is_deleted: 0,
  });
  await ch.insert({
    table: 'resident_attributes',
    values: users.flatMap((u, i) => [
      row(u, 'gender', [['female', 'male', 'other'][random(3)]!]),
      row(u, 'birth_year', [String(1940 + random(65))]),
      row(u, 'residence', [`a${random(i % 3 ? 5 : areas.length)}`]),
      row(
        u,
        'interests',
        Array.from({ length: 1 + random(3) }, () => {
          const a = random(i % 4 ? 2 : tree.length);
          return `c${a}/c${a}_${random(3)}/a${random(areas.length)}`;
        }),
      ),
    ]),
    format: 'JSONEachRow',
  });
}

/** Yokkaichi's year of deliveries: 60, one every six days in 2025, each with LINE's figures. */
async function seedDeliveries(ch: ClickHouseClient): Promise<void> {
  const tenant = '24202';
  const now = '2026-01-10 00:00:00.000';
  const list = Array.from({ length: 60 }, (_, i) => {
    const sent = new Date(Date.UTC(2025, 0, 1 + i * 6, 1)).toISOString().replace('T', ' ').replace('Z', '');
    return { key: `y-req-${i}`, sent, title: `${i + 1}回目 健康マイレージのお知らせ`, delivered: 1000 + i };
  });
  await ch.insert({
    table: 'insight_tracked_deliveries',
    values: list.map((d) => ({
      tenant_id: tenant,
      kind: 'request_id',
      key: d.key,
      sent_at: d.sent,
      track_until: now,
      registered_at: d.sent,
      version: 1,
      is_deleted: 0,
    })),
    format: 'JSONEachRow',
  });
  await ch.insert({
    table: 'insight_message_stats',
    values: list.map((d, i) => ({
      tenant_id: tenant,
      kind: 'request_id',
      key: d.key,
      sent_at: d.sent,
      fetched_at: now,
      status: 'ready',
      delivered: d.delivered,
      unique_impression: 400 + i * 5,
      unique_click: 40 + i,
      unique_media_played: null,
      unique_media_played_100_percent: null,
      impression: null,
      click: null,
      media_played: null,
      messages: [],
      clicks: [],
      response: '{}',
    })),
    format: 'JSONEachRow',
  });
  await ch.insert({
    table: 'deliveries',
    values: list.map((d) => ({
      tenant_id: tenant,
      delivery_id: `d-${d.key}`,
      kind: 'normal',
      title: d.title,
      messages: '[]',
      audience: '{"type":"all"}',
      audience_label: 'すべての友だち',
      send_method: 'broadcast',
      request_id: d.key,
      status: 'done',
      targets: d.delivered,
      batches: 1,
      accepted: d.delivered,
      failed: 0,
      created_at: d.sent,
      updated_at: d.sent,
      version: 1,
      is_deleted: 0,
    })),
    format: 'JSONEachRow',
  });
}

beforeAll(async () => {
  fs.mkdirSync(shots, { recursive: true });
  h = await harness({ clickhouse: false, env: { TAYORI_DEMO_RESIDENT_RATIO: '0.0001', TAYORI_DEMO_SPEED: '1000' } });
  suite = await h.startSuite({ demo: true });
  await seedFigures(suite.ch);
  await seedAttributes(suite.ch);
  await seedDeliveries(suite.ch);
  const res = await fetch(`${suite.url}/api/v1/users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${suite.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'charts-ken', displayName: '県 担当者', role: 'prefecture', password: PASSWORD }),
  });
  expect(res.status).toBe(201);
  browser = await launchChromium();
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

/** The visible texts of a chart's axis labels, with their boxes on the page. */
function axisLabels(
  page: Page,
  selector: string,
): Promise<Array<{ text: string; x: number; y: number; w: number; h: number }>> {
  return page.$$eval(selector, (nodes) =>
    nodes
      .map((n) => {
        // the label's own text (apexcharts adds a <title> with the same words for a trimmed label)
        const text = [...n.querySelectorAll('tspan')].map((t) => t.textContent ?? '').join('');
        const r = n.getBoundingClientRect();
        return { text: text.trim(), x: r.x, y: r.y, w: r.width, h: r.height };
      })
      .filter((b) => b.text && b.w > 0 && b.h > 0),
  );
}

const overlap = (
  a: { x: number; y: number; w: number; h: number },
  b: { x: number; y: number; w: number; h: number },
) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

/** Whether two convex shapes overlap (no edge of either separates them; touching is apart). */
function convexOverlap(a: Array<{ x: number; y: number }>, b: Array<{ x: number; y: number }>): boolean {
  for (const shape of [a, b])
    for (const [i, p] of shape.entries()) {
      const q = shape[(i + 1) % shape.length]!;
      const along = (v: { x: number; y: number }) => v.x * (q.y - p.y) - v.y * (q.x - p.x);
      const pa = a.map(along);
      const pb = b.map(along);
      if (Math.max(...pa) <= Math.min(...pb) + 0.5 || Math.max(...pb) <= Math.min(...pa) + 0.5) return false;
    }
  return true;
}

/** No two boxes of a list overlap (each pair named in the failure). */
function expectApart(what: string, labels: Array<{ text: string; x: number; y: number; w: number; h: number }>) {
  for (const [i, a] of labels.entries())
    for (const b of labels.slice(i + 1))
      expect(overlap(a, b), `${what}: 「${a.text}」 and 「${b.text}」 overlap`).toBe(false);
}

describe('the 市町 page charts in Chromium', () => {
  it.each([
    ['two days', 'from=2025-06-29&to=2025-06-30'],
    ['one day', 'from=2025-06-30&to=2025-06-30'],
    ['a week', 'from=2025-06-24&to=2025-06-30'],
    ['two months', 'from=2025-05-01&to=2025-06-30'],
    ['a year across the new year', 'from=2025-01-15&to=2026-01-14'],
    ['a week across the new year', 'from=2025-12-28&to=2026-01-03'],
  ])('daily axes read as Japanese dates, apart (%s)', async (name, query) => {
    const page = await signedInPage(browser, suite.url, 'charts-ken', PASSWORD, {
      viewport: { width: 1000, height: 900 },
    });
    await page.goto(`${suite.url}/municipalities/24201?${query}`);
    for (const chart of ['friends', 'followsBlocks']) {
      await page.waitForSelector(`[data-chart="${chart}"][data-rendered="true"]`);
      const labels = await axisLabels(page, `[data-chart="${chart}"] .apexcharts-xaxis-label`);
      expect(labels.length, `${name} ${chart}`).toBeGreaterThan(0);
      for (const { text } of labels) {
        expect(text, `${name} ${chart}`).not.toMatch(ENGLISH_MONTH);
        expect(text, `${name} ${chart}: a daily axis shows no time of day`).not.toMatch(/:/);
        // 6/29, 2025/12/30 (a short range across the new year), 6月, 2025年12月
        expect(text, `${name} ${chart}`).toMatch(/^((\d{4}\/)?\d{1,2}\/\d{1,2}|(\d{4}年)?\d{1,2}月|\d{4}年)$/);
      }
      expectApart(`${name} ${chart}`, labels);
      await page.locator(`[data-chart="${chart}"]`).screenshot({
        path: path.join(shots, `06-axis-${query.replace(/from=|to=/g, '').replace('&', '_')}-${chart}.png`),
      });
    }
    // apexcharts' own Japanese words (month and day names) in every chart of the page
    const locales = await page.evaluate(() =>
      Object.entries(
        (
          window as unknown as {
            tayoriCharts: Record<
              string,
              { w: { config: { chart: { defaultLocale: string } }; globals: { locale: { months: string[] } } } }
            >;
          }
        ).tayoriCharts,
      ).map(([chart, c]) => `${chart} ${c.w.config.chart.defaultLocale} ${c.w.globals.locale.months[0]}`),
    );
    expect(locales.length).toBeGreaterThan(2);
    for (const l of locales) expect(l).toMatch(/ ja 1月$/);
    if (name === 'two months') {
      // a day's tooltip names its date in Japanese
      await page.hover('[data-chart="followsBlocks"] .apexcharts-bar-area[val="7"]'); // 5/10: 7 follows
      await page.waitForSelector('[data-chart="followsBlocks"] .apexcharts-tooltip.apexcharts-active');
      expect(await page.textContent('[data-chart="followsBlocks"] .apexcharts-tooltip-title')).toBe('2025年5月10日');
    }
    await page.context().close();
  });

  it.each([
    ['wide', { width: 1400, height: 1000 }],
    ['narrow', { width: 800, height: 1000 }],
    ['phone', { width: 390, height: 900 }],
  ] as const)('residents by attribute: category and count labels apart (%s)', async (name, viewport) => {
    const page = await signedInPage(browser, suite.url, 'charts-ken', PASSWORD, { viewport });
    await page.goto(`${suite.url}/municipalities/24202`);
    const charts = ['attr-interests', 'attr-gender', 'attr-birth_year', 'attr-residence'];
    for (const chart of charts) await page.waitForSelector(`[data-chart="${chart}"][data-rendered="true"]`);
    await page.screenshot({ path: path.join(shots, `07-municipality-attributes-${name}.png`), fullPage: true });
    await page
      .locator('[data-chart="attr-interests"]')
      .screenshot({ path: path.join(shots, `07-attr-interests-${name}.png`) });
    for (const chart of charts) {
      const categories = await axisLabels(page, `[data-chart="${chart}"] .apexcharts-yaxis-label`);
      const counts = await axisLabels(page, `[data-chart="${chart}"] .apexcharts-xaxis-label`);
      expect(categories.length, chart).toBeGreaterThan(1);
      expect(counts.length, chart).toBeGreaterThan(1);
      expectApart(`${chart} categories`, categories);
      expectApart(`${chart} counts`, counts);
      expectApart(`${chart} categories and counts`, [...categories, ...counts]);
    }
    // 関心のある分野: every middle category of the tree has a bar and a label
    const interests = await axisLabels(page, '[data-chart="attr-interests"] .apexcharts-yaxis-label');
    expect(interests.length).toBe(15);
    await page.context().close();
  });

  it.each([
    ['wide', { width: 1400, height: 1000 }],
    ['narrow', { width: 800, height: 1000 }],
  ] as const)('a year of deliveries: their slanted labels apart (%s)', async (name, viewport) => {
    const page = await signedInPage(browser, suite.url, 'charts-ken', PASSWORD, { viewport });
    await page.goto(`${suite.url}/municipalities/24202?from=2025-01-01&to=2025-12-31`);
    await page.waitForSelector('[data-chart="deliveries"][data-rendered="true"]');
    await page.locator('[data-chart="deliveries"]').screenshot({ path: path.join(shots, `08-deliveries-${name}.png`) });
    // each label's text as drawn (turned -45°): the four corners of its box on the page
    const shapes = await page.$$eval('[data-chart="deliveries"] .apexcharts-xaxis-label', (nodes) =>
      nodes.flatMap((n) => {
        const t = n as SVGGraphicsElement;
        const b = t.getBBox();
        const m = t.getScreenCTM();
        if (!m || !b.width || !b.height) return [];
        const text = [...t.querySelectorAll('tspan')].map((s) => s.textContent ?? '').join('');
        const at = (x: number, y: number) => new DOMPoint(x, y).matrixTransform(m);
        const c = [at(b.x, b.y), at(b.x + b.width, b.y), at(b.x + b.width, b.y + b.height), at(b.x, b.y + b.height)];
        return [{ text, corners: c.map((p) => ({ x: p.x, y: p.y })) }];
      }),
    );
    expect(shapes.length).toBeGreaterThan(3);
    expect(shapes.every((s) => /^2025-\d\d-\d\d/.test(s.text))).toBe(true);
    for (const [i, a] of shapes.entries())
      for (const b of shapes.slice(i + 1))
        expect(convexOverlap(a.corners, b.corners), `「${a.text}」 and 「${b.text}」 overlap`).toBe(false);
    await page.context().close();
  });
});
