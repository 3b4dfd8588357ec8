/**
 * Surveys in the chat: a sandbox resident taps postbacks (the sandbox's action hook gives the webhook
 * event with a real reply token), the events go through ingest's handler registry to surveys'
 * handlers, which reply through the sandbox's reply API: choice questions come as quick replies, each
 * tap is saved as a partial answer (the LIFF form resumes from it), branching is followed, a
 * free-text question hands over to the form with a button, and after the last question the answer
 * is sent. A redelivered event is not answered twice.
 */
import type { messagingApi } from '@line/bot-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.ts';
import type { ResidentShell } from '../../core/resident-shell.ts';
import { EventHandlerRegistry, type WebhookEvent } from '../../ingest/index.ts';
import { createSurveys, type Survey, SURVEYS_POSTBACK_PREFIX as P, type Surveys } from '../../surveys/index.ts';
import { type Harness, harness, stillResidents, waitFor } from '../helpers/index.ts';

const TSU = '24201';
const CHANNEL = '2000002170';
const op = { actor: { kind: 'operator' as const } };
let h: Harness;
let surveys: Surveys;
let registry: EventHandlerRegistry;
let residents: string[];
let survey: Survey;

type Receipt = { kind: string; messages: Array<messagingApi.Message & Record<string, any>> };

