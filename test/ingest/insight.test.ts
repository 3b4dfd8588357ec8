import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { operatorTokenAuth } from '../../core/auth.ts';
import { createHttpApp } from '../../core/http.ts';
import { lineClients, type LineEndpoints } from '../../core/line.ts';
import { createLogger } from '../../core/logger.ts';
import { registerTenantRoutes } from '../../dashboard/index.ts';
import {
  createInsightPollers,
  nextPollAt,
  registerInsightRoutes,
  tokyoDay,
  TRACK_MS,
  type InsightPollers,
  type InsightPollersOptions,
} from '../../ingest/insight/index.ts';
import type { RecordedResponse } from '../../sandbox/index.ts';
import { harness, type Harness, sandboxHook, waitFor } from '../helpers/index.ts';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');

const CHANNELS = [
  {
    tenantId: '24201',
    name: '津市',
    channelId: '2000000001',
    token: 'insight-test-token-0001',
    secret: 'insight-test-secret-0001',
  },
  {
    tenantId: '24202',
    name: '四日市市',
    channelId: '2000000002',
    token: 'insight-test-token-0002',
    secret: 'insight-test-secret-0002',
  },
] as const;

let h: Harness;
/** Every answer of the sandbox, with the real time it was sent. */
const answers: Array<RecordedResponse & { at: number }> = [];
const running: InsightPollers[] = [];
let prefixes = 0;

beforeAll(async () => {
  h = await harness({
    prefix: 'tayori-insight-',
    redis: true,
    sandbox: {
      config: {
        channels: CHANNELS.map((c, i) => ({
          channelId: c.channelId,
          botUserId: 'U' + String(i + 1).repeat(32),
          channelSecret: c.secret,
          channelAccessToken: c.token,
          displayName: c.name,
          residents: { count: 800, seed: 11 + i, initialFriendRatio: 0.5, openProbability: 0.8, clickProbability: 0.3 },
        })),
        clock: { speed: 1 },
      },
      server: { onResponse: (r) => answers.push({ ...r, at: Date.now() }) },
    },
    tenants: CHANNELS.map((c) => ({
      id: c.tenantId,
      name: c.name,
      kind: 'municipality' as const,
      channelId: c.channelId,
      credentials: 'sandbox' as const,
    })),
  });
  // pollers a test left running stop before the parts they use
  h.defer('stop the pollers', async () => {
    for (const p of running.splice(0)) await p.stop();
  });
});

afterEach(async () => {
  for (const p of running.splice(0)) await p.stop();
  await hook('DELETE', '/faults');
  await hook('DELETE', '/rate-limits');
});

afterAll(() => h?.close());

const hook = (method: string, path: string, body?: unknown) => sandboxHook(h.sandbox.url, method, path, body);

const endpoints = (): LineEndpoints => ({ line: 'https://api.line.me', sandbox: h.sandbox.url });

/** Pollers on their own queue and budget (a fresh Redis prefix), started. */
async function pollers(over: Partial<InsightPollersOptions> = {}, start = true): Promise<InsightPollers> {
  const p = createInsightPollers({
    ch: h.ch,
    redisUrl: h.redis.url,
    tenants: h.tenants,
    endpoints,
    logger,
    prefix: `t${++prefixes}`,
    unreadyRetryMs: 300,
    rateLimitedPauseMs: 300,
    errorBackoffMs: 200,
    catchUpOnStart: false,
    ...over,
  });
  running.push(p);
  if (start) await p.start();
  return p;
}

/** What the sandbox's Insight API says about a day, asked directly through the SDK. */
async function sandboxFollowers(tenantId: string, day: string) {
  const creds = await h.tenants.credentials(tenantId);
  await hook('DELETE', '/rate-limits');
  return lineClients(creds, endpoints()).insight.getNumberOfFollowers(day.replaceAll('-', ''));
}

