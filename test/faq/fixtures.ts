/**
 * The FAQ on real parts: embedded ClickHouse, redis-server, the sandbox for the chat (a channel of
 * still residents), ingest's real handler registry (the auto-reply registered too, so a claimed typed
 * message is seen to silence it), and the staff HTTP API with a real authenticator (staff tokens from
 * a table), as test/surveys/fixtures.ts does.
 */
import type { messagingApi } from '@line/bot-sdk';
import { expect } from 'vitest';
import { createAuthenticator, type StaffIdentity } from '../../core/auth.ts';
import { createHttpApp } from '../../core/http.ts';
import { createLogger } from '../../core/logger.ts';
import { createFaq, type Faq, type FaqNode } from '../../faq/index.ts';
import { EventHandlerRegistry, type WebhookEvent } from '../../ingest/index.ts';
import { type Harness, harness, stillResidents, waitFor } from '../helpers/index.ts';

export const TSU = '24201';
export const YOKKAICHI = '24202';
export const CHANNEL = '2000002180';
export const OP = 'operator-token-faq';
export const op = { actor: { kind: 'operator' as const } };

export const staff: Record<string, StaffIdentity> = {};
const addStaff = (key: string, s: Omit<StaffIdentity, 'userId' | 'username' | 'displayName'>) => {
  const token = `tyr_${key.padEnd(24, 'x')}`;
  staff[token] = { userId: key, username: key, displayName: key, ...s };
  return token;
};
export const T = {
  tsuDeliver: addStaff('faqtsu', { role: 'municipality', tenantId: TSU, permissions: ['deliver'] }),
  tsuReader: addStaff('faqreader', { role: 'municipality', tenantId: TSU, permissions: [] }),
  yokkaichi: addStaff('faqyokkaichi', { role: 'municipality', tenantId: YOKKAICHI, permissions: ['deliver'] }),
};

const q = (over: Partial<FaqNode> & Pick<FaqNode, 'id' | 'parentId' | 'title'>): FaqNode => ({
  kind: 'question',
  keywords: [],
  answer: '',
  imageUrl: '',
  links: [],
  goTo: '',
  ...over,
});

/** A small scenario: two categories, questions with links, a follow-up and a go-to. */
export const SCENARIO: FaqNode[] = [
  q({ id: 'gomi', parentId: '', kind: 'category', title: 'ごみ・リサイクル' }),
  q({
    id: 'gomi-days',
    parentId: 'gomi',
    title: 'ごみの収集日を知りたい',
    keywords: ['収集日', 'ごみカレンダー'],
    answer: 'お住まいの地区の収集日はごみカレンダーでご確認ください。',
    links: [{ label: 'ごみカレンダー', url: 'https://example.jp/gomi' }],
  }),
  q({
    id: 'gomi-sodai',
    parentId: 'gomi',
    title: '粗大ごみの出し方',
    keywords: ['粗大ごみ', '大型ごみ'],
    answer: '粗大ごみは事前申込制です。',
  }),
  q({
    id: 'sodai-fee',
    parentId: 'gomi-sodai',
    title: '粗大ごみの料金',
    keywords: ['手数料'],
    answer: '1 点 500 円からです。',
  }),
  q({ id: 'bousai', parentId: '', kind: 'category', title: '防災' }),
  q({
    id: 'hinan',
    parentId: 'bousai',
    title: '避難所の場所',
    keywords: ['避難所', '避難場所'],
    answer: '市のホームページの避難所マップをご覧ください。',
  }),
  q({ id: 'hinan-map', parentId: 'bousai', title: '避難所の地図がほしい', goTo: 'hinan' }),
];

export type Receipt = { kind: string; messages: Array<messagingApi.Message & Record<string, any>> };

export interface FaqWorld {
  h: Harness;
  faq: Faq;
  registry: EventHandlerRegistry;
  residents: string[];
  base: string;
  call<R = any>(
    token: string,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: R; headers: Headers; bytes: Buffer }>;
  replies(userId: string): Promise<Receipt[]>;
  /** A fresh webhook event of the resident's action from the sandbox (not dispatched). */
  event(
    userId: string,
    action: { type: 'postback'; data: string } | { type: 'message'; text: string },
  ): Promise<WebhookEvent>;
  /** The resident does something (postback data or typed text); the reply it causes (all its messages). */
  act(
    userId: string,
    action: { type: 'postback'; data: string } | { type: 'message'; text: string },
  ): Promise<{ event: WebhookEvent; messages: Receipt['messages'] }>;
}

