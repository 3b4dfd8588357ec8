import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { validateSignature } from '@line/bot-sdk';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createWorld,
  DAY_MS,
  dayToYmd,
  jstDay,
  SimClock,
  type SandboxWorld,
  type WebhookEvent,
} from '../../sandbox/residents/index.ts';
import type { ChannelConfig, ResidentsConfig, SandboxConfig } from '../../sandbox/world.ts';

const START = '2025-04-01T00:00:00+09:00';
const START_MS = Date.parse(START);
const SECRET = 'sandbox-channel-secret-0001';

function channel(
  over: Omit<Partial<ChannelConfig>, 'residents'> & { residents?: Partial<ResidentsConfig> } = {},
): SandboxConfig['channels'][number] {
  const { residents, ...rest } = over;
  return {
    channelId: '2000000001',
    botUserId: 'U' + 'ab'.repeat(16),
    channelSecret: SECRET,
    channelAccessToken: 'token-0001',
    redelivery: true,
    displayName: 'テスト市',
    residents: {
      count: 1000,
      seed: 7,
      initialFriendRatio: 0.3,
      followRatePerDay: 0.002,
      blockRatePerDay: 0.0005,
      unblockRatePerDay: 0.002,
      openProbability: 0.6,
      clickProbability: 0.1,
      fatigueThresholdPerWeek: 3,
      fatigueBlockProbability: 0.01,
      ...residents,
    },
    ...rest,
  };
}

function config(...channels: SandboxConfig['channels']): SandboxConfig {
  return {
    channels,
    rateLimits: { defaultPerSecond: 2000, multicastPerSecond: 200, perHourEndpoints: 60 },
    clock: { start: START, speed: 1 },
  };
}

/** A world whose simulated time only moves through advanceBy (the real clock stands still). */
function frozenWorld(cfg: SandboxConfig, extra: Parameters<typeof createWorld>[1] = {}): SandboxWorld {
  const w = createWorld(cfg, { now: () => START_MS, ...extra });
  worlds.push(w);
  return w;
}

interface Received {
  raw: string;
  headers: http.IncomingHttpHeaders;
  body: { destination: string; events: WebhookEvent[] };
}

