/**
 * Mileage in the chat: a sandbox resident taps postbacks (the sandbox's action hook gives the
 * webhook event with a real reply token), the events go through ingest's handler registry to
 * mileage's handlers, which reply through the sandbox's reply API: 「記録する」 offers the
 * self-report activities as quick replies, a tap records once within the daily cap and replies with
 * the balance, a redelivered event adds nothing, 「マイレージ」 replies with the Flex summary.
 */
import type { messagingApi } from '@line/bot-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSecretBox } from '../../core/crypto.ts';
import { createLogger } from '../../core/logger.ts';
import type { ResidentShell } from '../../core/resident-shell.ts';
import { addDays, tokyoToday } from '../../core/time.ts';
import { EventHandlerRegistry, type WebhookEvent } from '../../ingest/index.ts';
import { createMileage, MILEAGE_POSTBACK_PREFIX, type Mileage } from '../../mileage/index.ts';
import { type Harness, harness, stillResidents, waitFor } from '../helpers/index.ts';
import type { Ingest } from '../../ingest/index.ts';
import { mileageIngest, shipped } from './event-log.ts';

const TSU = '24201';
const CHANNEL = '2000002110';
const op = { actor: { kind: 'operator' as const } };
let h: Harness;
let mileage: Mileage;
let ingest: Ingest;
let registry: EventHandlerRegistry;
let userId: string;
let walkId: string;

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
const replies = async (): Promise<Receipt[]> =>
  ((await hook('GET', `/channels/${CHANNEL}/receipts/${userId}`)).receipts as Receipt[]).filter(
    (r) => r.kind === 'reply',
  );

/** The resident taps a postback; the event reaches mileage's handlers; the reply it causes. */
async function tap(data: string): Promise<{ event: WebhookEvent; reply: Receipt['messages'][number] }> {
  const before = (await replies()).length;
  const { event } = await hook('POST', `/channels/${CHANNEL}/residents/${userId}/actions`, { type: 'postback', data });
  await registry.dispatch(TSU, [event as WebhookEvent]);
  const reply = await waitFor(async () => (await replies())[before]?.messages[0], 10_000, `a reply to ${data}`);
  return { event, reply };
}

beforeAll(async () => {
  h = await harness({
    prefix: 'tayori-mileage-chat-',
    redis: true,
    sandbox: {
      config: {
        channels: [
          {
            channelId: CHANNEL,
            botUserId: `U${'8'.repeat(32)}`,
            channelSecret: 'chat-secret',
            channelAccessToken: 'chat-token',
            residents: stillResidents(5, 211),
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
    liffUrl: (t, path) => `https://liff.line.me/1000002110-Chat${t.id.slice(1)}/${path}`,
  };
  ingest = await mileageIngest(h);
  mileage = createMileage({
    ch: h.ch,
    ingest,
    redis: h.redis.client,
    tenants: h.tenants,
    endpoints: () => ({ line: 'http://127.0.0.1:9', sandbox: h.sandbox.url }),
    logger,
    box: loadSecretBox(h.config, { create: true }),
    ingestHandlers: registry,
    residents: shell,
  });
  await mileage.start();
  h.defer('mileage', () => mileage.stop());
  const today = tokyoToday();
  const p = await mileage.catalogue.createProgramme(
    TSU,
    {
      fiscalYear: 2026,
      name: '津市とこわか健康マイレージ',
      startsOn: addDays(today, -30),
      endsOn: addDays(today, 30),
      goalPoints: 100,
    },
    op,
  );
  walkId = (
    await mileage.catalogue.addActivity(
      TSU,
      p.programmeId,
      { name: 'ウォーキング 30 分', points: 5, method: 'self_report', selfReportLabel: '今日30分歩いた', dailyCap: 1 },
      op,
    )
  ).activityId;
  await mileage.catalogue.addActivity(TSU, p.programmeId, { name: '健康教室', points: 20, method: 'qr' }, op);
  userId = [...h.sandbox.world.byChannelId(CHANNEL)!.followerIds()][0]!;
}, 60_000);
afterAll(() => h?.close());

describe('mileage in the chat', () => {
  it('offers the self-report activities, records a tap once within the daily cap, and replies with the balance', async () => {
    const menu = await tap(`${MILEAGE_POSTBACK_PREFIX}record`);
    expect(menu.reply.type).toBe('text');
    const items = menu.reply.quickReply!.items as Array<{ action: { label: string; data: string } }>;
    expect(items.map((i) => i.action.label)).toEqual(['今日30分歩いた']);
    expect(items[0]!.action.data).toBe(`${MILEAGE_POSTBACK_PREFIX}self:${walkId}`);

    const first = await tap(items[0]!.action.data);
    expect(first.reply.text).toContain('記録しました (+5 ポイント)。現在 5 ポイント');
    // LINE redelivers the same event: nothing more is recorded
    await registry.dispatch(TSU, [{ ...first.event, deliveryContext: { isRedelivery: true } }]);
    const again = await tap(items[0]!.action.data);
    expect(again.reply.text).toContain('1 日 1 回まで');
    await shipped(ingest);
    const [row] = (await (
      await h.ch.query({
        query: 'SELECT count() AS n FROM mileage_ledger FINAL WHERE user_id = {u:String}',
        query_params: { u: userId },
        format: 'JSONEachRow',
      })
    ).json()) as Array<{ n: number }>;
    expect(Number(row!.n)).toBe(1);
  });

  it('replies to 「マイレージ」 with the points, the progress to the goal and a button to the LIFF page', async () => {
    // the recent activities are the ledger's (the points the guards'): shipped about a second later
    await shipped(ingest);
    const { reply } = await tap(`${MILEAGE_POSTBACK_PREFIX}summary`);
    expect(reply.type).toBe('flex');
    expect(reply.altText).toBe('マイレージ: 5 ポイント (目標 100 ポイント)');
    const body = JSON.stringify(reply.contents);
    expect(body).toContain('目標 100 ポイントまであと 95 ポイント');
    expect(body).toContain('ウォーキング 30 分 +5');
    expect(reply.contents.footer.contents[0].action.uri).toBe(`https://liff.line.me/1000002110-Chat4201/mileage`);
  });

  it('keeps the points of a resident who blocks and unblocks the account', async () => {
    for (const type of ['unfollow', 'follow']) {
      const { event } = await hook('POST', `/channels/${CHANNEL}/residents/${userId}/actions`, { type });
      await registry.dispatch(TSU, [event as WebhookEvent]);
    }
    const { reply } = await tap(`${MILEAGE_POSTBACK_PREFIX}summary`);
    expect(reply.altText).toBe('マイレージ: 5 ポイント (目標 100 ポイント)');
    expect((await mileage.resident.summary(TSU, userId)).memberNo).toMatch(/^24201-\d{6}-\d$/);
  });
});
