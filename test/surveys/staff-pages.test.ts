/**
 * surveys' staff pages in real Chromium, signed in through the sign-in form as a municipality's
 * 配信 staff: building a survey in the builder (types, options, a branch), its preview, the results page with
 * its charts, the cross-tab with groups under 5 as 「—」 and the free texts, the export refused
 * without 住民データの出力 for an identified survey, and a delivery draft made from the page.
 * The builder and the results pass axe-core's WCAG 2.1 AA rules.
 */
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Suite } from '../../cli/suite.ts';
import { createLogger } from '../../core/logger.ts';
import type { Survey } from '../../surveys/index.ts';
import { launchChromium, operatorCall, signedInPage } from '../helpers/browser.ts';
import { type Harness, harness } from '../helpers/index.ts';
import { residentCall, residentIdToken, sandboxResidents } from '../helpers/resident.ts';

const TSU = '24201';
const PASSWORD = 'surveys-pages-pass-1';
let h: Harness;
let suite: Suite;
let browser: Browser;
let page: Page;
let survey: Survey;

async function axe(p: Page, what: string): Promise<void> {
  const r = await new AxeBuilder({ page: p }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  expect(
    r.violations.map((v) => `${what}: ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(' | ')}`),
  ).toEqual([]);
}

beforeAll(async () => {
  h = await harness({
    prefix: 'tayori-surveys-staff-',
    clickhouse: false,
    env: { TAYORI_SANDBOX: 'on', TAYORI_DEMO_RESIDENT_RATIO: '0.0001', TAYORI_DEMO_SPEED: '1' },
  });
  suite = await h.startSuite({ demo: true }, createLogger(process.env.TEST_LOG ?? 'silent'));
  const made = await operatorCall(suite, 'POST', '/api/v1/users', {
    username: 's-tsu',
    displayName: '津市 広報担当',
    role: 'municipality',
    tenantId: TSU,
    permissions: ['deliver'],
    password: PASSWORD,
  });
  expect(made.status).toBe(201);
  browser = await launchChromium();
  page = await signedInPage(browser, suite.url, 's-tsu', PASSWORD);
}, 300_000);
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

describe('surveys staff pages', () => {
  it('builds a survey with a branch in the builder', async () => {
    await page.goto(`${suite.url}/surveys/${TSU}/new`);
    await page.fill('#sv-title', '窓口サービスアンケート');
    await page.fill('#sv-introduction', '窓口の改善に使います。');
    const now = Date.now();
    const local = (ms: number) => new Date(ms + 9 * 3_600_000).toISOString().slice(0, 16);
    await page.fill('#sv-opensAt', local(now - 86_400_000));
    await page.fill('#sv-closesAt', local(now + 30 * 86_400_000));
    await page.selectOption('#sv-status', 'open');
    await page.fill('#q1-text', '今日、窓口を利用しましたか');
    await page.check('#q1-required');
    await page.fill('#q1-options', 'はい\nいいえ');
    await page.fill('#q1-branches', 'いいえ=終了');
    await page.click('#sv-add');
    await page.selectOption('#q2-type', 'rating');
    await page.fill('#q2-text', '対応の満足度');
    await page.check('#q2-required');
    await page.click('#sv-add');
    await page.selectOption('#q3-type', 'text');
    await page.fill('#q3-text', 'ご意見');
    await axe(page, 'builder');
    await Promise.all([
      page.waitForURL(/\/surveys\/24201\/[0-9a-f-]{36}$/),
      page.click('#survey-form button[type=submit]'),
    ]);
    expect(await page.textContent('h1')).toBe('窓口サービスアンケート');
    const id = page.url().split('/').at(-1)!;
    const got = await operatorCall<Survey>(suite, 'GET', `/api/v1/surveys/tenants/${TSU}/surveys/${id}`);
    survey = got.body;
    expect(survey.questions.map((q) => q.type)).toEqual(['single', 'rating', 'text']);
    expect(survey.questions[0]!.branches).toEqual([{ option: 'o2', goTo: '_end' }]);
    // the preview shows the questions as residents see them
    await page.goto(`${suite.url}/surveys/${TSU}/${id}/preview`);
    const preview = (await page.textContent('[data-testid=preview]')) ?? '';
    expect(preview).toContain('Q1. 今日、窓口を利用しましたか');
    expect(preview).toContain('「いいえ」→ 終了');
    expect(preview).toContain('Q2. 対応の満足度');
    await axe(page, 'preview');
  });

  it('shows results with charts, the cross-tab with 「—」 for small groups, and free texts', async () => {
    const people = await sandboxResidents(suite.url, TSU, 6);
    for (const [i, r] of people.entries()) {
      const token = await residentIdToken(suite.url, TSU, r.userId);
      const res = await residentCall(suite.url, TSU, token, 'PUT', `surveys/${survey.surveyId}/answer`, {
        answers: {
          q1: { choices: ['o1'], text: '' },
          q2: { choices: [String((i % 5) + 1)], text: '' },
          q3: { choices: [], text: i === 0 ? '待ち時間が短くなりました' : '' },
        },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
    await page.goto(`${suite.url}/surveys/${TSU}/${survey.surveyId}?by=gender`);
    expect(await page.textContent('[data-testid=complete]')).toBe(`${people.length} 人`);
    await page.waitForFunction(
      () =>
        Object.keys((window as unknown as { tayoriCharts?: Record<string, unknown> }).tayoriCharts ?? {}).length >= 3,
    );
    expect(
      await page.evaluate(() =>
        Object.keys((window as unknown as { tayoriCharts?: Record<string, unknown> }).tayoriCharts ?? {}).sort(),
      ),
    ).toEqual(['daily', 'q-q1', 'q-q2']);
    const options = await page.locator('[data-testid=options-q1] tbody tr').allTextContents();
    expect(options[0]).toContain(`${people.length}`);
    expect(options[0]).toContain('100.0%');
    // six answers split by gender (and 未登録): no group reaches 5 except possibly one
    const cross = (await page.textContent('[data-testid=crosstab]')) ?? '';
    expect(cross).toContain('—');
    expect(await page.textContent('[data-testid=texts]')).toContain('待ち時間が短くなりました');
    // identified answers: no export for an account without 住民データの出力
    expect(await page.locator('a[href$="answers.csv"]').count()).toBe(0);
    const csv = await page.evaluate(
      async (url) => (await fetch(url)).status,
      `/api/v1/surveys/tenants/${TSU}/surveys/${survey.surveyId}/answers.csv`,
    );
    expect(csv).toBe(403);
    await axe(page, 'results');
  });

  it('lists the surveys with how many residents answered; a prefecture account sees every town in one table', async () => {
    const resultsUrl = page.url();
    await page.goto(`${suite.url}/surveys`);
    const row = page.locator('[data-testid=survey-list] tbody tr', { hasText: survey.title });
    // the results test's six residents sent it
    expect(await row.locator('td.num').textContent()).toBe('6 人');
    // one account: no 市町 column, and its own 新しいアンケートを作る
    expect(await page.locator('[data-testid=survey-list] thead th').allTextContents()).not.toContain('市町');
    expect(await page.getAttribute('a:text("新しいアンケートを作る")', 'href')).toBe(`/surveys/${TSU}/new`);
    await axe(page, 'list');

    const made = await operatorCall(suite, 'POST', '/api/v1/users', {
      username: 's-pref',
      displayName: '三重県 健康推進課',
      role: 'prefecture',
      password: PASSWORD,
    });
    expect(made.status).toBe(201);
    const pref = await signedInPage(browser, suite.url, 's-pref', PASSWORD);
    await pref.goto(`${suite.url}/surveys`);
    const prefRow = pref.locator('[data-testid=survey-list] tbody tr', { hasText: survey.title });
    expect(await prefRow.locator('td').first().textContent()).toBe('津市');
    expect(await prefRow.locator('td.num').textContent()).toBe('6 人');
    // without 配信 nothing is offered to build
    expect(await pref.locator('text=新しいアンケートを作る').count()).toBe(0);
    await axe(pref, 'list (prefecture)');
    await pref.context().close();
    await page.goto(resultsUrl);
  });

  it('makes a delivery draft carrying the answer button', async () => {
    await page.click('#sv-deliver');
    await page.waitForFunction(() =>
      document.querySelector('#sv-deliver-status')?.textContent?.includes('下書きを作りました'),
    );
    const list = await operatorCall<{ deliveries: Array<{ title: string; status: string }> }>(
      suite,
      'GET',
      `/api/v1/tenants/${TSU}/deliveries`,
    );
    expect(list.body.deliveries.find((d) => d.title === 'アンケート: 窓口サービスアンケート')?.status).toBe('draft');
  });
});