async function rows(tenantId: string, from: string, to: string) {
  const rs = await h.ch.query({
    query: `SELECT toString(day) AS d, status, followers, targeted_reaches, blocks, count() OVER (PARTITION BY day) AS versions
            FROM insight_followers_daily WHERE tenant_id = {t:String} AND day BETWEEN {f:Date} AND {to:Date} ORDER BY day, version`,
    query_params: { t: tenantId, f: from, to },
    format: 'JSONEachRow',
  });
  return (
    await rs.json<{
      d: string;
      status: string;
      followers: number | null;
      targeted_reaches: number | null;
      blocks: number | null;
      versions: number;
    }>()
  ).map(({ d, ...r }) => ({ day: d, ...r }));
}

const followersAnswers = (since: number) =>
  answers.filter((a) => a.at >= since && a.operationId === 'getNumberOfFollowers');
const addDays = (day: string, n: number) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY).toISOString().slice(0, 10);

describe('daily followers', () => {
  it("stores yesterday's figures for every tenant, equal to what LINE's Insight API says, with daily schedulers in Asia/Tokyo", async () => {
    const since = Date.now();
    // Started as the suite starts it: what is missing up to yesterday is enqueued at once.
    const p = await pollers({ catchUpOnStart: true });
    const status = await p.status();
    expect(status.schedulers).toBe(4); // two tenants' daily jobs, the delivery sweep, the scheduler sync

    const yesterday = addDays(tokyoDay(Date.now()), -1);
    for (const c of CHANNELS) {
      const stored = await waitFor(
        async () => (await p.store.followersRange(c.tenantId, yesterday, yesterday))[0],
        30_000,
        `followers of ${c.tenantId}`,
      );
      const line = await sandboxFollowers(c.tenantId, yesterday);
      expect(line.status).toBe('ready');
      expect(stored).toMatchObject({
        status: 'ready',
        followers: line.followers,
        targetedReaches: line.targetedReaches,
        blocks: line.blocks,
      });
      expect(stored.followers).toBeGreaterThan(0);
    }
    // Yesterday and the week before it, per tenant; a second run finds nothing missing.
    await waitFor(
      async () => {
        const s = await p.status();
        return s.counts.waiting + s.counts.active === 0;
      },
      30_000,
      'queue drained',
    );
    expect(followersAnswers(since)).toHaveLength(2 * 8 + 2); // + the two asked directly above
    expect((await p.runDueNow()).followers).toBe(0);
    const schedulers = await p.schedulers();
    expect(schedulers.find((s) => s.key === 'followers-daily.24201')).toMatchObject({
      pattern: '0 10 * * *',
      tz: 'Asia/Tokyo',
    });
  });

  it('asks again later about a day LINE reports as unready, and never stores it as 0', async () => {
    const p = await pollers();
    const today = tokyoDay(Date.now());
    const since = Date.now();
    expect((await p.backfill('24201', today, today)).enqueued).toBe(1);
    // LINE answers unready (today is not over): the job waits, nothing is stored.
    await waitFor(async () => followersAnswers(since).length >= 2 && true, 30_000, 'two unready answers');
    expect(followersAnswers(since).every((a) => (a.body as { status: string }).status === 'unready')).toBe(true);
    expect(await rows('24201', today, today)).toEqual([]);
    const s = await p.status();
    expect(s.counts.failed).toBe(0);

    // The day ends at LINE (the sandbox's clock moves on); the next try stores it.
    await h.sandbox.world.advanceBy(DAY);
    await h.sandbox.world.settle();
    const stored = await waitFor(
      async () => (await p.store.followersRange('24201', today, today))[0],
      30_000,
      'today stored',
    );
    const line = await sandboxFollowers('24201', today);
    expect(line.status).toBe('ready');
    expect(stored).toMatchObject({
      status: 'ready',
      followers: line.followers,
      targetedReaches: line.targetedReaches,
      blocks: line.blocks,
    });
    expect((await p.status()).counts.failed).toBe(0);
  });

  it('records out_of_service days with NULL figures (never 0)', async () => {
    const p = await pollers();
    await p.backfill('24202', '2016-10-30', '2016-11-01');
    await waitFor(
      async () => (await rows('24202', '2016-10-30', '2016-11-01')).length === 3 && true,
      30_000,
      'three days',
    );
    const r = await rows('24202', '2016-10-30', '2016-11-01');
    expect(r.slice(0, 2)).toEqual([
      {
        day: '2016-10-30',
        status: 'out_of_service',
        followers: null,
        targeted_reaches: null,
        blocks: null,
        versions: 1,
      },
      {
        day: '2016-10-31',
        status: 'out_of_service',
        followers: null,
        targeted_reaches: null,
        blocks: null,
        versions: 1,
      },
    ]);
    expect(r[2]).toMatchObject({ day: '2016-11-01', status: 'ready' });
    expect(r[2]!.followers).not.toBeNull();
  });

  it('postpones the job when LINE answers 429 and succeeds later, without a failed attempt', async () => {
    const p = await pollers();
    const since = Date.now();
    await hook('POST', '/faults', {
      kind: '429',
      endpoint: 'insight',
      channelId: '2000000002',
      durationMs: 60_000,
      count: 3,
    });
    const day = '2025-06-01';
    await p.backfill('24202', day, day);
    const stored = await waitFor(
      async () => (await p.store.followersRange('24202', day, day))[0],
      30_000,
      'stored after 429s',
    );
    const seen = followersAnswers(since).map((a) => a.status);
    expect(seen).toEqual([429, 429, 429, 200]);
    const line = await sandboxFollowers('24202', day);
    expect(stored).toMatchObject({ status: 'ready', followers: line.followers, blocks: line.blocks });
    expect((await p.status()).counts.failed).toBe(0);
  });
});

