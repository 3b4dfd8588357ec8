/**
 * The residents' survey pages in real Chromium on a 360×740 phone screen, as simulated residents of
 * the sandbox through LINE's LIFF mock (a real ID token the server verifies as in LINE), on the whole
 * suite: answering through the form with branching, a partial answer saved on the way and resumed on
 * the next visit (not restarted), a required question refused in Japanese, the answer sent and then
 * changed; the list page; a survey not yet open says so. Every page passes axe-core's WCAG 2.1 AA rules.
 */
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Suite } from '../../cli/suite.ts';
import { createLogger } from '../../core/logger.ts';
import type { Survey, SurveyResults } from '../../surveys/index.ts';
import { launchChromium } from '../helpers/browser.ts';
import { type Harness, harness } from '../helpers/index.ts';
import { openResidentPage, type SandboxResident, sandboxResidents } from '../helpers/resident.ts';

const TSU = '24201';
const DAY = 86_400_000;
let h: Harness;
let suite: Suite;
let browser: Browser;
let people: SandboxResident[];
let survey: Survey;
let later: Survey;

async function op<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(suite.url + path, {
    method,
    headers: {
      authorization: `Bearer ${suite.token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
}
const results = async () =>
  (await op<SurveyResults>('GET', `/api/v1/surveys/tenants/${TSU}/surveys/${survey.surveyId}/results`)).body;

async function axe(page: Page, what: string): Promise<void> {
  const r = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  expect(
    r.violations.map((v) => `${what}: ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(' | ')}`),
  ).toEqual([]);
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
}

const form = (userId: string) => openResidentPage(browser, suite.url, TSU, `surveys/${survey.surveyId}`, userId);
const ready = (page: Page) => page.waitForSelector('#s-root:not([aria-busy])');

beforeAll(async () => {
  h = await harness({
    prefix: 'tayori-surveys-pages-',
    clickhouse: false,
    env: { TAYORI_SANDBOX: 'on', TAYORI_DEMO_RESIDENT_RATIO: '0.0001', TAYORI_DEMO_SPEED: '1' },
  });
  suite = await h.startSuite({ demo: true }, createLogger(process.env.TEST_LOG ?? 'silent'));
  people = await sandboxResidents(suite.url, TSU, 4);
  const now = Date.now();
  const made = await op<Survey>('POST', `/api/v1/surveys/tenants/${TSU}/surveys`, {
    title: '子育て支援アンケート',
    introduction: '今後の子育て支援の参考にします。',
    opensAt: new Date(now - DAY).toISOString(),
    closesAt: new Date(now + 30 * DAY).toISOString(),
    status: 'open',
    questions: [
      {
        id: 'kids',
        type: 'single',
        text: 'お子さんはいますか',
        required: true,
        options: ['はい', 'いいえ'],
        branches: [{ option: 'いいえ', goTo: 3 }],
      },
      { id: 'need', type: 'multiple', text: '必要な支援は', options: ['保育', '医療費', '相談窓口'], other: true },
      { id: 'score', type: 'rating', text: '現在の支援の満足度', required: true },
      { id: 'note', type: 'text', text: 'ご意見をお聞かせください' },
    ],
  });
  expect(made.status, JSON.stringify(made.body)).toBe(201);
  survey = made.body;
  const upcoming = await op<Survey>('POST', `/api/v1/surveys/tenants/${TSU}/surveys`, {
    title: '来月のアンケート',
    opensAt: new Date(now + 10 * DAY).toISOString(),
    closesAt: new Date(now + 40 * DAY).toISOString(),
    status: 'open',
    questions: [{ type: 'rating', text: '満足度', required: true }],
  });
  later = upcoming.body;
  browser = await launchChromium();
}, 300_000);
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

describe('answering a survey in LIFF', () => {
  it('saves a partial answer on the way and resumes it; refuses a missing required answer; sends it', async () => {
    const me = people[0]!.userId;
    let page = await form(me);
    await ready(page);
    expect(await page.textContent('#s-title')).toBe('子育て支援アンケート');
    await page.getByLabel('はい').check();
    await page
      .getByRole('group', { name: /必要な支援は/ })
      .getByLabel('医療費')
      .check();
    await page
      .getByRole('group', { name: /必要な支援は/ })
      .getByLabel('その他', { exact: true })
      .check();
    await page.getByLabel('その他の内容').fill('一時預かり');
    await page.waitForFunction(() => document.querySelector('#s-saved')?.textContent?.includes('途中まで保存しました'));
    await axe(page, 'form');
    await page.context().close();
    expect((await results()).partial).toBe(1);

    // the next visit resumes: what was chosen is still chosen
    page = await form(me);
    await ready(page);
    expect(await page.textContent('#s-state')).toContain('前回の続きから');
    expect(await page.getByLabel('はい').isChecked()).toBe(true);
    expect(
      await page
        .getByRole('group', { name: /必要な支援は/ })
        .getByLabel('医療費')
        .isChecked(),
    ).toBe(true);
    expect(await page.getByLabel('その他の内容').inputValue()).toBe('一時預かり');
    // the required rating is missing
    await page.getByTestId('submit').click();
    await page.waitForSelector('#q-score-error:not(:empty)');
    expect(await page.textContent('#q-score-error')).toBe('この設問は回答が必要です');
    expect(await page.textContent('#resident-alert')).toContain('入力内容を確認してください');
    await page
      .getByRole('radiogroup', { name: /現在の支援の満足度/ })
      .getByLabel('4')
      .check();
    await page.getByLabel(/ご意見をお聞かせください/).fill('公園を増やしてほしい');
    await page.getByTestId('submit').click();
    await page.waitForFunction(() => document.querySelector('#s-state')?.textContent?.includes('回答を送信しました'));
    await page.context().close();
    const r = await results();
    expect(r.complete).toBe(1);
    expect(r.partial).toBe(0);
    expect(r.questions[1]!.options.find((o) => o.label === 'その他')!.count).toBe(1);
  });

  it('changes a sent answer until the window closes, with the branch applied', async () => {
    const me = people[0]!.userId;
    const page = await form(me);
    await ready(page);
    expect(await page.textContent('#s-state')).toContain('回答済みです');
    expect(await page.textContent('#s-submit')).toBe('回答を変更する');
    await page.getByLabel('いいえ').check();
    // いいえ skips Q2
    await page.waitForSelector('#q-need', { state: 'hidden' });
    await page.getByTestId('submit').click();
    await page.waitForFunction(() => document.querySelector('#s-state')?.textContent?.includes('回答を変更しました'));
    await page.context().close();
    const r = await results();
    expect(r.complete).toBe(1);
    expect(r.questions[0]!.options.map((o) => o.count)).toEqual([0, 1]);
    // the skipped question's answer is not kept
    expect(r.questions[1]!.options.every((o) => o.count === 0)).toBe(true);
  });

  it('lists open surveys with the resident state, and says when a survey is not open yet', async () => {
    const list = await openResidentPage(browser, suite.url, TSU, 'surveys', people[0]!.userId);
    await list.waitForSelector('#s-list-box:not([aria-busy])');
    const text = (await list.textContent('#s-list')) ?? '';
    expect(text).toContain('子育て支援アンケート');
    expect(text).toMatch(/子育て支援アンケート（回答済み/);
    expect(text).toContain('来月のアンケート');
    await axe(list, 'list');
    await list.context().close();
    const page = await openResidentPage(browser, suite.url, TSU, `surveys/${later.surveyId}`, people[1]!.userId);
    await ready(page);
    expect(await page.textContent('#s-state')).toContain('まだ受付前です');
    expect(await page.isHidden('#s-form')).toBe(true);
    await axe(page, 'not open');
    await page.context().close();
  });
});
