/**
 * Residents acting on a test's behalf (POST /__sandbox/channels/:channelId/residents[...]):
 * picking residents, and message / postback / follow / unfollow actions that reach a real webhook
 * receiver signed, change the resident's state and the Insight figures, and give reply tokens
 * that @line/bot-sdk can reply with once.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insight, messagingApi, validateSignature } from '@line/bot-sdk';
import { startSandbox, type RunningSandbox } from '../../sandbox/index.ts';
import { DAY_MS, dayToYmd, jstDay, type WebhookEvent } from '../../sandbox/residents/index.ts';
import { lineFailure, sandboxHook } from '../helpers/index.ts';

const START = '2025-06-02T10:00:00+09:00';
const START_MS = Date.parse(START);
const SECRET = 'actions-channel-secret';
const CHANNEL = '2000000077';
const BOT = `U${'7'.repeat(32)}`;

interface Received {
  raw: string;
  signature: string;
  body: { destination: string; events: WebhookEvent[] };
}

let sandbox: RunningSandbox;
let receiver: http.Server;
const received: Received[] = [];
let client: messagingApi.MessagingApiClient;
let insightClient: insight.InsightClient;

const hook = (method: string, path: string, body?: unknown) => sandboxHook(sandbox.url, method, path, body);

const act = (userId: string, action: unknown) =>
  hook('POST', `/channels/${CHANNEL}/residents/${userId}/actions`, action);

/** The received webhook event with this id (waits for it). */
async function delivered(webhookEventId: string): Promise<{ event: WebhookEvent; request: Received }> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    for (const request of received) {
      const event = request.body.events.find((e) => e.webhookEventId === webhookEventId);
      if (event) return { event, request };
    }
    if (Date.now() > deadline) throw new Error(`webhook event ${webhookEventId} never arrived`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      received.push({ raw, signature: String(req.headers['x-line-signature']), body: JSON.parse(raw) });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  sandbox = await startSandbox({
    config: {
      channels: [
        {
          channelId: CHANNEL,
          botUserId: BOT,
          channelSecret: SECRET,
          channelAccessToken: 'actions-token',
          webhookUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhook`,
          // Nobody acts on their own: every event here is one a test caused.
          residents: {
            count: 400,
            seed: 9,
            initialFriendRatio: 0.5,
            followRatePerDay: 0,
            blockRatePerDay: 0,
            unblockRatePerDay: 0,
          },
        },
      ],
      clock: { start: START, speed: 1 },
    },
    // The real clock stands still: simulated time moves only with advanceBy.
    world: { now: () => START_MS },
  });
  client = new messagingApi.MessagingApiClient({ channelAccessToken: 'actions-token', baseURL: sandbox.url });
  insightClient = new insight.InsightClient({ channelAccessToken: 'actions-token', baseURL: sandbox.url });
});

afterAll(async () => {
  await sandbox?.close();
  await new Promise((r) => receiver?.close(r));
});

describe('POST /__sandbox/channels/:channelId/residents', () => {
  it('hands out current friends and newcomers, never the same resident twice', async () => {
    const a = await hook('POST', `/channels/${CHANNEL}/residents?friends=5&newcomers=2`);
    const b = await hook('POST', `/channels/${CHANNEL}/residents?friends=5`);
    expect(a.httpStatus).toBe(200);
    expect(a.friends).toHaveLength(5);
    expect(a.newcomers).toHaveLength(2);
    expect(b.newcomers).toEqual([]);
    const all = [...a.friends, ...a.newcomers, ...b.friends];
    expect(new Set(all).size).toBe(12);
    for (const id of [...a.friends, ...b.friends]) expect((await client.getProfile(id)).userId).toBe(id);
    for (const id of a.newcomers) expect((await lineFailure(client.getProfile(id))).status).toBe(404);
    expect((await hook('POST', `/channels/${CHANNEL}/residents?friends=-1`)).httpStatus).toBe(400);
    expect((await hook('POST', `/channels/9999999999/residents?friends=1`)).httpStatus).toBe(404);
  });
});

describe('POST /__sandbox/channels/:channelId/residents/:userId/actions', () => {
  it('a message reaches the webhook signed; its reply token is accepted once and the reply lands in the receipts', async () => {
    const [userId] = (await hook('POST', `/channels/${CHANNEL}/residents?friends=1`)).friends;
    const answer = await act(userId, { type: 'message', text: '健康ポイントを確認したい' });
    expect(answer.httpStatus).toBe(200);
    expect(answer.status).toBe('friend');
    expect(answer.event).toMatchObject({
      type: 'message',
      mode: 'active',
      timestamp: START_MS,
      source: { type: 'user', userId },
      deliveryContext: { isRedelivery: false },
      message: { type: 'text', text: '健康ポイントを確認したい' },
    });
    expect(answer.event.replyToken).toMatch(/^[0-9a-f]{32}$/);

    const { event, request } = await delivered(answer.event.webhookEventId);
    expect(event).toEqual(answer.event);
    expect(request.body.destination).toBe(BOT);
    expect(validateSignature(request.raw, SECRET, request.signature)).toBe(true);
    expect(validateSignature(request.raw, 'another-secret', request.signature)).toBe(false);

    const reply = await client.replyMessage({
      replyToken: event.replyToken!,
      messages: [{ type: 'text', text: '現在 120 ポイントです' }],
    });
    expect(reply.sentMessages).toHaveLength(1);
    const again = await lineFailure(
      client.replyMessage({ replyToken: event.replyToken!, messages: [{ type: 'text', text: '二度目' }] }),
    );
    expect(again.status).toBe(400);
    expect(again.json.message).toBe('Invalid reply token');

    const receipts = await hook('GET', `/channels/${CHANNEL}/receipts/${userId}`);
    expect(receipts.count).toBe(1);
    expect(receipts.receipts).toEqual([expect.objectContaining({ kind: 'reply', messageCount: 1 })]);
  });

  it('a postback carries its data and params, as from a quick reply or a date picker', async () => {
    const [userId] = (await hook('POST', `/channels/${CHANNEL}/residents?friends=1`)).friends;
    const answer = await act(userId, {
      type: 'postback',
      data: 'action=register&attr=birthdate',
      params: { date: '1960-04-01' },
    });
    expect(answer.httpStatus).toBe(200);
    expect(answer.event.postback).toEqual({ data: 'action=register&attr=birthdate', params: { date: '1960-04-01' } });
    const plain = await act(userId, { type: 'postback', data: 'action=register&attr=gender&value=female' });
    expect(plain.event.postback).toEqual({ data: 'action=register&attr=gender&value=female' });
    const { event } = await delivered(plain.event.webhookEventId);
    await client.replyMessage({
      replyToken: event.replyToken!,
      messages: [
        {
          type: 'text',
          text: '登録しました',
          quickReply: { items: [{ type: 'action', action: { type: 'postback', label: '次へ', data: 'next' } }] },
        },
      ],
    });
    expect((await hook('GET', `/channels/${CHANNEL}/receipts/${userId}`)).count).toBe(1);
  });

  it('unfollow blocks and follow unblocks or adds; friends, profiles and Insight figures follow', async () => {
    const day = jstDay(START_MS);
    const before = await insightClient.getNumberOfFollowers(dayToYmd(day - 1));
    const picked = await hook('POST', `/channels/${CHANNEL}/residents?friends=2&newcomers=1`);
    const [comesBack, staysAway] = picked.friends as string[];
    const [newcomer] = picked.newcomers as string[];

    const blocked = await act(comesBack!, { type: 'unfollow' });
    expect(blocked.status).toBe('blocking');
    expect(blocked.event.replyToken).toBeUndefined();
    expect((await lineFailure(client.getProfile(comesBack!))).status).toBe(404);
    expect((await act(comesBack!, { type: 'message', text: 'こんにちは' })).httpStatus).toBe(409);
    expect((await act(comesBack!, { type: 'unfollow' })).httpStatus).toBe(409);
    const back = await act(comesBack!, { type: 'follow' });
    expect(back.status).toBe('friend');
    expect(back.event.follow).toEqual({ isUnblocked: true });
    expect(back.event.replyToken).toMatch(/^[0-9a-f]{32}$/);
    expect((await act(comesBack!, { type: 'follow' })).httpStatus).toBe(409);

    await act(staysAway!, { type: 'unfollow' });
    const added = await act(newcomer!, { type: 'follow' });
    expect(added.event.follow).toEqual({ isUnblocked: false });
    expect((await client.getProfile(newcomer!)).userId).toBe(newcomer);
    for (const ev of [blocked, back, added]) await delivered(ev.event.webhookEventId);

    // A follow's reply token works like any other (a greeting).
    await client.replyMessage({
      replyToken: added.event.replyToken,
      messages: [{ type: 'text', text: '友だち追加ありがとうございます' }],
    });
    expect((await hook('GET', `/channels/${CHANNEL}/receipts/${newcomer}`)).count).toBe(1);

    // Today is unready; once the day is over its figures include the actions.
    expect((await insightClient.getNumberOfFollowers(dayToYmd(day))).status).toBe('unready');
    await sandbox.world.advanceBy(DAY_MS);
    const after = await insightClient.getNumberOfFollowers(dayToYmd(day));
    expect(after.status).toBe('ready');
    expect(after.followers).toBe(before.followers! + 1);
    expect(after.blocks).toBe(before.blocks! + 1);
  });

  it('answers 404 for strangers and 400 for malformed actions', async () => {
    const [userId] = (await hook('POST', `/channels/${CHANNEL}/residents?friends=1`)).friends;
    expect((await act(`U${'0'.repeat(32)}`, { type: 'message', text: 'x' })).httpStatus).toBe(404);
    expect(
      (await hook('POST', `/channels/9999999999/residents/${userId}/actions`, { type: 'follow' })).httpStatus,
    ).toBe(404);
    for (const bad of [
      { type: 'sticker' },
      { type: 'message' },
      { type: 'message', text: '' },
      { type: 'postback', data: 'x'.repeat(301) },
      { type: 'follow', extra: 1 },
    ]) {
      const answer = await act(userId, bad);
      expect(answer.httpStatus).toBe(400);
      expect(answer.details.length).toBeGreaterThan(0);
    }
    expect((await act(userId, 'not json')).httpStatus).toBe(400);
  });

  it('runs out of residents to hand out (last: it takes them all)', async () => {
    const rest = await hook('POST', `/channels/${CHANNEL}/residents?newcomers=10000`);
    expect(rest.newcomers.length).toBeGreaterThan(100);
    expect(rest.newcomers.length).toBeLessThan(300);
    expect((await hook('POST', `/channels/${CHANNEL}/residents?newcomers=1`)).newcomers).toEqual([]);
  });
});
