/**
 * The FAQ in real Chromium on the whole suite (sandbox on): a municipality's 配信 staff build a
 * scenario in the tree editor, import a sheet (a broken one shows its rows in Japanese and cannot be
 * confirmed), change settings and publish; a resident walks the tree in the talk (the sandbox sends
 * the taps as signed webhooks; the quick replies' postbacks are what a tap sends), answers いいえ and
 * the statistics page moves; the resident's LIFF page searches and reads the FAQ and sends はい／いいえ;
 * another municipality's staff get 403. Every page passes axe-core's WCAG 2.1 AA rules.
 */
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Suite } from '../../cli/suite.ts';
import { createLogger } from '../../core/logger.ts';
import { launchChromium, operatorCall, signedInPage } from '../helpers/browser.ts';
import { type Harness, harness, waitFor } from '../helpers/index.ts';
import { openResidentPage, sandboxResidents } from '../helpers/resident.ts';
import { labels, quick, type Receipt, SCENARIO } from './fixtures.ts';
import { sheetRow, sheetXlsx } from './sheets.ts';

const TSU = '24201';
const PASSWORD = 'faq-pages-pass-1';
let h: Harness;
let suite: Suite;
let browser: Browser;
let page: Page;

async function axe(p: Page, what: string): Promise<void> {
  const r = await new AxeBuilder({ page: p }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  expect(
    r.violations.map((v) => `${what}: ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(' | ')}`),
  ).toEqual([]);
}

/** The resident taps in the talk (a signed webhook from the sandbox to the suite); the reply it causes. */
async function tap(userId: string, data: string): Promise<Receipt['messages']> {
  return act(userId, { type: 'postback', data });
}

async function act(userId: string, action: Record<string, unknown>): Promise<Receipt['messages']> {
  const channel = (await suite.tenants.require(TSU)).channelId;
  const sb = `${suite.sandbox!.url}/__sandbox/channels/${channel}`;
  const replies = async () =>
    ((await (await fetch(`${sb}/receipts/${userId}`)).json()) as { receipts: Receipt[] }).receipts.filter(
      (r) => r.kind === 'reply',
    );
  const before = (await replies()).length;
  const res = await fetch(`${sb}/residents/${userId}/actions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(action),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  const got = await waitFor(async () => (await replies())[before], 20_000, `a reply to ${JSON.stringify(action)}`);
  return got.messages;
}

beforeAll(async () => {
  h = await harness({
    prefix: 'tayori-faq-pages-',
    clickhouse: false,
    // the sandbox lays its history down fast, then runs at real time: only then can replies be sent
    env: { TAYORI_SANDBOX: 'on', TAYORI_DEMO_RESIDENT_RATIO: '0.0001', TAYORI_DEMO_SPEED: '5000000' },
  });
  suite = await h.startSuite({ demo: true }, createLogger(process.env.TEST_LOG ?? 'silent'));
  for (const [username, tenantId] of [
    ['f-tsu', TSU],
    ['f-yokkaichi', '24202'],
  ] as const) {
    const made = await operatorCall(suite, 'POST', '/api/v1/users', {
      username,
      displayName: `${username} 担当`,
      role: 'municipality',
      tenantId,
      permissions: ['deliver'],
      password: PASSWORD,
    });
    expect(made.status).toBe(201);
  }
  browser = await launchChromium();
  page = await signedInPage(browser, suite.url, 'f-tsu', PASSWORD);
  await waitFor(
    async () => suite.sandbox!.world.now() >= Date.now() - 2000,
    120_000,
    'the sandbox to catch up with real time',
  );
}, 300_000);
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

describe('FAQ staff pages', () => {
  it('builds a scenario in the tree editor and publishes it', async () => {
    await page.goto(`${suite.url}/faq`);
    expect(await page.textContent('[data-testid=faq-tenants]')).toContain('津市');
    await axe(page, 'list');
    await page.goto(`${suite.url}/faq/${TSU}`);
    await page.click('#faq-add-top');
    await page.fill('#fn-id', 'kosodate');
    await page.fill('#fn-title', '子育て');
    await page.click('#fn-child');
    await page.fill('#fn-id', 'hoikuen');
    await page.fill('#fn-title', '保育園の申し込み方法は');
    await page.fill('#fn-keywords', '保育園、保育所');
    await page.fill('#fn-answer', '子育て支援課の窓口か電子申請で申し込めます。');
    await page.fill('#fn-links', '電子申請|https://example.jp/hoiku');
    expect(await page.locator('#faq-tree button').allTextContents()).toEqual(['📁 子育て', '保育園の申し込み方法は']);
    await axe(page, 'editor');
    await page.click('#faq-save');
    await page.waitForFunction(() =>
      document.querySelector('#faq-save-status')?.textContent?.includes('下書きを保存しました'),
    );
    await Promise.all([page.waitForEvent('load'), page.click('#faq-publish button[type=submit]')]);
    expect(await page.textContent('[data-testid=faq-live]')).toContain('第 1 版');
    const live = await operatorCall(suite, 'GET', `/api/v1/faq/tenants/${TSU}/scenario`);
    expect(live.body.nodes.find((n: { id: string }) => n.id === 'hoikuen')).toMatchObject({
      parentId: 'kosodate',
      keywords: ['保育園', '保育所'],
      links: [{ label: '電子申請', url: 'https://example.jp/hoiku' }],
    });
  });

  it('imports a sheet: errors by row first, nothing taken; then a clean sheet confirmed', async () => {
    const rows = SCENARIO.map(sheetRow);
    const mime = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
    const broken = [...rows.slice(0, 2), ['gomi-x', 'gomi', 'しつもん', '種類が違う', '', '回答', '', '', '']];
    await page.setInputFiles('#faq-file', { name: 'broken.xlsx', mimeType: mime, buffer: await sheetXlsx(broken) });
    await page.click('#faq-import button[type=submit]');
    await page.waitForSelector('#faq-import-errors:not([hidden])');
    expect(await page.textContent('[data-testid=faq-import-errors] tbody')).toContain(
      '4 行目種類「しつもん」は「カテゴリ」か「質問」にしてください',
    );
    expect(await page.isDisabled('#faq-import-confirm')).toBe(true);
    await page.setInputFiles('#faq-file', { name: 'faq.xlsx', mimeType: mime, buffer: await sheetXlsx(rows) });
    await page.click('#faq-import button[type=submit]');
    await page.waitForFunction(() => !(document.querySelector('#faq-import-confirm') as HTMLButtonElement).disabled);
    expect(await page.textContent('#faq-import-status')).toContain('質問 5 件');
    await Promise.all([page.waitForEvent('load'), page.click('#faq-import-confirm')]);
    expect(await page.locator('#faq-tree button').count()).toBe(SCENARIO.length);
  });

  it('settings refuse a bad AI endpoint in Japanese; typed questions turned on; published as 第 2 版', async () => {
    await page.check('#fs-typed');
    await page.fill('#fs-ai', 'ftp://ai.example');
    await page.click('#faq-settings button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#faq-settings-status')?.textContent?.includes('http://'));
    await page.fill('#fs-ai', '');
    await page.fill('#fs-contact', '津市役所 059-229-3111');
    await page.click('#faq-settings button[type=submit]');
    await page.waitForFunction(() =>
      document.querySelector('#faq-settings-status')?.textContent?.includes('設定を保存しました'),
    );
    await axe(page, 'editor with import errors and settings');
    await Promise.all([page.waitForEvent('load'), page.click('#faq-publish button[type=submit]')]);
    expect(await page.textContent('[data-testid=faq-live]')).toContain('第 2 版');
    expect(await page.locator('[data-testid=faq-versions] [data-rollback="1"]').count()).toBe(1);
  });

  it('a resident walks the tree in the talk, answers いいえ, and the statistics page moves', async () => {
    await page.goto(`${suite.url}/faq/${TSU}/stats`);
    const no0 = Number(await page.textContent('[data-testid=faq-no]'));
    const views0 = Number((await page.textContent('[data-testid=faq-views]'))!.replace(/,/g, ''));
    const [r] = await sandboxResidents(suite.url, TSU, 1);
    const menu = await tap(r!.userId, 'faq:menu');
    expect(labels(menu[0])).toEqual(['ごみ・リサイクル', '防災']);
    const cat = await tap(r!.userId, quick(menu[0], '防災'));
    const ans = await tap(r!.userId, quick(cat[0], '避難所の場所'));
    expect(ans[0]!.text).toContain('避難所マップ');
    const no = await tap(r!.userId, quick(ans[1], 'いいえ'));
    expect(no[0]!.text).toContain('津市役所 059-229-3111');
    // typed questions are on: the FAQ answers, and the auto-reply stays silent (one reply only)
    const typed = await act(r!.userId, { type: 'message', text: '粗大ゴミの出し方を教えて' });
    expect(typed[0]!.text).toContain('【粗大ごみの出し方】');
    await new Promise((ok) => setTimeout(ok, 1500));
    const channel = (await suite.tenants.require(TSU)).channelId;
    const all = (await (
      await fetch(`${suite.sandbox!.url}/__sandbox/channels/${channel}/receipts/${r!.userId}`)
    ).json()) as {
      receipts: Receipt[];
    };
    expect(JSON.stringify(all.receipts)).not.toContain('個別のメッセージにはお返事できません');
    // a question nothing matches, typed after 粗大ごみの出し方: the fallback, counted on that node
    const lost = await act(r!.userId, { type: 'message', text: '成人式の会場はどこ' });
    expect(lost[0]!.text).toContain('当てはまる回答が見つかりませんでした');
    await page.goto(`${suite.url}/faq/${TSU}/stats`);
    expect(Number(await page.textContent('[data-testid=faq-no]'))).toBe(no0 + 1);
    expect(Number((await page.textContent('[data-testid=faq-views]'))!.replace(/,/g, ''))).toBe(views0 + 3);
    const ending = (node: string, kind: string) =>
      page.textContent(`[data-testid=faq-endings] tr[data-node="${node}"][data-ending="${kind}"]`);
    expect(await ending('hinan', 'no')).toMatch(/^防災 › 避難所の場所「いいえ」\d+$/);
    expect(await ending('gomi-sodai', 'fallback')).toMatch(/^ごみ・リサイクル › 粗大ごみの出し方案内 \(該当なし\)\d+$/);
    expect(await page.textContent('[data-testid=faq-fallbacks] tr[data-node="gomi-sodai"]')).toContain(
      '粗大ごみの出し方',
    );
    // views per node per day: the chart's table beside it, today's column of 避難所の場所 counted
    const today = new Date(Date.now() + 9 * 3_600_000).toISOString().slice(0, 10);
    const heads = await page.locator('[data-testid=faq-node-daily] thead th').allTextContents();
    const col = heads.indexOf('避難所の場所');
    expect(col).toBeGreaterThan(0);
    const row = page.locator(`[data-testid=faq-node-daily] tbody tr:has(th:text-is("${today}"))`);
    expect(
      Number(
        await row
          .locator('td')
          .nth(col - 1)
          .textContent(),
      ),
    ).toBeGreaterThanOrEqual(1);
    expect(await page.textContent('[data-testid=faq-node-stats] tr[data-node="hinan"]')).toContain('0.0%');
    // the flow view: ELK's boxes with the figures
    expect(await page.locator('[data-testid=faq-flow] svg g[data-node]').count()).toBe(SCENARIO.length + 1);
    expect(await page.textContent('[data-testid=faq-flow] g[data-node="hinan"]')).toContain('表示 1 ・ 解決率 0%');
    expect(await page.textContent('[data-testid=faq-flow] g[data-node="gomi-sodai"]')).toMatch(/案内 [1-9]/);
    await page.waitForFunction(
      () =>
        Object.keys((window as unknown as { tayoriCharts?: Record<string, unknown> }).tayoriCharts ?? {}).length >= 2,
    );
    await axe(page, 'stats');
  });

  it('residents search and read the FAQ on the LIFF page and answer 「解決しましたか？」', async () => {
    const [r] = await sandboxResidents(suite.url, TSU, 2);
    const liff = await openResidentPage(browser, suite.url, TSU, 'faq', r!.userId);
    expect(await liff.locator('.faq-list a').allTextContents()).toEqual(['ごみ・リサイクル', '防災']);
    await axe(liff, 'resident top');
    await liff.fill('#faq-q', 'ｿﾀﾞｲ 粗大ゴミ');
    await Promise.all([liff.waitForEvent('load'), liff.click('.faq-search button')]);
    await liff.waitForSelector('html[data-liff=ready]');
    await Promise.all([liff.waitForEvent('load'), liff.click('text=粗大ごみの出し方')]);
    await liff.waitForSelector('html[data-liff=ready]');
    expect(await liff.textContent('[data-testid=faq-answer]')).toContain('粗大ごみは事前申込制です');
    await axe(liff, 'resident answer');
    await liff.click('.faq-feedback button[data-resolved=true]');
    await liff.waitForFunction(() =>
      document.querySelector('#faq-fb-status')?.textContent?.includes('ありがとうございました'),
    );
    const stats = await operatorCall(suite, 'GET', `/api/v1/faq/tenants/${TSU}/stats?days=1`);
    expect(stats.body.nodes.find((n: { nodeId: string }) => n.nodeId === 'gomi-sodai')).toMatchObject({ yes: 1 });
    await liff.context().close();
  });

  it("another municipality's staff get 403 on 津市's FAQ pages", async () => {
    const other = await signedInPage(browser, suite.url, 'f-yokkaichi', PASSWORD);
    for (const path of [`/faq/${TSU}`, `/faq/${TSU}/stats`]) {
      const res = await other.goto(`${suite.url}${path}`);
      expect(res?.status()).toBe(403);
    }
    const api = await other.evaluate(async (url) => (await fetch(url)).status, `/api/v1/faq/tenants/${TSU}/scenario`);
    expect(api).toBe(403);
    await other.context().close();
  });
});
