import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Suite } from '../../cli/suite.ts';
import { createLogger } from '../../core/logger.ts';
import { seedFigures } from '../helpers/dashboard-fixtures.ts';
import { launchChromium, operatorCall, signedInPage } from '../helpers/browser.ts';
import { harness, type Harness, repoRoot } from '../helpers/index.ts';

// Stored text with markup — a delivery title, area, category, item and option labels, a tenant's and
// staff members' names, minutes and issue text — rendered in real Chromium on every page and chart that
// shows it. No script may run: no dialog, no script error, no Content-Security-Policy violation, the
// flag the payloads would set stays unset, no element carries an on… handler, no image "x" is asked
// for; and each text is there to read as the text it is.

/** Where a field takes 100 characters or more. */
const LONG = '<img src=x onerror=X9=1>';
/** Where a field takes 20 (area, category, item and option names): distinct endings to find each. */
const short = (tag: string) => `<svg onload=X9=1>&${tag}`;
const AREA = short('A');
const CATEGORY = short('B');
const ITEM = short('C');
const OPTION = short('D');
const TENANT_ID = '24998';
const TENANT_NAME = `${LONG}テスト町&`;
const DELIVERY_TITLE = `${LONG}6月の防災だより&`;
const DRAFT_TITLE = `${LONG}下書き&`;
const MINUTES_TITLE = `${LONG}定例会&`;
const ISSUE_TEXT = `${LONG}課題の内容&`;
const PASSWORD = 'xss-browser-pass-1';

let h: Harness;
const shots = path.join(repoRoot, 'test-artifacts', 'security');
let suite: Suite;
let browser: Browser;
const op = <T = any>(method: string, p: string, body?: unknown) => operatorCall<T>(suite, method, p, body);

/** What the payloads would have done, as each page saw it. */
const seen = { dialogs: [] as string[], errors: [] as string[], refused: [] as string[], imageX: [] as string[] };