/** A real webhook receiver on a free port; `answer` picks the status for each request. */
async function receiver(answer: (n: number, r: Received) => number = () => 200) {
  const got: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const r: Received = { raw, headers: req.headers, body: JSON.parse(raw) };
      got.push(r);
      res.statusCode = answer(got.length, r);
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/callback`, got };
}

const worlds: SandboxWorld[] = [];
const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(worlds.splice(0).map((w) => w.stop()));
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function eventsOf(got: Received[]): WebhookEvent[] {
  return got.flatMap((r) => r.body.events);
}

describe('population', () => {
  it('is deterministic for a seed: same ids and initial friends; another seed differs', () => {
    const a = frozenWorld(config(channel())).channels()[0]!;
    const b = frozenWorld(config(channel())).channels()[0]!;
    const c = frozenWorld(config(channel({ residents: { seed: 8 } }))).channels()[0]!;
    expect(a.followerIds().length).toBeGreaterThan(200);
    expect(a.followerIds()).toEqual(b.followerIds());
    expect(c.followerIds()).not.toEqual(a.followerIds());
    for (const id of a.followerIds()) expect(id).toMatch(/^U[0-9a-f]{32}$/);
    expect(a.profile(a.followerIds()[0]!)).toEqual(b.profile(b.followerIds()[0]!));
  });

  it('gives friends Japanese profiles and answers only for friends', () => {
    const ch = frozenWorld(config(channel())).channels()[0]!;
    const id = ch.followerIds()[3]!;
    expect(ch.isFriend(id)).toBe(true);
    const p = ch.profile(id)!;
    expect(p.userId).toBe(id);
    expect(p.language).toBe('ja');
    expect(p.displayName.length).toBeGreaterThan(0);
    expect(ch.isFriend('U' + '0'.repeat(32))).toBe(false);
    expect(ch.profile('U' + '0'.repeat(32))).toBeUndefined();
    // An id of the same shape with one digit changed is nobody.
    const other = id.slice(0, 20) + (id[20] === 'a' ? 'b' : 'a') + id.slice(21);
    expect(ch.isFriend(other)).toBe(false);
  });

  it('holds 2,000,000 residents per channel', () => {
    const before = process.memoryUsage();
    const w = frozenWorld(config(channel({ residents: { count: 2_000_000 } })));
    const after = process.memoryUsage();
    // Typed arrays, not objects: a few tens of MB, far from a gigabyte.
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(100e6);
    expect(after.heapUsed - before.heapUsed).toBeLessThan(100e6);
    const ch = w.channels()[0]!;
    const ids = ch.followerIds();
    expect(ids.length).toBeGreaterThan(590_000);
    expect(ids.length).toBeLessThan(610_000);
    expect(new Set(ids.slice(0, 50_000)).size).toBe(50_000);
    expect(ch.isFriend(ids[ids.length - 1]!)).toBe(true);
    const yesterday = ch.followersInsight(dayToYmd(jstDay(START_MS) - 1));
    expect(yesterday).toEqual({
      status: 'ready',
      followers: ids.length,
      targetedReaches: expect.any(Number),
      blocks: 0,
    });
  });

  it('warms the follower list in slices, and the list stays exact after changes', async () => {
    const w = frozenWorld(
      config(channel({ residents: { count: 300_000, followRatePerDay: 0.05, blockRatePerDay: 0.05 } })),
    );
    const ch = w.channels()[0]!;
    await ch.warmFollowerIds(10_000);
    await w.advanceBy(DAY_MS / 2);
    const ids = ch.followerIds();
    const fresh = frozenWorld(
      config(channel({ residents: { count: 300_000, followRatePerDay: 0.05, blockRatePerDay: 0.05 } })),
    );
    await fresh.advanceBy(DAY_MS / 2);
    expect(ids).toEqual(fresh.channels()[0]!.followerIds());
    expect(ids.length).toBe(ch.sim.population.friends);
  });
});

describe('simulated clock', () => {
  it('runs speed× faster while behind real time, then at real time', () => {
    let real = Date.parse('2025-06-01T00:00:00Z');
    const clock = new SimClock({ start: real - 10 * DAY_MS, speed: 1000, realNow: () => real });
    expect(clock.now()).toBe(real - 10 * DAY_MS);
    real += 60_000; // one real minute → 1000 simulated minutes
    expect(clock.now()).toBe(real - 60_000 - 10 * DAY_MS + 60_000_000);
    real += 20 * DAY_MS; // caught up long ago: real time from then on
    expect(clock.now()).toBe(real);
    real += 1000;
    expect(clock.now()).toBe(real);
    clock.advanceBy(DAY_MS);
    expect(clock.now()).toBe(real + DAY_MS);
  });
});

describe('webhooks', () => {
  it('sends follow/unfollow events signed with the channel secret, in LINE’s shape', async () => {
    const rx = await receiver();
    const w = frozenWorld(
      config(channel({ webhookUrl: rx.url, residents: { followRatePerDay: 0.05, blockRatePerDay: 0.05 } })),
    );
    await w.advanceBy(DAY_MS);
    await w.settle();
    expect(rx.got.length).toBeGreaterThan(0);
    for (const r of rx.got) {
      const sig = r.headers['x-line-signature'] as string;
      expect(validateSignature(r.raw, SECRET, sig)).toBe(true);
      expect(validateSignature(r.raw, 'another-secret', sig)).toBe(false);
      expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(r.body.destination).toBe('U' + 'ab'.repeat(16));
    }
    const events = eventsOf(rx.got);
    const types = new Set(events.map((e) => e.type));
    expect(types).toEqual(new Set(['follow', 'unfollow']));
    for (const e of events) {
      expect(e.mode).toBe('active');
      expect(e.source.type).toBe('user');
      expect(e.source.userId).toMatch(/^U[0-9a-f]{32}$/);
      expect(e.webhookEventId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
      expect(e.deliveryContext).toEqual({ isRedelivery: false });
      expect(e.timestamp).toBeGreaterThanOrEqual(START_MS);
      expect(e.timestamp).toBeLessThan(START_MS + DAY_MS);
      if (e.type === 'follow') {
        expect(e.replyToken).toMatch(/^[0-9a-f]{32}$/);
        expect(e.follow).toEqual({ isUnblocked: false });
      } else {
        expect(e.replyToken).toBeUndefined();
      }
    }
    expect(new Set(events.map((e) => e.webhookEventId)).size).toBe(events.length);
  });

  it('redelivers events a receiver failed, with the same webhookEventId and isRedelivery true', async () => {
    const rx = await receiver((n) => (n === 1 ? 500 : 200));
    const w = frozenWorld(config(channel({ webhookUrl: rx.url, residents: { followRatePerDay: 0.05 } })), {
      webhook: { initialBackoffMs: 20, batchSize: 500, concurrencyPerChannel: 1 },
    });
    await w.advanceBy(DAY_MS);
    await w.settle();
    expect(rx.got.length).toBeGreaterThanOrEqual(2);
    const first = rx.got[0]!.body.events;
    expect(first.length).toBeGreaterThan(0);
    expect(first.every((e) => e.deliveryContext.isRedelivery === false)).toBe(true);
    const again = rx.got
      .slice(1)
      .flatMap((r) => r.body.events)
      .filter((e) => e.deliveryContext.isRedelivery);
    expect(again.map((e) => e.webhookEventId)).toEqual(first.map((e) => e.webhookEventId));
    expect(again.map((e) => ({ ...e, deliveryContext: undefined }))).toEqual(
      first.map((e) => ({ ...e, deliveryContext: undefined })),
    );
    // The redelivered body is signed afresh.
    for (const r of rx.got)
      expect(validateSignature(r.raw, SECRET, r.headers['x-line-signature'] as string)).toBe(true);
    expect(w.webhookStats('2000000001')).toMatchObject({ failedRequests: 1, dropped: 0, backlog: 0 });
  });

  it('gives up when redelivery is off, and on an unreachable receiver', async () => {
    const rx = await receiver(() => 503);
    const w = frozenWorld(
      config(
        channel({ webhookUrl: rx.url, redelivery: false, residents: { followRatePerDay: 0.05 } }),
        channel({
          channelId: '2000000002',
          channelAccessToken: 'token-0002',
          webhookUrl: 'http://127.0.0.1:1/unreachable',
          residents: { followRatePerDay: 0.05 },
        }),
      ),
      { webhook: { initialBackoffMs: 5, maxAttempts: 3 } },
    );
    await w.advanceBy(DAY_MS);
    await w.settle();
    const events = eventsOf(rx.got);
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => !e.deliveryContext.isRedelivery)).toBe(true);
    expect(w.webhookStats('2000000001')!.dropped).toBe(events.length);
    const s2 = w.webhookStats('2000000002')!;
    expect(s2.delivered).toBe(0);
    expect(s2.backlog).toBe(0);
    expect(s2.dropped).toBeGreaterThan(0);
  });
});

describe('followers insight', () => {
  it('is unready for today and later, and matches the webhooks sent for past days', async () => {
    const rx = await receiver();
    const w = frozenWorld(
      config(
        channel({
          webhookUrl: rx.url,
          residents: { count: 5000, followRatePerDay: 0.03, blockRatePerDay: 0.03, unblockRatePerDay: 0.3 },
        }),
      ),
    );
    const ch = w.channels()[0]!;
    const before = ch.followersInsight(dayToYmd(jstDay(START_MS) - 1));
    expect(before.status).toBe('ready');
    expect(ch.followersInsight(dayToYmd(jstDay(START_MS)))).toEqual({ status: 'unready' });
    await w.advanceBy(3 * DAY_MS + 5 * 3_600_000);
    await w.settle();
    const today = jstDay(w.now());
    expect(ch.followersInsight(dayToYmd(today))).toEqual({ status: 'unready' });
    expect(ch.followersInsight(dayToYmd(today + 1))).toEqual({ status: 'unready' });
    expect(ch.followersInsight('20161031')).toEqual({ status: 'out_of_service' });

    const events = eventsOf(rx.got);
    let prev = before;
    for (let day = jstDay(START_MS); day < today; day++) {
      const ins = ch.followersInsight(dayToYmd(day));
      expect(ins.status).toBe('ready');
      const that = events.filter((e) => jstDay(e.timestamp) === day);
      const follows = that.filter(
        (e) => e.type === 'follow' && !(e.follow as { isUnblocked: boolean }).isUnblocked,
      ).length;
      const unblocks = that.filter(
        (e) => e.type === 'follow' && (e.follow as { isUnblocked: boolean }).isUnblocked,
      ).length;
      const unfollows = that.filter((e) => e.type === 'unfollow').length;
      expect(follows).toBeGreaterThan(0);
      expect(unfollows).toBeGreaterThan(0);
      expect(ins.followers! - prev.followers!).toBe(follows);
      expect(ins.blocks! - prev.blocks!).toBe(unfollows - unblocks);
      prev = ins;
    }
    // Friends now = followers − blocks (as of the last closed day, then today's events).
    expect(unblocksSeen(events)).toBeGreaterThan(0);
  });
});

function unblocksSeen(events: WebhookEvent[]): number {
  return events.filter((e) => e.type === 'follow' && (e.follow as { isUnblocked: boolean }).isUnblocked).length;
}

describe('message insight', () => {
  it('nulls interaction counts under 20 and reports larger ones, frozen after 14 days', async () => {
    const w = frozenWorld(config(channel({ residents: { count: 20_000, blockRatePerDay: 0, followRatePerDay: 0 } })));
    const ch = w.channels()[0]!;
    const friends = ch.followerIds();
    const messages = [
      { type: 'text', text: 'けんこうポイントのお知らせ https://example.jp/points' },
      {
        type: 'template',
        altText: 'アンケート',
        template: {
          type: 'buttons',
          text: 'ご回答ください',
          actions: [{ type: 'uri', label: '回答', uri: 'https://example.jp/survey' }],
        },
      },
    ];
    ch.recordDelivery({
      requestId: 'req-small',
      kind: 'narrowcast',
      recipients: friends.slice(0, 15),
      messageCount: 2,
      messages,
      at: w.now(),
    });
    ch.recordDelivery({
      requestId: 'req-big',
      kind: 'broadcast',
      recipients: friends,
      messageCount: 2,
      messages,
      at: w.now(),
    });
    await w.advanceBy(2 * DAY_MS);
    const small = ch.messageEventInsight('req-small')!;
    expect(small.overview).toMatchObject({
      requestId: 'req-small',
      delivered: 15,
      uniqueImpression: null,
      uniqueClick: null,
    });
    for (const m of small.messages as Array<Record<string, unknown>>) expect(m.impression).toBeNull();
    for (const c of small.clicks as Array<Record<string, unknown>>) {
      expect(c.click).toBeNull();
      expect(c.uniqueClick).toBeNull();
    }
    const big = ch.messageEventInsight('req-big')!;
    const ov = big.overview as Record<string, number | null>;
    expect(ov.delivered).toBe(friends.length);
    expect(ov.uniqueImpression).toBeGreaterThan(friends.length * 0.4);
    expect(ov.uniqueImpression).toBeLessThan(friends.length * 0.65);
    expect(ov.uniqueClick).toBeGreaterThan(20);
    expect(ov.uniqueMediaPlayed).toBeNull();
    const clicks = big.clicks as Array<Record<string, unknown>>;
    expect(clicks.map((c) => [c.seq, c.url])).toEqual([
      [1, 'https://example.jp/points'],
      [2, 'https://example.jp/survey'],
    ]);
    for (const c of clicks) {
      expect(c.click as number).toBeGreaterThanOrEqual(c.uniqueClick as number);
    }
    expect(ch.messageEventInsight('no-such-request')).toBeUndefined();

    await w.advanceBy(13 * DAY_MS);
    const at15 = ch.messageEventInsight('req-big');
    await w.advanceBy(5 * DAY_MS);
    expect(ch.messageEventInsight('req-big')).toEqual(at15);
  });

  it('counts deliveries per day and kind', async () => {
    const w = frozenWorld(config(channel()));
    const ch = w.channels()[0]!;
    const ids = ch.followerIds();
    const day = dayToYmd(jstDay(w.now()));
    ch.recordDelivery({
      requestId: 'p1',
      kind: 'push',
      recipients: ids.slice(0, 1),
      messageCount: 1,
      messages: [{ type: 'text', text: 'a' }],
      at: w.now(),
    });
    ch.recordDelivery({
      requestId: 'm1',
      kind: 'multicast',
      recipients: ids.slice(0, 40),
      messageCount: 1,
      messages: [{ type: 'text', text: 'a' }],
      at: w.now(),
    });
    expect(ch.messageDeliveriesInsight(day)).toEqual({ status: 'unready' });
    await w.advanceBy(DAY_MS);
    expect(ch.messageDeliveriesInsight(day)).toMatchObject({
      status: 'ready',
      apiPush: 1,
      apiMulticast: 40,
      apiBroadcast: 0,
      apiNarrowcast: 0,
      apiReply: 0,
    });
  });

  it('aggregates push and multicast statistics per custom aggregation unit', async () => {
    const w = frozenWorld(config(channel({ residents: { count: 10_000 } })));
    const ch = w.channels()[0]!;
    const ids = ch.followerIds();
    const msg = [{ type: 'text', text: '健診のご案内 https://example.jp/kenshin' }];
    for (let k = 0; k * 500 < ids.length; k++) {
      ch.recordDelivery({
        requestId: `mc-${k}`,
        kind: 'multicast',
        recipients: ids.slice(k * 500, k * 500 + 500),
        messageCount: 1,
        messages: msg,
        customAggregationUnits: ['kenshin_2025'],
        at: w.now(),
      });
    }
    expect(ch.aggregationUnitsThisMonth()).toEqual(['kenshin_2025']);
    await w.advanceBy(3 * DAY_MS);
    const from = dayToYmd(jstDay(START_MS));
    const res = ch.aggregationUnitInsight('kenshin_2025', from, dayToYmd(jstDay(START_MS) + 30));
    const ov = res.overview as Record<string, number | null>;
    expect(ov.uniqueImpression).toBeGreaterThan(ids.length * 0.4);
    expect(ov.uniqueImpression).toBeLessThanOrEqual(ids.length);
    expect((res.messages as Array<Record<string, unknown>>)[0]).toMatchObject({
      seq: 1,
      uniqueImpression: ov.uniqueImpression,
    });
    expect((res.clicks as Array<Record<string, unknown>>)[0]).toMatchObject({
      seq: 1,
      url: 'https://example.jp/kenshin',
    });
    const other = ch.aggregationUnitInsight(
      'kenshin_2025',
      dayToYmd(jstDay(START_MS) + 1),
      dayToYmd(jstDay(START_MS) + 2),
    );
    expect(other).toEqual({
      overview: {
        uniqueImpression: null,
        uniqueClick: null,
        uniqueMediaPlayed: null,
        uniqueMediaPlayed100Percent: null,
      },
      messages: [],
      clicks: [],
    });
  });
});

describe('demographic insight', () => {
  it('is unavailable under 20 friends', () => {
    const ch = frozenWorld(config(channel({ residents: { count: 40 } }))).channels()[0]!;
    expect(ch.followerIds().length).toBeLessThan(20);
    expect(ch.demographicInsight()).toMatchObject({ available: false });
  });

  it('gives percentages per attribute that add up to 100', () => {
    const ch = frozenWorld(config(channel({ residents: { count: 5000 } }))).channels()[0]!;
    const d = ch.demographicInsight() as Record<string, Array<{ percentage: number }>> & { available: boolean };
    expect(d.available).toBe(true);
    for (const k of ['genders', 'ages', 'areas', 'appTypes', 'subscriptionPeriods']) {
      const sum = d[k]!.reduce((a, t) => a + t.percentage, 0);
      expect(sum).toBeGreaterThan(99.4);
      expect(sum).toBeLessThan(100.6);
    }
  });
});

describe('resident actions caused by deliveries', () => {
  it('sends postback events for clicks on postback actions and blocks residents messaged too often', async () => {
    const rx = await receiver();
    const w = frozenWorld(
      config(
        channel({
          webhookUrl: rx.url,
          residents: {
            count: 2000,
            followRatePerDay: 0,
            blockRatePerDay: 0,
            unblockRatePerDay: 0,
            clickProbability: 0.5,
            fatigueThresholdPerWeek: 2,
            fatigueBlockProbability: 1,
          },
        }),
      ),
    );
    const ch = w.channels()[0]!;
    const ids = [...ch.followerIds()];
    const msg = [
      {
        type: 'template',
        altText: '登録',
        template: {
          type: 'buttons',
          text: '属性登録',
          actions: [{ type: 'postback', label: '登録する', data: 'action=register' }],
        },
      },
    ];
    for (let k = 0; k < 3; k++) {
      ch.recordDelivery({
        requestId: `push-${k}`,
        kind: 'multicast',
        recipients: ids,
        messageCount: 1,
        messages: msg,
        at: w.now(),
      });
      await w.advanceBy(3_600_000);
    }
    await w.advanceBy(7 * DAY_MS);
    await w.settle();
    const events = eventsOf(rx.got);
    const postbacks = events.filter((e) => e.type === 'postback');
    expect(postbacks.length).toBeGreaterThan(100);
    for (const e of postbacks) {
      expect(e.postback).toEqual({ data: 'action=register' });
      expect(e.replyToken).toMatch(/^[0-9a-f]{32}$/);
    }
    // The third delivery in a week exceeds the threshold of 2: every recipient blocks.
    const unfollows = events.filter((e) => e.type === 'unfollow');
    expect(unfollows.length).toBe(ids.length);
    expect(ch.followerIds().length).toBe(0);
  });
});

describe('helpers for the API layer', () => {
  it('issues reply tokens in events that can be consumed once', async () => {
    const seen: WebhookEvent[] = [];
    const w = frozenWorld(config(channel({ residents: { followRatePerDay: 0.05 } })), {
      onEvent: (_c, e) => seen.push(e),
    });
    await w.advanceBy(DAY_MS);
    const ch = w.channels()[0]!;
    const follow = seen.find((e) => e.type === 'follow')!;
    expect(ch.consumeReplyToken(follow.replyToken!)).toBe(follow.source.userId);
    expect(ch.consumeReplyToken(follow.replyToken!)).toBeUndefined();
    expect(ch.consumeReplyToken('0'.repeat(32))).toBeUndefined();
  });

  it('maps user ids to resident indexes and back without a table (the API layer’s fast path)', () => {
    const ch = frozenWorld(config(channel())).channels()[0]!;
    // Ids are part of the world's determinism: the same channel and seed always give these.
    expect(ch.userIdAt(0)).toBe('U002901fbc767512545db902f8760b560');
    expect(ch.userIdAt(999)).toBe('Uf9ce0c2d97220c8b7c97627af152298a');
    // ids sort in index order (an audience sent in user id order walks the arrays in order)
    const sorted = Array.from({ length: 1000 }, (_, i) => ch.userIdAt(i));
    expect([...sorted].sort()).toEqual(sorted);
    for (let i = 0; i < 1000; i++) {
      const id = ch.userIdAt(i);
      expect(ch.residentIndex(id)).toBe(i);
      expect(ch.isFriendAt(i)).toBe(ch.isFriend(id));
    }
    const id = ch.userIdAt(5);
    for (const stranger of [
      'U' + '0'.repeat(32),
      'U' + id.slice(1).toUpperCase(),
      id.slice(0, 32) + (id[32] === '0' ? '1' : '0'),
      id.slice(0, 3) + 'g' + id.slice(4),
      id + '0',
      id.slice(0, 32),
      'C' + id.slice(1),
      '',
    ]) {
      expect(ch.residentIndex(stranger)).toBe(-1);
    }
    // An index beyond the population decodes to nobody (another channel's key, or a higher index).
    const bigger = frozenWorld(config(channel({ residents: { count: 5000 } }))).channels()[0]!;
    expect(bigger.residentIndex(bigger.userIdAt(4000))).toBe(4000);
    expect(ch.residentIndex(bigger.userIdAt(4000))).toBe(-1);
  });

  it('lets a resident act now, counting it in today’s figures even when the simulation lags behind', async () => {
    const w = frozenWorld(
      config(channel({ residents: { followRatePerDay: 0, blockRatePerDay: 0, unblockRatePerDay: 0 } })),
    );
    const ch = w.channels()[0]!;
    const [friend] = ch.pickResidents('friend', 1);
    const day = jstDay(START_MS);
    // Simulated time moves a day on, but nothing has simulated it yet.
    w.clock.advanceBy(DAY_MS);
    const outcome = ch.act(friend!, { type: 'unfollow' });
    expect(outcome).toMatchObject({
      ok: true,
      status: 'blocking',
      event: { type: 'unfollow', timestamp: START_MS + DAY_MS },
    });
    expect(ch.sim.processedUpTo).toBeGreaterThanOrEqual(START_MS + DAY_MS - 1000);
    expect(ch.followersInsight(dayToYmd(day))).toMatchObject({ status: 'ready', blocks: 0 });
    await w.advanceBy(DAY_MS);
    expect(ch.followersInsight(dayToYmd(day + 1))).toMatchObject({ status: 'ready', blocks: 1 });
    expect(ch.act(friend!, { type: 'message', text: 'x' })).toEqual({
      ok: false,
      reason: 'not-friend',
      status: 'blocking',
    });
    expect(ch.act('U' + '0'.repeat(32), { type: 'follow' })).toEqual({ ok: false, reason: 'unknown-resident' });
  });

  it('records deliveries by the indexes the API layer resolved', async () => {
    const w = frozenWorld(config(channel({ residents: { openProbability: 1 } })));
    const ch = w.channels()[0]!;
    const to = ch.followerIds().slice(0, 30);
    const notice = (requestId: string, withIndexes: boolean) => ({
      requestId,
      kind: 'multicast' as const,
      recipients: to,
      ...(withIndexes ? { recipientIndexes: Int32Array.from(to, (id) => ch.residentIndex(id)) } : {}),
      messageCount: 1,
      messages: [{ type: 'text', text: 'お知らせ' }],
      customAggregationUnits: [withIndexes ? 'with_indexes' : 'without'],
      at: START_MS,
    });
    ch.recordDelivery(notice('a', true));
    ch.recordDelivery(notice('b', false));
    await w.settle();
    const a = ch.engagement.byUnit.get('with_indexes')![0]!;
    const b = ch.engagement.byUnit.get('without')![0]!;
    expect(a.delivered).toBe(30);
    expect(b.delivered).toBe(30);
    expect(Array.from(a.openers).sort()).toEqual(Array.from(b.openers).sort());
  });

  it('tells friends’ demographics consistently with the demographic Insight', () => {
    const ch = frozenWorld(config(channel({ residents: { count: 3000 } }))).channels()[0]!;
    const ids = ch.followerIds();
    const all = ids.map((id) => ch.demographicsOf(id)!);
    const female = all.filter((d) => d.gender === 'female').length;
    const d = ch.demographicInsight() as { genders: Array<{ gender: string; percentage: number }> };
    expect(d.genders.find((g) => g.gender === 'female')!.percentage).toBe(
      Math.round((female * 1000) / ids.length) / 10,
    );
    for (const x of all) {
      if (x.area === 'unknown') expect(x.areaCode).toBeUndefined();
      else expect(x.areaCode).toMatch(/^jp_(0[1-9]|[1-3][0-9]|4[0-7])$/);
      if (x.age === 'unknown') expect(x.ageFrom).toBeUndefined();
      else
        expect(x.age).toBe(x.ageFrom === 70 ? 'from70' : `from${x.ageFrom}to${x.ageFrom === 0 ? 14 : x.ageFrom! + 4}`);
      expect(x.friendDays).toBeGreaterThanOrEqual(0);
    }
    const ins = ch.followersInsight(dayToYmd(jstDay(START_MS) - 1));
    expect(ins.targetedReaches).toBe(
      all.filter((x) => x.gender !== 'unknown' && x.age !== 'unknown' && x.area !== 'unknown').length,
    );
  });
});

describe('behaviour over time', () => {
  it('is reproducible: the same seed and the same steps give the same events', async () => {
    const run = async () => {
      const seen: WebhookEvent[] = [];
      const w = frozenWorld(
        config(channel({ residents: { followRatePerDay: 0.02, blockRatePerDay: 0.02, unblockRatePerDay: 0.2 } })),
        {
          onEvent: (_c, e) => seen.push(e),
        },
      );
      await w.advanceBy(DAY_MS / 3);
      await w.advanceBy(2 * DAY_MS);
      return seen;
    };
    const a = await run();
    const b = await run();
    expect(a.length).toBeGreaterThan(10);
    expect(b).toEqual(a);
  });

  it('runs on its own once started, laying down past days at speed, then at real time', async () => {
    const rx = await receiver();
    const start = new Date(Date.now() - 3 * DAY_MS).toISOString();
    const w = createWorld(
      {
        ...config(
          channel({ webhookUrl: rx.url, residents: { count: 3000, followRatePerDay: 0.02, blockRatePerDay: 0.01 } }),
        ),
        clock: { start, speed: 1_000_000 },
      },
      { tickMs: 10 },
    );
    worlds.push(w);
    const ch = w.channels()[0]!;
    w.start();
    const yesterday = dayToYmd(jstDay(Date.now()) - 1);
    await vi.waitFor(() => expect(ch.followersInsight(yesterday).status).toBe('ready'), {
      timeout: 30_000,
      interval: 20,
    });
    expect(ch.followersInsight(dayToYmd(jstDay(Date.now()))).status).toBe('unready');
    await w.settle();
    const follows = eventsOf(rx.got).filter(
      (e) =>
        e.type === 'follow' &&
        !(e.follow as { isUnblocked: boolean }).isUnblocked &&
        jstDay(e.timestamp) <= jstDay(Date.now()) - 1,
    ).length;
    const first = ch.followersInsight(dayToYmd(jstDay(Date.parse(start)) - 1));
    expect(ch.followersInsight(yesterday).followers! - first.followers!).toBe(follows);
  });

  it('fast-forwarding, the ticker lays down whole hours only; settle() goes to simulated now exactly', async () => {
    // the real clock moves only when the test says: 37 ms of it is 74 simulated minutes at 120,000×
    let real = START_MS + 30 * DAY_MS;
    const w = createWorld(
      { ...config(channel()), clock: { start: START, speed: 120_000 } },
      { now: () => real, tickMs: 5 },
    );
    worlds.push(w);
    const sim = w.channels()[0]!.sim;
    w.start();
    real += 37;
    const now = w.now();
    expect(now).toBe(START_MS + 74 * 60_000);
    // the ticker stops at the last whole hour (behind the clock by a part hour, not simulated second by second)
    await vi.waitFor(() => expect(sim.processedUpTo).toBe(START_MS + 3_600_000), { timeout: 5_000, interval: 10 });
    await new Promise((r) => setTimeout(r, 50));
    expect(sim.processedUpTo).toBe(START_MS + 3_600_000);
    await w.settle();
    expect(sim.processedUpTo).toBe(now);
  });
});

describe('webhook delivery limits', () => {
  it('redelivers after a receiver timed out', async () => {
    let n = 0;
    const got: Received[] = [];
    const hung: http.ServerResponse[] = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        got.push({ raw, headers: req.headers, body: JSON.parse(raw) });
        if (++n === 1)
          hung.push(res); // never answers in time
        else res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cb`;
    const w = frozenWorld(config(channel({ webhookUrl: url, residents: { followRatePerDay: 0.05 } })), {
      webhook: { timeoutMs: 200, initialBackoffMs: 10, batchSize: 1000, concurrencyPerChannel: 1 },
    });
    await w.advanceBy(DAY_MS);
    await w.settle();
    for (const r of hung) r.destroy();
    const first = got[0]!.body.events;
    const again = got
      .slice(1)
      .flatMap((r) => r.body.events)
      .filter((e) => e.deliveryContext.isRedelivery);
    expect(first.length).toBeGreaterThan(0);
    expect(again.map((e) => e.webhookEventId)).toEqual(first.map((e) => e.webhookEventId));
  });

  it('slows the simulation down rather than dropping events when the receiver lags', async () => {
    const rx = await receiver();
    const w = frozenWorld(config(channel({ webhookUrl: rx.url, residents: { count: 5000, followRatePerDay: 0.05 } })), {
      webhook: { batchSize: 5, concurrencyPerChannel: 1, highWater: 10, maxBacklog: 40 },
    });
    await w.advanceBy(DAY_MS);
    await w.settle();
    const stats = w.webhookStats('2000000001')!;
    expect(stats.delivered).toBeGreaterThan(100);
    expect(stats.dropped).toBe(0);
    expect(eventsOf(rx.got).length).toBe(stats.delivered);
  });
});
