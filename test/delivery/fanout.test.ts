/**
 * Fan-out against the sandbox, through the API: every friend gets a delivery exactly once, blocked
 * residents never; 429 and 5xx / timeout storms still complete with no duplicate receipt; 4xx
 * marks batches failed with LINE's reason; retry keys are deterministic per (delivery, batch).
 * "All friends" goes out as one broadcast unless staff choose multicast: retry key of batch 0, a
 * 5xx after it took effect answered 409 on the retry, its request id kept and tracked for Insight.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorTokenAuth } from '../../core/auth.ts';
import { createHttpApp, type FastifyInstance } from '../../core/http.ts';
import { createLogger } from '../../core/logger.ts';
import { chDateTime } from '../../core/time.ts';
import { batchRetryKey, createDelivery, type Delivery } from '../../delivery/index.ts';
import { harness, type Harness, sandboxHook, stillResidents, waitFor } from '../helpers/index.ts';

const logger = createLogger('silent');
const TOKEN = 'operator-token';
const TENANT = '24000';
const CHANNEL = '3000000001';
const ACCESS = 'token-pref';
let h: Harness;
let delivery: Delivery;
let app: FastifyInstance;
let base: string;
let friends: string[];
let blocked: string[];
const tracked: Array<{ tenantId: string; kind: string; key: string; sentAt: number }> = [];

beforeAll(async () => {
  h = await harness({
    redis: true,
    sandbox: {
      config: {
        channels: [
          {
            channelId: CHANNEL,
            botUserId: `U${'9'.repeat(32)}`,
            channelSecret: 'secret-pref',
            channelAccessToken: ACCESS,
            residents: stillResidents(3200, 7),
          },
        ],
        rateLimits: { multicastPerSecond: 200 },
      },
    },
    tenants: [
      {
        id: TENANT,
        name: '三重県',
        kind: 'prefecture',
        channelId: CHANNEL,
        botUserId: `U${'9'.repeat(32)}`,
        credentials: 'sandbox',
      },
    ],
  });

  // residents' follow state as ingest would have recorded it: everyone followed, 200 blocked later
  const all = [...h.sandbox.world.byChannelId(CHANNEL)!.followerIds()];
  blocked = all.slice(0, 200);
  friends = all.slice(200);
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  await h.ch.insert({
    table: 'resident_states',
    format: 'JSONEachRow',
    values: [
      ...all.map((u) => ({
        tenant_id: TENANT,
        user_id: u,
        is_friend: 1,
        changed_at: chDateTime(t0),
        version: t0 * 10 + 1,
      })),
      ...blocked.map((u) => ({
        tenant_id: TENANT,
        user_id: u,
        is_friend: 0,
        changed_at: chDateTime(t0 + 1000),
        version: (t0 + 1000) * 10,
      })),
    ],
  });

  delivery = createDelivery({
    ch: h.ch,
    redisUrl: h.redis.url,
    tenants: h.tenants,
    logger,
    endpoints: () => ({ line: 'http://127.0.0.1:1', sandbox: h.sandbox.url }),
    fanOut: {
      requestTimeoutMs: 1500,
      retryBaseMs: 100,
      backoff429Ms: 10,
      pageSize: 1000,
      trackDelivery: async (i) => tracked.push(i),
    },
  });
  await delivery.start();
  h.defer('stop delivery', () => delivery.stop());
  app = createHttpApp(logger);
  delivery.registerRoutes(app, operatorTokenAuth([TOKEN]));
  base = await h.serve(app);
}, 60_000);

afterAll(() => h?.close());

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

const hook = (method: string, path: string, body?: unknown) => sandboxHook(h.sandbox.url, method, path, body);

async function sendNow(title: string): Promise<string> {
  const r = await api('POST', `/api/v1/tenants/${TENANT}/deliveries`, {
    title,
    messages: [{ type: 'text', text: `${title}のお知らせ` }],
    audience: { type: 'all' },
    sendMethod: 'multicast',
    send: 'now',
  });
  expect(r.status).toBe(201);
  return r.json.id as string;
}

async function finished(id: string): Promise<any> {
  return waitFor(
    async () => {
      const r = await api('GET', `/api/v1/tenants/${TENANT}/deliveries/${id}`);
      return ['done', 'failed'].includes(r.json.status) ? r.json : undefined;
    },
    90_000,
    `delivery ${id} to finish`,
  );
}

/** Per-resident receipt counts of the requests that carried this delivery's retry keys. */
async function receiptsOf(
  id: string,
  batches: number,
): Promise<{ requests: number; perResident: Map<string, number> }> {
  const keys = new Set(Array.from({ length: batches }, (_, b) => batchRetryKey(id, b)));
  const perResident = new Map<string, number>();
  const requestIds = new Set<string>();
  for (const u of [...friends, ...blocked]) {
    const r = await hook('GET', `/channels/${CHANNEL}/receipts/${u}`);
    for (const x of r.receipts as Array<{ retryKey: string | null; requestId: string }>) {
      if (x.retryKey && keys.has(x.retryKey)) {
        perResident.set(u, (perResident.get(u) ?? 0) + 1);
        requestIds.add(x.requestId);
      }
    }
  }
  return { requests: requestIds.size, perResident };
}

