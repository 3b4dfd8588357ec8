/**
 * The first-use survey (#17): staff with 配信 pick an open survey; a resident who adds the account as
 * a friend gets, in the welcome reply of delivery's registration flow, the survey's invitation before
 * the registration menu; its 「トークで回答する」 postback starts the survey in the talk (choices by quick
 * reply). Nothing is added once the resident has answered, or for a cleared or closed survey; drafts
 * are refused in Japanese; only 配信 staff of the tenant may set it; the change is audited.
 */
import type { messagingApi } from '@line/bot-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator, type StaffIdentity } from '../../core/auth.ts';
import { createHttpApp } from '../../core/http.ts';
import { createLogger } from '../../core/logger.ts';
import type { ResidentShell } from '../../core/resident-shell.ts';
import { createDelivery, type Delivery } from '../../delivery/index.ts';
import { EventHandlerRegistry, type WebhookEvent } from '../../ingest/index.ts';
import { createSurveys, type Survey, type Surveys } from '../../surveys/index.ts';
import { type Harness, harness, stillResidents, waitFor } from '../helpers/index.ts';

const TSU = '24201';
const CHANNEL = '2000002190';
const OP = 'operator-token-first-use';
let h: Harness;
let surveys: Surveys;
let delivery: Delivery;
let registry: EventHandlerRegistry;
let base: string;
let residents: string[];
let survey: Survey;
const staff: Record<string, StaffIdentity> = {
  tyr_fudeliverxxxxxxxxxxxxxxxx: {
    userId: 'fu',
    username: 'fu',
    displayName: 'fu',
    role: 'municipality',
    tenantId: TSU,
    permissions: ['deliver'],
  },
  tyr_fureaderxxxxxxxxxxxxxxxxx: {
    userId: 'fr',
    username: 'fr',
    displayName: 'fr',
    role: 'municipality',
    tenantId: TSU,
    permissions: [],
  },
};
type Msg = messagingApi.Message & Record<string, any>;

async function hook(method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${h.sandbox.url}/__sandbox${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return res.json();
}
const replies = async (u: string): Promise<Msg[][]> =>
  ((await hook('GET', `/channels/${CHANNEL}/receipts/${u}`)).receipts as Array<{ kind: string; messages: Msg[] }>)
    .filter((r) => r.kind === 'reply')
    .map((r) => r.messages);
async function act(u: string, action: Record<string, unknown>): Promise<Msg[]> {
  const before = (await replies(u)).length;
  const { event } = await hook('POST', `/channels/${CHANNEL}/residents/${u}/actions`, action);
  await registry.dispatch(TSU, [event as WebhookEvent]);
  return waitFor(async () => (await replies(u))[before], 10_000, `a reply to ${JSON.stringify(action)}`);
}
/** Unfollow, then follow again: the welcome reply. */
async function befriend(u: string): Promise<Msg[]> {
  await hook('POST', `/channels/${CHANNEL}/residents/${u}/actions`, { type: 'unfollow' });
  return act(u, { type: 'follow' });
}
const call = async (token: string, method: string, path: string, body?: unknown) => {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as any };
};
const firstUse = `/api/v1/surveys/tenants/${TSU}/first-use`;

beforeAll(async () => {
  h = await harness({
    prefix: 'tayori-surveys-first-use-',
    redis: true,
    sandbox: {
      config: {
        channels: [
          {
            channelId: CHANNEL,
            botUserId: `U${'9'.repeat(32)}`,
            channelSecret: 'first-use-secret',
            channelAccessToken: 'first-use-token',
            residents: stillResidents(4, 219),
          },
        ],
      },
    },
    tenants: [{ id: TSU, name: '津市', kind: 'municipality', channelId: CHANNEL, credentials: 'sandbox' }],
  });
  const logger = createLogger(process.env.TEST_LOG ?? 'silent');
  const endpoints = () => ({ line: 'http://127.0.0.1:9', sandbox: h.sandbox.url });
  registry = new EventHandlerRegistry(logger);
  delivery = createDelivery({
    ch: h.ch,
    redisUrl: h.redis.url,
    tenants: h.tenants,
    endpoints,
    logger,
    ingestHandlers: registry,
  });
  h.defer('stop delivery', () => delivery.stop());
  const shell: ResidentShell = {
    page() {},
    api() {},
    assets() {},
    liffUrl: (t, path) => `https://liff.line.me/1000002190-Firs${t.id.slice(1)}/${path}`,
  };
  surveys = createSurveys({
    ch: h.ch,
    redis: h.redis.client,
    tenants: h.tenants,
    endpoints,
    logger,
    keys: () => new TextEncoder().encode('first-use-key'),
    ingestHandlers: registry,
    residents: shell,
    delivery,
  });
  const app = createHttpApp(logger);
  surveys.registerRoutes(
    app,
    createAuthenticator({
      operatorTokens: [OP],
      staff: { session: async () => undefined, apiToken: async (t) => staff[t] },
    }),
  );
  base = await h.serve(app);
  const iso = (ms: number) => new Date(ms).toISOString();
  survey = await surveys.store.create(
    TSU,
    {
      title: 'はじめてのアンケート',
      opensAt: iso(Date.now() - 86_400_000),
      closesAt: iso(Date.now() + 30 * 86_400_000),
      status: 'open',
      questions: [
        {
          id: 'how',
          type: 'single',
          text: 'この LINE を何で知りましたか',
          required: true,
          options: ['広報紙', '知人'],
        },
      ],
    },
    { actor: { kind: 'operator' } },
    'operator',
  );
  residents = [...h.sandbox.world.byChannelId(CHANNEL)!.followerIds()];
}, 60_000);
afterAll(() => h?.close());