/**
 * `opts.aiAllow`: hosts the AI endpoint may reach although internal or over http (the operator's
 * TAYORI_FAQ_AI_ALLOW; a test's local AI server needs 127.0.0.1); `opts.aiResolve` stands in for DNS.
 */
export async function faqWorld(
  prefix: string,
  opts: Pick<Parameters<typeof createFaq>[0], 'aiAllow' | 'aiResolve'> = {},
): Promise<FaqWorld> {
  const logger = createLogger(process.env.TEST_LOG ?? 'silent');
  const h = await harness({
    prefix,
    redis: true,
    sandbox: {
      config: {
        channels: [
          {
            channelId: CHANNEL,
            botUserId: `U${'8'.repeat(32)}`,
            channelSecret: 'faq-secret',
            channelAccessToken: 'faq-token',
            residents: stillResidents(6, 218),
          },
        ],
      },
    },
    tenants: [
      { id: TSU, name: '津市', kind: 'municipality', channelId: CHANNEL, credentials: 'sandbox' },
      { id: YOKKAICHI, name: '四日市市', kind: 'municipality', channelId: '2000002181' },
    ],
  });
  const registry = new EventHandlerRegistry(logger);
  const faq = createFaq({
    ch: h.ch,
    redis: h.redis.client,
    tenants: h.tenants,
    endpoints: () => ({ line: 'http://127.0.0.1:9', sandbox: h.sandbox.url }),
    logger,
    ingestHandlers: registry,
    ...opts,
  });
  const app = createHttpApp(logger);
  const auth = createAuthenticator({
    operatorTokens: [OP],
    staff: { session: async () => undefined, apiToken: async (t) => staff[t] },
  });
  faq.registerRoutes(app, auth);
  const base = await h.serve(app);
  const hook = async (method: string, path: string, body?: unknown): Promise<any> => {
    const res = await fetch(`${h.sandbox.url}/__sandbox${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json();
    expect(res.status, JSON.stringify(json)).toBe(200);
    return json;
  };
  const replies = async (userId: string): Promise<Receipt[]> =>
    ((await hook('GET', `/channels/${CHANNEL}/receipts/${userId}`)).receipts as Receipt[]).filter(
      (r) => r.kind === 'reply',
    );
  return {
    h,
    faq,
    registry,
    base,
    residents: [...h.sandbox.world.byChannelId(CHANNEL)!.followerIds()],
    replies,
    async event(userId, action) {
      return (await hook('POST', `/channels/${CHANNEL}/residents/${userId}/actions`, action)).event as WebhookEvent;
    },
    async act(userId, action) {
      const before = (await replies(userId)).length;
      const { event } = await hook('POST', `/channels/${CHANNEL}/residents/${userId}/actions`, action);
      await registry.dispatch(TSU, [event as WebhookEvent]);
      const r = await waitFor(
        async () => (await replies(userId))[before],
        10_000,
        `a reply to ${JSON.stringify(action)}`,
      );
      return { event: event as WebhookEvent, messages: r.messages };
    },
    async call(token, method, path, body) {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
      const bytes = Buffer.from(await res.arrayBuffer());
      const json = res.headers.get('content-type')?.includes('json');
      return {
        status: res.status,
        headers: res.headers,
        bytes,
        body: (json ? JSON.parse(bytes.toString('utf8')) : bytes.toString('utf8')) as never,
      };
    },
  };
}

/** The postback data of the quick reply labelled `label` on a message. */
export function quick(m: Receipt['messages'][number] | undefined, label: string): string {
  const items = (m?.quickReply?.items ?? []) as unknown as Array<{ action: { label: string; data: string } }>;
  const item = items.find((i) => i.action.label === label);
  if (!item) throw new Error(`no quick reply ${label} in ${JSON.stringify(m)}`);
  return item.action.data;
}
export const labels = (m: Receipt['messages'][number] | undefined) =>
  ((m?.quickReply?.items ?? []) as unknown as Array<{ action: { label: string } }>).map((i) => i.action.label);
