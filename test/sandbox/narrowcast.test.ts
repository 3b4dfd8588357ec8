/**
 * Narrowcast demographic filters reach the residents the world's own attributes say they should —
 * the same ones the demographic Insight and targetedReaches count — driven through @line/bot-sdk.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insight, messagingApi } from '@line/bot-sdk';
import { startSandbox, type RunningSandbox } from '../../sandbox/index.ts';
import { dayToYmd, jstDay } from '../../sandbox/residents/index.ts';
import type { ResidentDemographics } from '../../sandbox/world.ts';

const START = '2025-06-02T10:00:00+09:00';
const START_MS = Date.parse(START);
const CHANNEL = '2000000088';

let sandbox: RunningSandbox;
let client: messagingApi.MessagingApiClient;
let insightClient: insight.InsightClient;
/** Every friend's attributes, as the world knows them. */
let friends: Array<{ userId: string; d: ResidentDemographics }>;

const targetable = (d: ResidentDemographics) =>
  d.gender !== 'unknown' && d.ageFrom !== undefined && d.areaCode !== undefined;

/** Sends a narrowcast and waits until it has succeeded; its progress. */
async function narrowcast(filter: messagingApi.DemographicFilter, text: string) {
  const res = await client.narrowcastWithHttpInfo({
    messages: [{ type: 'text', text }],
    filter: { demographic: filter },
  });
  expect(res.httpResponse.status).toBe(202);
  const requestId = res.httpResponse.headers.get('x-line-request-id')!;
  for (;;) {
    const progress = await client.getNarrowcastProgress(requestId);
    if (progress.phase === 'succeeded' || progress.phase === 'failed') return { requestId, progress };
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function receiptsOf(userId: string): Promise<number> {
  const res = await fetch(`${sandbox.url}/__sandbox/channels/${CHANNEL}/receipts/${userId}`);
  return ((await res.json()) as { count: number }).count;
}

beforeAll(async () => {
  sandbox = await startSandbox({
    config: {
      channels: [
        {
          channelId: CHANNEL,
          botUserId: `U${'8'.repeat(32)}`,
          channelSecret: 'narrowcast-secret',
          channelAccessToken: 'narrowcast-token',
          residents: {
            count: 3000,
            seed: 21,
            initialFriendRatio: 0.6,
            followRatePerDay: 0,
            blockRatePerDay: 0,
            unblockRatePerDay: 0,
          },
        },
      ],
      clock: { start: START, speed: 1 },
    },
    world: { now: () => START_MS },
  });
  client = new messagingApi.MessagingApiClient({ channelAccessToken: 'narrowcast-token', baseURL: sandbox.url });
  insightClient = new insight.InsightClient({ channelAccessToken: 'narrowcast-token', baseURL: sandbox.url });
  const ch = sandbox.world.byChannelId(CHANNEL)!;
  friends = ch.followerIds().map((userId) => ({ userId, d: ch.demographicsOf(userId)! }));
});

afterAll(async () => {
  await sandbox?.close();
});

describe('narrowcast demographic filters', () => {
  it('a filter that admits everyone reaches exactly targetedReaches friends', async () => {
    const { progress } = await narrowcast(
      { type: 'gender', oneOf: ['male', 'female'] } as messagingApi.DemographicFilter,
      '全員（推定属性あり）へ',
    );
    const reach = (await insightClient.getNumberOfFollowers(dayToYmd(jstDay(START_MS) - 1))).targetedReaches;
    expect(progress.phase).toBe('succeeded');
    expect(progress.targetCount).toBe(reach);
    expect(progress.targetCount).toBe(friends.filter((f) => targetable(f.d)).length);
    expect(progress.targetCount).toBeLessThan(friends.length);
  });

  it('gender, age and area together reach the friends whose attributes match, once each', async () => {
    // The channel's home prefecture: most friends live there.
    const byArea = new Map<string, number>();
    for (const f of friends) if (f.d.areaCode) byArea.set(f.d.areaCode, (byArea.get(f.d.areaCode) ?? 0) + 1);
    const area = [...byArea].sort((a, b) => b[1] - a[1])[0]![0];
    const filter = {
      type: 'operator',
      and: [
        { type: 'gender', oneOf: ['female'] },
        { type: 'age', gte: 'age_20', lt: 'age_40' },
        { type: 'area', oneOf: [area] },
      ],
    } as messagingApi.DemographicFilter;
    const expected = friends.filter(
      (f) =>
        targetable(f.d) && f.d.gender === 'female' && f.d.ageFrom! >= 20 && f.d.ageFrom! < 40 && f.d.areaCode === area,
    );
    expect(expected.length).toBeGreaterThan(20);
    const before = await Promise.all(friends.slice(0, 200).map((f) => receiptsOf(f.userId)));
    const { progress } = await narrowcast(filter, '20〜30代の女性の方へ');
    expect(progress.targetCount).toBe(expected.length);
    expect(progress.successCount).toBe(expected.length);
    const chosen = new Set(expected.map((f) => f.userId));
    const after = await Promise.all(friends.slice(0, 200).map((f) => receiptsOf(f.userId)));
    friends.slice(0, 200).forEach((f, k) => expect(after[k]! - before[k]!).toBe(chosen.has(f.userId) ? 1 : 0));
  });

  it('not, or, app type and subscription period follow the same attributes', async () => {
    const filter = {
      type: 'operator',
      or: [
        { type: 'operator', not: { type: 'appType', oneOf: ['ios'] } },
        { type: 'age', gte: 'age_70' },
      ],
    } as messagingApi.DemographicFilter;
    const { progress } = await narrowcast(filter, 'Android などの方と70歳以上の方へ');
    expect(progress.targetCount).toBe(
      friends.filter((f) => targetable(f.d) && (f.d.appType !== 'ios' || f.d.ageFrom! >= 70)).length,
    );

    const longFriends = await narrowcast(
      { type: 'subscriptionPeriod', gte: 'day_180' } as messagingApi.DemographicFilter,
      '半年以上の友だちへ',
    );
    expect(longFriends.progress.targetCount).toBe(
      friends.filter((f) => targetable(f.d) && f.d.friendDays >= 180).length,
    );
    expect(longFriends.progress.targetCount).toBeGreaterThan(0);
  });
});