describe('the first-use survey in the registration flow', () => {
  it('the welcome is the registration menu alone until a survey is picked', async () => {
    const welcome = await befriend(residents[0]!);
    expect(welcome).toHaveLength(1);
    expect(welcome[0]!.text).toContain('友だち追加ありがとうございます');
  });

  it('only 配信 staff set it; drafts refused in Japanese; audited', async () => {
    expect((await call('tyr_fureaderxxxxxxxxxxxxxxxxx', 'PUT', firstUse, { surveyId: survey.surveyId })).status).toBe(
      403,
    );
    const draft = await surveys.store.create(
      TSU,
      { ...survey, title: '下書き', status: 'draft' },
      { actor: { kind: 'operator' } },
      'operator',
    );
    const refused = await call('tyr_fudeliverxxxxxxxxxxxxxxxx', 'PUT', firstUse, { surveyId: draft.surveyId });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain('下書きや受付を終えたアンケート');
    const bad = await call('tyr_fudeliverxxxxxxxxxxxxxxxx', 'PUT', firstUse, { surveyId: 'x' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('アンケートの ID が正しくありません');
    const ok = await call('tyr_fudeliverxxxxxxxxxxxxxxxx', 'PUT', firstUse, { surveyId: survey.surveyId });
    expect(ok).toEqual({ status: 200, body: { surveyId: survey.surveyId } });
    expect((await call('tyr_fureaderxxxxxxxxxxxxxxxxx', 'GET', firstUse)).body).toEqual({ surveyId: survey.surveyId });
    const rs = await h.ch.query({
      query: "SELECT username FROM audit_log WHERE action = 'survey_first_use_changed'",
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([{ username: 'fu' }]);
  });

  it('a new friend is invited before the menu and answers in the talk by quick reply', async () => {
    const u = residents[1]!;
    const welcome = await befriend(u);
    expect(welcome).toHaveLength(2);
    expect(welcome[0]!.type).toBe('template');
    expect(welcome[0]!.template.text).toContain('【はじめてのアンケート】');
    const start = welcome[0]!.template.actions.find((a: { label: string }) => a.label === 'トークで回答する');
    expect(start.data).toBe(`surveys:start:${survey.surveyId}`);
    expect(JSON.stringify(welcome[0])).toContain(`/surveys/${survey.surveyId}`);
    expect(welcome[1]!.text).toContain('友だち追加ありがとうございます');
    const q1 = await act(u, { type: 'postback', data: start.data });
    expect(q1[0]!.text).toContain('Q1. この LINE を何で知りましたか');
    const items = (q1[0] as { quickReply?: { items: Array<{ action: { label: string; data: string } }> } }).quickReply!
      .items;
    const done = await act(u, { type: 'postback', data: items.find((i) => i.action.label === '知人')!.action.data });
    expect(JSON.stringify(done)).toContain('ご回答ありがとうございました');
    expect((await surveys.store.forResident(TSU, survey.surveyId, u)).answers.how!.choices).toEqual(['o2']);
    // answered: no invitation on a later follow
    expect(await befriend(u)).toHaveLength(1);
  });

  it('cleared: the welcome is the menu alone again', async () => {
    await call('tyr_fudeliverxxxxxxxxxxxxxxxx', 'PUT', firstUse, { surveyId: '' });
    expect(await befriend(residents[2]!)).toHaveLength(1);
  });
});