beforeAll(async () => {
  fs.mkdirSync(shots, { recursive: true });
  h = await harness({ clickhouse: false, env: { TAYORI_DEMO_RESIDENT_RATIO: '0.0001', TAYORI_DEMO_SPEED: '1000' } });
  suite = await h.startSuite({ demo: true }, createLogger(process.env.DBG ? 'error' : 'silent'));
  await seedFigures(suite.ch);
  const ok = async (p: Promise<{ status: number; body: any }>, status = 201) => {
    const r = await p;
    expect(r.status, JSON.stringify(r.body)).toBe(status);
    return r.body;
  };
  // staff whose names carry markup (the header shows them on every page; ユーザー管理 lists them)
  for (const [username, role, extra] of [
    ['ken-x', 'prefecture', {}],
    ['itaku-x', 'contractor', { permissions: ['deliver', 'manage_reports', 'export_residents'] }],
    ['admin-x', 'admin', {}],
  ] as const) {
    await ok(
      op('POST', '/api/v1/users', { username, displayName: `${LONG}${username}&`, role, password: PASSWORD, ...extra }),
    );
  }
  // a municipality whose name carries markup
  await ok(op('POST', '/api/v1/tenants', { id: TENANT_ID, name: TENANT_NAME, kind: 'municipality' }));
  // Tsu's seeded area, category, item and option renamed through delivery's API
  const t = '/api/v1/tenants/24201';
  await ok(op('PATCH', `${t}/categories/a1`, { name: AREA }), 200);
  await ok(op('PATCH', `${t}/categories/c1`, { name: CATEGORY }), 200);
  await ok(op('PATCH', `${t}/attribute-items/i1`, { label: ITEM, options: [{ id: 'o1', label: OPTION }] }), 200);
  // a sent delivery with LINE's figures (the 市町 page's table and chart), renamed
  await suite.ch.insert({
    table: 'deliveries',
    format: 'JSONEachRow',
    values: [
      {
        tenant_id: '24201',
        delivery_id: 'd-req-1',
        kind: 'normal',
        title: DELIVERY_TITLE,
        messages: '[]',
        audience: '{"type":"all"}',
        audience_label: 'すべての友だち',
        send_method: 'broadcast',
        request_id: 'req-1',
        status: 'done',
        targets: 1000,
        batches: 1,
        accepted: 1000,
        failed: 0,
        created_at: '2025-07-01 00:00:00.000',
        updated_at: '2025-07-01 00:00:01.000',
        version: 2,
        is_deleted: 0,
      },
    ],
  });
  // a draft whose title and text carry markup
  await ok(op('POST', `${t}/deliveries`, { title: DRAFT_TITLE, messages: [{ type: 'text', text: `${LONG}本文&` }] }));
  await ok(
    op('POST', '/api/v1/minutes', {
      heldAt: '2025-06-10T14:00',
      kind: '定例会',
      title: MINUTES_TITLE,
      place: `${LONG}会議室`,
      tenantIds: ['24201', TENANT_ID],
      attendees: [{ organization: `${LONG}所属`, name: `${LONG}氏名` }],
      agenda: [`${LONG}議題`],
      discussion: `${LONG}協議内容&`,
      decisions: [`${LONG}決定事項`],
    }),
  );
  await ok(
    op('POST', '/api/v1/issues', {
      tenantId: TENANT_ID,
      category: `${LONG}分類`,
      description: ISSUE_TEXT,
      response: `${LONG}対応&`,
      owner: `${LONG}担当`,
    }),
  );
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

/** A signed-in page that records everything a payload could set off. */
async function watched(username: string): Promise<Page> {
  const page = await signedInPage(browser, suite.url, username, PASSWORD, { viewport: { width: 1400, height: 1200 } });
  page.on('dialog', (d) => {
    seen.dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('console', (m) => {
    if (m.type() === 'error') seen.errors.push(m.text());
    if (/Refused to/i.test(m.text())) seen.refused.push(m.text());
  });
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.endsWith('/x')) seen.imageX.push(r.url());
  });
  // before any of the page's own scripts: CSP violations as the page sees them
  await page.addInitScript(() => {
    (window as any).__csp = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      (window as any).__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`),
    );
  });
  return page;
}

/** After a page has drawn everything: no script ran, no policy was violated, the texts read as text. */
async function expectInert(page: Page, texts: string[]): Promise<void> {
  const state = await page.evaluate(() => ({
    flag: (window as any).X9,
    csp: (window as any).__csp as string[],
    handlers: document.querySelectorAll('[onerror],[onload]').length,
    // biome-ignore lint/performance/useDomNodeTextContent: the text as rendered, what a person reads
    text: document.body.innerText,
    markup: document.body.innerHTML,
  }));
  expect(state.flag, page.url()).toBeUndefined();
  expect(state.csp, page.url()).toEqual([]);
  expect(state.handlers, page.url()).toBe(0);
  for (const t of texts) expect(state.text, `${page.url()}: ${t}`).toContain(t);
  // and as escaped markup in the document, never as an element
  expect(state.markup).not.toMatch(/<img src="?x"?|<svg onload/i);
}

async function waitText(page: Page, text: string, selector = 'body'): Promise<void> {
  await page.waitForFunction(
    // biome-ignore lint/performance/useDomNodeTextContent: the text as rendered, what a person reads
    ([s, t]) => (document.querySelector(s) as HTMLElement | null)?.innerText.includes(t),
    [selector, text] as const,
  );
}

/** Hovers a chart's first bar and returns what its tooltip shows (title and series rows). */
async function tooltipOf(page: Page, chart: string): Promise<string> {
  await page.waitForSelector(`[data-chart="${chart}"][data-rendered="true"]`);
  await page.hover(`[data-chart="${chart}"] .apexcharts-bar-area >> nth=0`);
  await page.waitForSelector(`[data-chart="${chart}"] .apexcharts-tooltip.apexcharts-active`);
  return page.$eval(`[data-chart="${chart}"] .apexcharts-tooltip`, (t) => t.textContent ?? '');
}

describe('stored text with markup in Chromium', () => {
  it('県全体: the municipality name in the table, the selector and the header', async () => {
    const page = await watched('ken-x');
    await page.goto(`${suite.url}/overview?month=2025-06`);
    await page.waitForSelector(`#overview tr[data-tenant="${TENANT_ID}"]`);
    await page.waitForSelector('.spark svg');
    expect(await page.textContent(`#overview tr[data-tenant="${TENANT_ID}"] a`)).toBe(TENANT_NAME);
    expect(await page.$$eval('#tenant-nav option', (o) => o.map((x) => x.textContent))).toContain(TENANT_NAME);
    await expectInert(page, [TENANT_NAME, `${LONG}ken-x&`]);
    // the month selector still submits without an inline handler
    await Promise.all([page.waitForNavigation(), page.selectOption('#month', '2025-05')]);
    expect(new URL(page.url()).searchParams.get('month')).toBe('2025-05');
    await expectInert(page, [TENANT_NAME]);
    await page.context().close();
  });

  it('市町: delivery titles in the table and the chart (axis and tooltip), names in the attribute charts', async () => {
    const page = await watched('ken-x');
    await page.goto(`${suite.url}/municipalities/24201?from=2025-05-01&to=2025-06-30`);
    await waitText(page, DELIVERY_TITLE, '#deliveries');
    // the per-delivery chart: the title on the axis (SVG text) and in the tooltip (HTML), as text
    const deliveries = await tooltipOf(page, 'deliveries');
    expect(deliveries).toContain(`2025-06-05 ${LONG}`);
    expect(deliveries).toContain('開封率: ');
    expect(await page.textContent('[data-chart="deliveries"] .apexcharts-xaxis')).toContain(LONG);
    await page.screenshot({ path: path.join(shots, 'municipality-tooltip.png'), fullPage: true });
    // residents by area, interest and extra item: the names as labels and in tooltips
    expect(await tooltipOf(page, 'attr-residence')).toContain(AREA);
    expect(await page.textContent('[data-chart="attr-interests"]')).toContain(CATEGORY);
    expect(await page.textContent('[data-chart="attr-x:i1"] .apexcharts-title-text')).toBe(ITEM);
    expect(await tooltipOf(page, 'attr-x:i1')).toContain(OPTION);
    await expectInert(page, [DELIVERY_TITLE]);
    // the markup-named municipality's own page
    await page.goto(`${suite.url}/municipalities/${TENANT_ID}`);
    expect(await page.textContent('h1')).toContain(TENANT_NAME);
    await page.waitForSelector('[data-chart="friends"][data-rendered="true"]');
    await expectInert(page, [TENANT_NAME]);
    await page.context().close();
  });

  it('配信: the list, the composer (segment labels, a draft reopened) and its preview', async () => {
    const page = await watched('itaku-x');
    await page.goto(`${suite.url}/municipalities/24201/deliveries`);
    await waitText(page, DRAFT_TITLE, '#live-deliveries');
    await waitText(page, DELIVERY_TITLE, '#live-deliveries');
    // the segment builder offers the area, item and option by name
    await page.waitForSelector('textarea[name=text]');
    await page.check('input[name=audienceType][value=segment]');
    await page.waitForSelector('#segment-builder select[data-role=attr]');
    await page.selectOption('#segment-builder select[data-role=attr] >> nth=0', 'residence');
    await waitText(page, AREA, '#segment-builder');
    await page.selectOption('#segment-builder select[data-role=attr] >> nth=0', 'x:i1');
    await waitText(page, OPTION, '#segment-builder');
    expect(
      await page.$$eval('#segment-builder select[data-role=attr] option', (o) => o.map((x) => x.textContent)),
    ).toContain(ITEM);
    // the draft reopened in the composer: its title back in the field as it was typed
    await page.click(`#live-deliveries button[aria-label="「${DRAFT_TITLE}」を編集"]`);
    await page.waitForFunction(
      (t) => (document.querySelector('input[name=title]') as HTMLInputElement).value === t,
      DRAFT_TITLE,
    );
    // the preview (HTML the server built with html, put in with innerHTML)
    await page.check('input[name=audienceType][value=all]');
    await page.fill('textarea[name=text] >> nth=0', `${LONG}本文& https://example.jp/a?b=1&c=<2>\n2行目`);
    await page.click('#preview-button');
    await page.waitForSelector('#preview .line-preview .bubble.text');
    const bubble = await page.$eval('#preview .bubble.text', (b) => ({
      text: b.textContent,
      links: [...b.querySelectorAll('a')].map((a) => a.getAttribute('href')),
      breaks: b.querySelectorAll('br').length,
    }));
    expect(bubble).toEqual({
      text: `${LONG}本文& https://example.jp/a?b=1&c=<2>2行目`,
      links: ['https://example.jp/a?b=1&c='],
      breaks: 1,
    });
    await page.screenshot({ path: path.join(shots, 'deliveries-preview.png'), fullPage: true });
    await expectInert(page, [DRAFT_TITLE, DELIVERY_TITLE, `${LONG}itaku-x&`]);
    await page.context().close();
  });

  it('配信設定: areas, categories, items and options', async () => {
    const page = await watched('itaku-x');
    await page.goto(`${suite.url}/municipalities/24201/delivery-settings`);
    for (const t of [AREA, CATEGORY, ITEM, OPTION]) await waitText(page, t, '#delivery-settings');
    await expectInert(page, [AREA, CATEGORY, ITEM, OPTION]);
    await page.context().close();
  });

  it('議事録: the list, the detail and the tenant boxes', async () => {
    const page = await watched('itaku-x');
    await page.goto(`${suite.url}/minutes`);
    await waitText(page, MINUTES_TITLE, '#minutes-list');
    await page.click(`#minutes-list button:has-text("定例会&")`);
    await waitText(page, `${LONG}協議内容&`, '#minutes-detail');
    await expectInert(page, [
      MINUTES_TITLE,
      `${LONG}協議内容&`,
      `${LONG}議題`,
      `${LONG}決定事項`,
      `${LONG}氏名`,
      `${LONG}会議室`,
      TENANT_NAME,
    ]);
    // the editor's tenant boxes name the municipality as text
    await page.click('#minutes-new');
    expect(await page.textContent('#minutes-editor .boxes')).toContain(TENANT_NAME);
    await expectInert(page, [TENANT_NAME]);
    await page.context().close();
  });

  it('課題管理表: the log and an entry’s history', async () => {
    const page = await watched('itaku-x');
    await page.goto(`${suite.url}/issues`);
    await waitText(page, ISSUE_TEXT, '#issues');
    await page.click('#issues button:has-text("履歴")');
    await waitText(page, TENANT_NAME, '#issue-history');
    await expectInert(page, [ISSUE_TEXT, `${LONG}対応&`, `${LONG}分類`, `${LONG}担当`, TENANT_NAME]);
    await page.context().close();
  });

  it('帳票 and ユーザー管理', async () => {
    const page = await watched('ken-x');
    await page.goto(`${suite.url}/reports`);
    await page.waitForSelector('#report-jobs:not(:has-text("読み込み中"))');
    await expectInert(page, [`${LONG}ken-x&`]);
    await page.context().close();
    const admin = await watched('admin-x');
    await admin.goto(`${suite.url}/admin/users`);
    await expectInert(admin, [`${LONG}itaku-x&`, `${LONG}ken-x&`, `${LONG}admin-x&`]);
    await admin.context().close();
  });

  it('the sign-in form gives back a typed user name as text', async () => {
    const ctx = await browser.newContext({ locale: 'ja-JP' });
    const page = await ctx.newPage();
    page.on('dialog', (d) => {
      seen.dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(`${suite.url}/login`);
    const name = `"><img src=x onerror=X9=1>`;
    await page.fill('#username', name);
    await page.fill('#password', 'wrong-password-1');
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    expect(await page.inputValue('#username')).toBe(name);
    expect(await page.evaluate(() => (window as any).X9)).toBeUndefined();
    expect(await page.$$('img')).toHaveLength(0);
    await ctx.close();
  });

  it('nothing ran anywhere: no dialog, no script error, no refused resource, no request for the image', () => {
    expect(seen).toEqual({ dialogs: [], errors: [], refused: [], imageX: [] });
  });
});