describe('backfill', () => {
  it('stores one row per day of the range, and a second backfill replaces rather than duplicates', async () => {
    const p = await pollers();
    const from = '2025-08-01';
    const to = '2025-08-10';
    const r = await p.backfill('24202', from, to);
    expect(r).toMatchObject({ enqueued: 10, alreadyQueued: 0, tenants: ['24202'], days: 10 });
    await waitFor(
      async () => (await p.store.followersRange('24202', from, to)).length === 10 && true,
      30_000,
      'ten days',
    );
    const stored = await p.store.followersRange('24202', from, to);
    expect(stored.map((s) => s.day)).toEqual(Array.from({ length: 10 }, (_, i) => addDays(from, i)));
    const line = await sandboxFollowers('24202', '2025-08-05');
    expect(stored[4]).toMatchObject({
      followers: line.followers,
      targetedReaches: line.targetedReaches,
      blocks: line.blocks,
    });

    const firstFetch = Math.max(...stored.map((s) => s.fetchedAt));
    await p.backfill('24202', from, to);
    await waitFor(
      async () => (await p.store.followersRange('24202', from, to)).every((s) => s.fetchedAt > firstFetch) && true,
      30_000,
      'second versions',
    );
    expect(await p.store.followersRange('24202', from, to)).toHaveLength(10);
  });

  it("'all' covers every tenant with credentials; bad input is refused in Japanese", async () => {
    const p = await pollers({}, false);
    const r = await p.backfill('all', '2025-09-01', '2025-09-02');
    expect(r).toMatchObject({ enqueued: 4, tenants: ['24201', '24202'] });
    expect((await p.status()).counts.waiting).toBe(4);
    // Same days again while they wait: not added twice.
    expect(await p.backfill('all', '2025-09-01', '2025-09-02')).toMatchObject({ enqueued: 0, alreadyQueued: 4 });

    await expect(p.backfill('24201', '2025-09-02', '2025-09-01')).rejects.toMatchObject({ code: 'invalid_date_range' });
    await expect(p.backfill('24201', '2025-02-30', '2025-03-01')).rejects.toThrow(/実在する日付/);
    const tomorrow = addDays(tokyoDay(Date.now()), 1);
    await expect(p.backfill('24201', tomorrow, tomorrow)).rejects.toMatchObject({ code: 'date_in_future' });
    await expect(p.backfill('24201', '2020-01-01', '2025-01-01')).rejects.toMatchObject({ code: 'range_too_long' });
    await expect(p.backfill('99999', '2025-01-01', '2025-01-01')).rejects.toMatchObject({ code: 'tenant_not_found' });
    await expect(p.backfill('abc', '2025-01-01', '2025-01-01')).rejects.toThrow(/地方公共団体コード/);
  });
});

