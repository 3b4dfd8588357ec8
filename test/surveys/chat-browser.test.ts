/**
 * Answering a survey's choice questions by quick reply in the talk, on the whole suite (#17). The
 * sandbox has no talk screen that a browser could tap, so the resident's taps are sent as the sandbox's
 * resident actions: each carries exactly the postback data of the quick reply shown in the previous
 * reply, and reaches the suite as a signed webhook (ingest → surveys' handlers → the reply API).
 * Chromium then opens the LIFF form as the same resident: the choices made in the talk are checked,
 * the form resumes there, and the free-text question finishes the answer.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Suite } from '../../cli/suite.ts';
import { createLogger } from '../../core/logger.ts';
import type { Survey, SurveyResults } from '../../surveys/index.ts';
import { launchChromium, operatorCall } from '../helpers/browser.ts';
import { type Harness, harness, waitFor } from '../helpers/index.ts';
import { openResidentPage, sandboxResidents } from '../helpers/resident.ts';

const TSU = '24201';
let h: Harness;
let suite: Suite;
let browser: Browser;
let survey: Survey;
type Msg = { type: string; text?: string; quickReply?: { items: Array<{ action: { label: string; data: string } }> } };

/** The resident's tap in the talk (a signed webhook to the suite); the first message of the reply. */
async function tap(userId: string, data: string): Promise<Msg> {
  const channel = (await suite.tenants.require(TSU)).channelId;
  const sb = `${suite.sandbox!.url}/__sandbox/channels/${channel}`;
  const replies = async () =>
    (
      (await (await fetch(`${sb}/receipts/${userId}`)).json()) as { receipts: Array<{ kind: string; messages: Msg[] }> }
    ).receipts.filter((r) => r.kind === 'reply');
  const before = (await replies()).length;
  const res = await fetch(`${sb}/residents/${userId}/actions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'postback', data }),
  });
  expect(res.status).toBe(200);
  return (await waitFor(async () => (await replies())[before], 20_000, `a reply to ${data}`)).messages[0]!;
}
const quick = (m: Msg, label: string) => {
  const item = m.quickReply?.items.find((i) => i.action.label === label);
  if (!item) throw new Error(`no quick reply ${label} in ${JSON.stringify(m)}`);
  return item.action.data;
};

beforeAll(async () => {
  h = await harness({
    prefix: 'tayori-surveys-chat-browser-',
    clickhouse: false,
    // the sandbox lays its history down fast, then runs at real time: only then can replies be sent
    env: { TAYORI_SANDBOX: 'on', TAYORI_DEMO_RESIDENT_RATIO: '0.0001', TAYORI_DEMO_SPEED: '5000000' },
  });
  suite = await h.startSuite({ demo: true }, createLogger(process.env.TEST_LOG ?? 'silent'));
  const local = (ms: number) => new Date(ms + 9 * 3_600_000).toISOString().slice(0, 16);
  const made = await operatorCall<Survey>(suite, 'POST', `/api/v1/surveys/tenants/${TSU}/surveys`, {
    title: '公園の利用アンケート',
    opensAt: local(Date.now() - 86_400_000),
    closesAt: local(Date.now() + 30 * 86_400_000),
    status: 'open',
    questions: [
      {
        id: 'use',
        type: 'single',
        text: '市の公園を利用しますか',
        required: true,
        options: ['よく利用する', 'たまに', '利用しない'],
      },
      { id: 'score', type: 'rating', text: '公園の満足度', required: true },
      { id: 'wish', type: 'text', text: 'ほしい設備', required: true },
    ],
  });
  expect(made.status, JSON.stringify(made.body)).toBe(201);
  survey = made.body;
  browser = await launchChromium();
  await waitFor(async () => suite.sandbox!.world.now() >= Date.now() - 2000, 120_000, 'the sandbox to reach real time');
}, 300_000);
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

describe('a survey answered by quick replies in the talk', () => {
  it('choices tapped in the talk are saved, and the LIFF form resumes from them', async () => {
    const [r] = await sandboxResidents(suite.url, TSU, 1);
    const u = r!.userId;
    const q1 = await tap(u, `surveys:start:${survey.surveyId}`);
    expect(q1.text).toContain('Q1. 市の公園を利用しますか');
    expect(q1.quickReply!.items.map((i) => i.action.label)).toEqual(['よく利用する', 'たまに', '利用しない']);
    const q2 = await tap(u, quick(q1, 'たまに'));
    expect(q2.text).toContain('Q2. 公園の満足度');
    const q3 = await tap(u, quick(q2, '4'));
    // free text: a button to the LIFF form
    expect(q3.type).toBe('template');

    const page = await openResidentPage(browser, suite.url, TSU, `surveys/${survey.surveyId}`, u);
    await page.waitForSelector('#s-root:not([aria-busy])');
    expect(await page.textContent('#s-state')).toContain('前回の続きから');
    expect(await page.isChecked('#q-use-o-o2')).toBe(true);
    expect(await page.isChecked('#q-score-o-4')).toBe(true);
    await page.getByLabel(/ほしい設備/).fill('日よけのあるベンチ');
    await page.click('[data-testid=submit]');
    await page.waitForFunction(() => document.querySelector('#s-state')?.textContent?.includes('回答を送信しました'));
    await page.context().close();
    const res = await operatorCall<SurveyResults>(
      suite,
      'GET',
      `/api/v1/surveys/tenants/${TSU}/surveys/${survey.surveyId}/results`,
    );
    expect(res.body.complete).toBe(1);
    expect(res.body.questions[0]!.options.map((o) => o.count)).toEqual([0, 1, 0]);
  });
});