function expectExactlyOnce(r: { perResident: Map<string, number> }): void {
  expect(friends.filter((u) => r.perResident.get(u) !== 1)).toEqual([]);
  expect(blocked.filter((u) => r.perResident.has(u))).toEqual([]);
}

describe('delivery fan-out', () => {
  it('derives one retry key per (delivery, batch), a UUID', () => {
    const k = batchRetryKey('dabc', 3);
    expect(k).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(batchRetryKey('dabc', 3)).toBe(k);
    expect(batchRetryKey('dabc', 4)).not.toBe(k);
    expect(batchRetryKey('dabd', 3)).not.toBe(k);
  });

  it('sends every friend the delivery once, in batches of 500, and never a blocked resident', async () => {
    const id = await sendNow('通常配信');
    const d = await finished(id);
    expect(d).toMatchObject({
      status: 'done',
      targets: friends.length,
      accepted: friends.length,
      failed: 0,
      batches: Math.ceil(friends.length / 500),
    });
    const r = await receiptsOf(id, d.batches);
    expect(r.requests).toBe(d.batches);
    expectExactlyOnce(r);
    const batches = (await api('GET', `/api/v1/tenants/${TENANT}/deliveries/${id}/batches`)).json.batches;
    expect(batches).toHaveLength(d.batches);
    expect(
      batches.every(
        (b: any) =>
          b.status === 'accepted' && b.recipients <= 500 && b.retry_key === batchRetryKey(id, Number(b.batch_no)),
      ),
    ).toBe(true);
    // customAggregationUnits on every request
    const recent = await hook('GET', `/requests?channelId=${CHANNEL}&limit=1000`);
    expect(recent.requests.filter((x: any) => x.kind === 'multicast').length).toBeGreaterThanOrEqual(d.batches);
  });

  it('completes through a 429 storm without failing or duplicating', async () => {
    // the storm's first four answers are 429 for certain, then half of them for a while
    const certain = (await hook('POST', '/faults', {
      channelId: CHANNEL,
      endpoint: 'multicast',
      kind: '429',
      durationMs: 60_000,
      probability: 1,
      count: 4,
    })) as { id: string };
    await hook('POST', '/faults', {
      channelId: CHANNEL,
      endpoint: 'multicast',
      kind: '429',
      durationMs: 60_000,
      probability: 0.5,
      count: 30,
    });
    const id = await sendNow('429 の嵐');
    const d = await finished(id);
    const left = (await hook('GET', '/faults')) as { faults: Array<{ id: string }> };
    expect(left.faults.map((f) => f.id)).not.toContain(certain.id); // all four were met
    await hook('DELETE', '/faults');
    expect(d).toMatchObject({ status: 'done', accepted: friends.length, failed: 0 });
    expectExactlyOnce(await receiptsOf(id, d.batches));
  });

  it('completes through 5xx and timeouts (some after the request took effect) with no duplicate receipt', async () => {
    await hook('POST', '/faults', {
      channelId: CHANNEL,
      endpoint: 'multicast',
      kind: '5xx',
      durationMs: 60_000,
      probability: 0.4,
      count: 6,
      delivered: true,
    });
    await hook('POST', '/faults', {
      channelId: CHANNEL,
      endpoint: 'multicast',
      kind: '5xx',
      durationMs: 60_000,
      probability: 0.4,
      count: 4,
      status: 503,
      delivered: false,
    });
    await hook('POST', '/faults', {
      channelId: CHANNEL,
      endpoint: 'multicast',
      kind: 'timeout',
      durationMs: 60_000,
      probability: 0.3,
      count: 3,
      hangMs: 3000,
      delivered: true,
    });
    const id = await sendNow('5xx とタイムアウト');
    const d = await finished(id);
    await hook('DELETE', '/faults');
    expect(d).toMatchObject({ status: 'done', accepted: friends.length, failed: 0 });
    expectExactlyOnce(await receiptsOf(id, d.batches));
    const batches = (await api('GET', `/api/v1/tenants/${TENANT}/deliveries/${id}/batches`)).json.batches;
    expect(batches.some((b: any) => Number(b.attempts) > 1)).toBe(true);
  });

  it('sends "all friends" as one broadcast unless multicast is chosen; a retry after a 5xx that took effect is a 409', async () => {
    const bad = await api('POST', `/api/v1/tenants/${TENANT}/deliveries`, {
      title: 'x',
      messages: [{ type: 'text', text: 'x' }],
      audience: { type: 'segment', condition: { attr: 'gender', op: 'in', values: ['female'] } },
      sendMethod: 'broadcast',
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('invalid_delivery');
    expect(bad.json.error.details).toEqual([{ field: 'sendMethod', message: expect.stringMatching(/すべての友だち/) }]);

    // the broadcast takes effect, but LINE answers 500: the retry (same key) is answered 409
    await hook('POST', '/faults', {
      channelId: CHANNEL,
      endpoint: 'broadcast',
      kind: '5xx',
      durationMs: 60_000,
      count: 1,
      delivered: true,
    });
    const created = await api('POST', `/api/v1/tenants/${TENANT}/deliveries`, {
      title: '一斉配信',
      messages: [{ type: 'text', text: '全員へのお知らせ' }],
      send: 'now',
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ sendMethod: 'broadcast', audience: { type: 'all' } });
    const d = await finished(created.json.id);
    await hook('DELETE', '/faults');
    // LINE sends a broadcast to every friend of the account; targets are the friends Tayori knows of
    expect(d).toMatchObject({
      status: 'done',
      sendMethod: 'broadcast',
      batches: 1,
      targets: friends.length,
      accepted: friends.length,
      failed: 0,
    });
    const key = batchRetryKey(d.id, 0);
    const sent = (await hook('GET', `/requests?channelId=${CHANNEL}&limit=1000`)).requests.filter(
      (r: any) => r.retryKey === key,
    );
    expect(sent).toEqual([expect.objectContaining({ kind: 'broadcast', recipients: friends.length + blocked.length })]);
    expect(d.requestId).toBe(sent[0].requestId);
    const [batch] = (await api('GET', `/api/v1/tenants/${TENANT}/deliveries/${d.id}/batches`)).json.batches;
    expect(batch).toMatchObject({
      batch_no: 0,
      status: 'accepted',
      http_status: 409,
      attempts: 2,
      retry_key: key,
      request_id: d.requestId,
    });
    for (const u of [friends[0]!, friends.at(-1)!, blocked[0]!]) {
      const r = await hook('GET', `/channels/${CHANNEL}/receipts/${u}`);
      expect(r.receipts.filter((x: any) => x.retryKey === key)).toHaveLength(1);
    }
    // Insight statistics of a broadcast are by request id
    expect(tracked).toContainEqual({
      tenantId: TENANT,
      kind: 'request_id',
      key: d.requestId,
      sentAt: expect.any(Number),
    });
    await h.ch.insert({
      table: 'insight_message_stats',
      format: 'JSONEachRow',
      values: [
        {
          tenant_id: TENANT,
          kind: 'request_id',
          key: d.requestId,
          sent_at: chDateTime(Date.now()),
          fetched_at: chDateTime(Date.now()),
          status: 'ready',
          delivered: 3150,
          unique_impression: 2000,
          unique_click: 10,
          click: 12,
        },
      ],
    });
    const listed = (await api('GET', `/api/v1/tenants/${TENANT}/deliveries`)).json.deliveries.find(
      (x: any) => x.id === d.id,
    );
    expect(listed).toMatchObject({ sendMethod: 'broadcast', delivered: 3150, uniqueImpressions: 2000, clicks: 12 });
  });

  it('marks a batch failed with LINE’s reason on a 4xx other than 409/429, and the others still go out', async () => {
    // a resident id LINE refuses ends up alone in the last batch (ids sort after every hex id)
    const bad = `U${'z'.repeat(32)}`;
    await h.ch.insert({
      table: 'resident_states',
      format: 'JSONEachRow',
      values: [
        {
          tenant_id: TENANT,
          user_id: bad,
          is_friend: 1,
          changed_at: chDateTime(Date.now()),
          version: Date.now() * 10 + 1,
        },
      ],
    });
    const id = await sendNow('一部失敗');
    const d = await finished(id);
    expect(d).toMatchObject({ status: 'done', targets: friends.length + 1, accepted: friends.length, failed: 1 });
    const batches = (await api('GET', `/api/v1/tenants/${TENANT}/deliveries/${id}/batches`)).json.batches;
    const failedBatch = batches.find((b: any) => b.status === 'failed');
    expect(failedBatch).toMatchObject({ http_status: 400, recipients: 1 });
    expect(failedBatch.reason).toMatch(/LINE 400/);
    expect(failedBatch.reason).toMatch(/to\[0\]/);
    expectExactlyOnce(await receiptsOf(id, d.batches));
  });
});