describe('the per-channel budget', () => {
  it('never makes more than 60 Insight calls per hour for a channel; the rest wait (delayed, not failed)', async () => {
    const p = await pollers({ concurrency: 8 });
    const since = Date.now();
    const from = '2024-01-01';
    const to = addDays(from, 74); // 75 days
    expect((await p.backfill('24201', from, to)).enqueued).toBe(75);
    await waitFor(
      async () => (await p.store.followersRange('24201', from, to)).length === 60 && true,
      60_000,
      '60 days stored',
    );
    await waitFor(
      async () => {
        const s = await p.status();
        // Each scheduler keeps its next run as a delayed job too.
        return s.counts.delayed - s.schedulers === 15 && s.counts.active === 0 && s.counts.waiting === 0;
      },
      30_000,
      'the other 15 delayed',
    );
    const calls = followersAnswers(since);
    expect(calls).toHaveLength(60);
    expect(calls.every((a) => a.status === 200)).toBe(true);
    expect(await p.budget.used('2000000001')).toBe(60);
    expect((await p.status()).counts.failed).toBe(0);
  });

  it('gets everything done as the window moves, never holding more calls than the limit in one window', async () => {
    const p = await pollers({ budget: { limit: 3, windowMs: 1000, marginMs: 300 } });
    const since = Date.now();
    const from = '2024-05-01';
    const to = addDays(from, 7);
    await p.backfill('24202', from, to);
    await waitFor(
      async () => (await p.store.followersRange('24202', from, to)).length === 8 && true,
      60_000,
      'eight days',
    );
    const times = followersAnswers(since).map((a) => a.at);
    expect(times).toHaveLength(8);
    for (const t of times) expect(times.filter((u) => u >= t && u < t + 1000).length).toBeLessThanOrEqual(3);
    expect((await p.status()).counts.failed).toBe(0);
  });
});