async function hook(method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${h.sandbox.url}/__sandbox${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json;
}
const replies = async (userId: string): Promise<Receipt[]> =>
  ((await hook('GET', `/channels/${CHANNEL}/receipts/${userId}`)).receipts as Receipt[]).filter(
    (r) => r.kind === 'reply',
  );

/** The resident taps a postback; the event reaches surveys' handlers; the reply it causes. */
async function tap(userId: string, data: string) {
  const before = (await replies(userId)).length;
  const { event } = await hook('POST', `/channels/${CHANNEL}/residents/${userId}/actions`, { type: 'postback', data });
  await registry.dispatch(TSU, [event as WebhookEvent]);
  const reply = await waitFor(async () => (await replies(userId))[before]?.messages[0], 10_000, `a reply to ${data}`);
  return { event: event as WebhookEvent, reply };
}
/** The postback data of the quick reply labelled `label`. */
const quick = (m: Receipt['messages'][number], label: string): string => {
  const items = (m.quickReply?.items ?? []) as unknown as Array<{ action: { label: string; data: string } }>;
  const item = items.find((i) => i.action.label === label);
  if (!item) throw new Error(`no quick reply ${label} in ${JSON.stringify(m)}`);
  return item.action.data;
};
const labels = (m: Receipt['messages'][number]) => (m.quickReply?.items ?? []).map((i: any) => i.action.label);

beforeAll(async () => {
  h = await harness({
    prefix: 'tayori-surveys-chat-',
    redis: true,
    sandbox: {
      config: {
        channels: [
          {
            channelId: CHANNEL,
            botUserId: `U${'7'.repeat(32)}`,
            channelSecret: 'surveys-secret',
            channelAccessToken: 'surveys-token',
            residents: stillResidents(4, 217),
          },
        ],
      },
    },
    tenants: [{ id: TSU, name: '津市', kind: 'municipality', channelId: CHANNEL, credentials: 'sandbox' }],
  });
  const logger = createLogger(process.env.TEST_LOG ?? 'silent');
  registry = new EventHandlerRegistry(logger);
  const shell: ResidentShell = {
    page() {},
    api() {},
    assets() {},
    liffUrl: (t, path) => `https://liff.line.me/1000002170-Surv${t.id.slice(1)}/${path}`,
  };
  surveys = createSurveys({
    ch: h.ch,
    redis: h.redis.client,
    tenants: h.tenants,
    endpoints: () => ({ line: 'http://127.0.0.1:9', sandbox: h.sandbox.url }),
    logger,
    keys: () => new TextEncoder().encode('chat-test-key'),
    ingestHandlers: registry,
    residents: shell,
  });
  const iso = (ms: number) => new Date(ms).toISOString();
  survey = await surveys.store.create(
    TSU,
    {
      title: '防災アンケート',
      opensAt: iso(Date.now() - 86_400_000),
      closesAt: iso(Date.now() + 30 * 86_400_000),
      status: 'open',
      anonymous: true,
      questions: [
        {
          id: 'kit',
          type: 'single',
          text: '非常持ち出し袋を用意していますか',
          required: true,
          options: ['はい', 'いいえ'],
          branches: [{ option: 'いいえ', goTo: 'score' }],
        },
        { id: 'items', type: 'multiple', text: '入れているものは', options: ['水', '食料', 'ラジオ'] },
        { id: 'score', type: 'rating', text: '防災情報の分かりやすさ', required: true },
        { id: 'note', type: 'text', text: 'ご意見があればどうぞ' },
      ],
    },
    op,
    'operator',
  );
  residents = [...h.sandbox.world.byChannelId(CHANNEL)!.followerIds()];
}, 60_000);
afterAll(() => h?.close());

describe('surveys in the chat', () => {
  it('lists open surveys, asks choice questions by quick replies, saves each tap and hands free text to the form', async () => {
    const u = residents[0]!;
    const list = await tap(u, `${P}list`);
    expect(labels(list.reply)).toEqual(['防災アンケート']);
    const q1 = await tap(u, quick(list.reply, '防災アンケート'));
    expect(q1.reply.text).toContain('Q1. 非常持ち出し袋を用意していますか');
    expect(labels(q1.reply)).toEqual(['はい', 'いいえ']);
    const q2 = await tap(u, quick(q1.reply, 'はい'));
    expect(q2.reply.text).toContain('Q2. 入れているものは');
    // saved at once as a partial answer: the LIFF form resumes from it
    let mine = await surveys.store.forResident(TSU, survey.surveyId, u);
    expect(mine.partial).toBe(true);
    expect(mine.answers.kit).toEqual({ choices: ['o1'], text: '' });
    // multiple choice: chosen ones leave the list, 次へ goes on
    const again = await tap(u, quick(q2.reply, '水'));
    expect(again.reply.text).toContain('選択中: 水');
    expect(labels(again.reply)).toEqual(['食料', 'ラジオ', '次へ']);
    const again2 = await tap(u, quick(again.reply, 'ラジオ'));
    const q3 = await tap(u, quick(again2.reply, '次へ'));
    expect(q3.reply.text).toContain('Q3. 防災情報の分かりやすさ');
    expect(labels(q3.reply)).toEqual(['1', '2', '3', '4', '5']);
    const q4 = await tap(u, quick(q3.reply, '4'));
    // free text: a button to the LIFF form
    expect(q4.reply.type).toBe('template');
    expect(JSON.stringify(q4.reply)).toContain(`https://liff.line.me/1000002170-Surv4201/surveys/${survey.surveyId}`);
    mine = await surveys.store.forResident(TSU, survey.surveyId, u);
    expect(mine.answers.items!.choices).toEqual(['o1', 'o3']);
    expect(mine.answers.score!.choices).toEqual(['4']);
    expect(mine.partial).toBe(true);
  });

  it('follows a branch, sends the answer after the last choice, and resumes where a resident left off', async () => {
    const u = residents[1]!;
    const q1 = await tap(u, `${P}start:${survey.surveyId}`);
    const q3 = await tap(u, quick(q1.reply, 'いいえ'));
    // いいえ skips Q2
    expect(q3.reply.text).toContain('Q3.');
    // leave and come back: resumed at Q3, not restarted
    const resumed = await tap(u, `${P}start:${survey.surveyId}`);
    expect(resumed.reply.text).toContain('Q3.');
    const q4 = await tap(u, quick(resumed.reply, '2'));
    expect(q4.reply.type).toBe('template');
    // Q4 (free text) is optional: 回答しない sends the answer without it
    const done = await tap(u, quick(q4.reply, '回答しない'));
    expect(JSON.stringify(done)).toContain('ご回答ありがとうございました');
    expect((await surveys.store.forResident(TSU, survey.surveyId, u)).partial).toBe(false);
    const r = await surveys.reader.results(survey);
    expect(r.complete).toBe(1);
    expect(r.questions[0]!.options.map((o) => o.count)).toEqual([0, 1]);
  });

  it('changes a sent answer in the talk and keeps it sent', async () => {
    const u = residents[1]!; // sent in the test before: いいえ, 2
    const q1 = await tap(u, `${P}start:${survey.surveyId}`);
    // everything answered: start asks the optional question left out, the answer stays sent
    expect((await surveys.store.forResident(TSU, survey.surveyId, u)).partial).toBe(false);
    const again = await tap(u, `${P}a:${survey.surveyId}:score:5`);
    expect(JSON.stringify(again.reply)).toContain('Q4.');
    const mine = await surveys.store.forResident(TSU, survey.surveyId, u);
    expect(mine.partial).toBe(false);
    expect(mine.answers.score!.choices).toEqual(['5']);
    expect(q1.reply).toBeDefined();
  });

  it('answers a redelivered event once, and closed surveys in Japanese', async () => {
    const u = residents[2]!;
    const first = await tap(u, `${P}start:${survey.surveyId}`);
    const before = (await replies(u)).length;
    await registry.dispatch(TSU, [first.event]);
    expect((await replies(u)).length).toBe(before);
    const closed = await surveys.store.create(
      TSU,
      { ...survey, title: '終了したアンケート', status: 'closed', opensAt: survey.opensAt, closesAt: survey.closesAt },
      op,
      'operator',
    );
    const r = await tap(u, `${P}start:${closed.surveyId}`);
    expect(r.reply.text).toContain('回答の受付は終了しました');
  });
});