describe('delivery statistics', () => {
  it('polls hourly through the first day, then every 6 hours, with a final poll at 14 days', () => {
    const sentAt = Date.parse('2026-01-05T09:00:00+09:00');
    const d = { sentAt, until: sentAt + TRACK_MS };
    expect(nextPollAt(d)).toBe(sentAt + HOUR);
    expect(nextPollAt({ ...d, lastPolledAt: sentAt + 5 * HOUR })).toBe(sentAt + 6 * HOUR);
    expect(nextPollAt({ ...d, lastPolledAt: sentAt + 25 * HOUR })).toBe(sentAt + 31 * HOUR);
    expect(nextPollAt({ ...d, lastPolledAt: sentAt + TRACK_MS - HOUR })).toBe(sentAt + TRACK_MS);
    expect(nextPollAt({ ...d, lastPolledAt: sentAt + TRACK_MS })).toBeUndefined();
  });

  it('stores snapshots over time per aggregation unit and per request id; NULL where LINE hides small numbers', async () => {
    let clock = Date.now();
    const p = await pollers({ now: () => clock });
    const creds = await h.tenants.credentials('24201');
    const line = lineClients(creds, endpoints());
    const friends = h.sandbox.world.byChannelId('2000000001')!.followerIds().slice(0, 400);
    expect(friends.length).toBeGreaterThan(100);

    // LINE's clock here is the sandbox's (earlier tests moved it on): the pollers' clock follows it.
    const sentAt = h.sandbox.world.now();
    await line.messaging.multicast({
      to: [...friends],
      messages: [{ type: 'text', text: '健康マイレージのお知らせ https://example.jp/walk' }],
      customAggregationUnits: ['spring_walk'],
    });
    await line.messaging.pushMessage({
      to: friends[0]!,
      messages: [{ type: 'text', text: 'ひとりだけ' }],
      customAggregationUnits: ['tiny_unit'],
    });
    const bc = await line.messaging.broadcastWithHttpInfo({ messages: [{ type: 'text', text: 'みなさんへ' }] });
    const requestId = bc.httpResponse.headers.get('x-line-request-id')!;
    expect(requestId).toBeTruthy();
    await h.sandbox.world.advanceBy(6 * HOUR);
    await h.sandbox.world.settle();

    await p.trackDelivery({ tenantId: '24201', kind: 'aggregation_unit', key: 'spring_walk', sentAt });
    await p.trackDelivery({ tenantId: '24201', kind: 'aggregation_unit', key: 'tiny_unit', sentAt: new Date(sentAt) });
    await p.trackDelivery({
      tenantId: '24201',
      kind: 'request_id',
      key: requestId,
      sentAt: new Date(sentAt).toISOString(),
    });
    await expect(
      p.trackDelivery({ tenantId: '24201', kind: 'aggregation_unit', key: 'bad:name', sentAt }),
    ).rejects.toThrow(/集計単位名/);

    clock = sentAt + 30 * 60_000;
    expect((await p.runDueNow()).messages).toBe(0); // nothing due before the first hour

    clock = sentAt + HOUR;
    expect((await p.runDueNow()).messages).toBe(3);
    const first = await waitFor(
      async () => {
        const l = await p.store.latestMessageStats('24201');
        return l.length === 3 && l;
      },
      30_000,
      'three snapshots',
    );
    const byKey = Object.fromEntries(first.map((s) => [s.key, s]));

    const unit = await line.insight.getStatisticsPerUnit(
      'spring_walk',
      tokyoDay(sentAt).replaceAll('-', ''),
      tokyoDay(clock).replaceAll('-', ''),
    );
    expect(byKey.spring_walk).toMatchObject({
      kind: 'aggregation_unit',
      uniqueImpression: unit.overview.uniqueImpression ?? null,
      fetchedAt: clock,
    });
    expect(byKey.spring_walk!.uniqueImpression).toBeGreaterThanOrEqual(20);
    expect(byKey.spring_walk!.impression).toBe(unit.messages[0]!.impression);
    expect(byKey.spring_walk!.clicks[0]).toMatchObject({ url: 'https://example.jp/walk' });

    // One recipient: LINE hides the figures (null); they stay NULL, not 0.
    expect(byKey.tiny_unit).toMatchObject({ uniqueImpression: null, uniqueClick: null, impression: null, click: null });

    const ev = await line.insight.getMessageEvent(requestId);
    expect(byKey[requestId]).toMatchObject({
      kind: 'request_id',
      delivered: ev.overview!.delivered,
      uniqueImpression: ev.overview!.uniqueImpression ?? null,
    });
    expect(byKey[requestId]!.delivered).toBeGreaterThanOrEqual(friends.length);

    // Same clock: nothing due; an hour later: one more snapshot each, the latest wins.
    expect((await p.runDueNow()).messages).toBe(0);
    await h.sandbox.world.advanceBy(6 * HOUR);
    await h.sandbox.world.settle();
    clock = sentAt + 2 * HOUR;
    expect((await p.runDueNow()).messages).toBe(3);
    await waitFor(
      async () => (await p.store.messageStatsHistory('24201', 'aggregation_unit', 'spring_walk')).length === 2 && true,
      30_000,
      'second snapshot',
    );
    const history = await p.store.messageStatsHistory('24201', 'aggregation_unit', 'spring_walk');
    expect(history.map((h) => h.fetchedAt)).toEqual([sentAt + HOUR, sentAt + 2 * HOUR]);
    await waitFor(
      async () => (await p.store.latestMessageStats('24201')).every((s) => s.fetchedAt === sentAt + 2 * HOUR) && true,
      30_000,
      'latest',
    );
    expect(history[1]!.uniqueImpression!).toBeGreaterThanOrEqual(history[0]!.uniqueImpression!);

    // Redis lost, process restarted: tracking comes back from ClickHouse. 14 days on: one final poll, then none.
    await p.stop();
    running.splice(running.indexOf(p), 1);
    const again = await pollers({ now: () => clock });
    clock = sentAt + TRACK_MS + HOUR;
    expect((await again.runDueNow()).messages).toBe(3);
    await waitFor(
      async () =>
        (await again.store.messageStatsHistory('24201', 'aggregation_unit', 'spring_walk')).length === 3 && true,
      30_000,
      'final snapshot',
    );
    await waitFor(
      async () => (await again.store.messageStatsHistory('24201', 'request_id', requestId)).length === 3 && true,
      30_000,
      'final snapshot',
    );
    await waitFor(
      async () =>
        (await again.store.messageStatsHistory('24201', 'aggregation_unit', 'tiny_unit')).length === 3 && true,
      30_000,
      'final snapshot',
    );
    clock += 7 * HOUR;
    expect((await again.runDueNow()).messages).toBe(0);
  });
});

describe('POST /api/v1/insight/backfill', () => {
  it('enqueues with the operator token, refuses bad input with a Japanese message; GET /api/v1/insight/followers reads stored days', async () => {
    const p = await pollers({}, false);
    const app = createHttpApp(logger);
    registerTenantRoutes(app, { tenants: h.tenants, auth: operatorTokenAuth(['op-token']) });
    registerInsightRoutes(app, { pollers: p, tenants: h.tenants });
    await app.ready();
    const post = (body: unknown, token = 'op-token') =>
      app.inject({
        method: 'POST',
        url: '/api/v1/insight/backfill',
        headers: { authorization: `Bearer ${token}` },
        payload: body as object,
      });

    expect((await post({ tenant: '24201', from: '2025-03-01', to: '2025-03-03' }, 'wrong')).statusCode).toBe(401);
    const ok = await post({ tenant: '24201', from: '2025-03-01', to: '2025-03-03' });
    expect(ok.statusCode).toBe(202);
    expect(ok.json()).toMatchObject({ enqueued: 3, tenants: ['24201'], from: '2025-03-01', to: '2025-03-03', days: 3 });

    const bad = await post({ tenant: '24201', from: '2025/03/01', to: '2025-03-03' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('invalid_input');
    expect(bad.json().error.message).toMatch(/開始日.*yyyy-MM-dd/);
    const reversed = await post({ tenant: '24201', from: '2025-03-05', to: '2025-03-03' });
    expect(reversed.statusCode).toBe(400);
    expect(reversed.json().error).toMatchObject({ code: 'invalid_date_range' });
    expect(reversed.json().error.message).toMatch(/開始日/);
    const unknown = await post({ tenant: '24299', from: '2025-03-01', to: '2025-03-01' });
    expect(unknown.statusCode).toBe(404);

    const status = await app.inject({
      method: 'GET',
      url: '/api/v1/insight/status',
      headers: { authorization: 'Bearer op-token' },
    });
    expect(status.json().counts.waiting).toBe(3);

    const get = (q: string) =>
      app.inject({
        method: 'GET',
        url: `/api/v1/insight/followers?${q}`,
        headers: { authorization: 'Bearer op-token' },
      });
    const stored = await get('tenant=24202&from=2025-08-01&to=2025-08-10');
    expect(stored.statusCode).toBe(200);
    expect(stored.json().days).toHaveLength(10);
    expect(stored.json().days[0]).toMatchObject({ tenantId: '24202', day: '2025-08-01', status: 'ready' });
    const badQuery = await get('tenant=24202&from=2025-08-10&to=2025-08-01');
    expect(badQuery.statusCode).toBe(400);
    expect(badQuery.json().error.message).toMatch(/開始日/);
    await app.close();
  });
});
