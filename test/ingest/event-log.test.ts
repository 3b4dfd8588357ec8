import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import { registerHealth } from '../../core/health.ts';
import { createHttpApp, FrontHandlers, type FastifyInstance } from '../../core/http.ts';
import { createLogger } from '../../core/logger.ts';
import { createAuthenticator } from '../../core/auth.ts';
import { createDelivery } from '../../delivery/index.ts';
import { createIngest, type Ingest } from '../../ingest/index.ts';
import { harness, waitFor, type Harness } from '../helpers/index.ts';
import { event, postWebhook } from '../helpers/webhooks.ts';

// ClickHouse outages injected at the client boundary: while `down`, every call fails the way an
// unreachable server does (and, with `lostReply`, an INSERT is stored but its answer never arrives).
const logger = createLogger('silent');
const SECRET = 'e'.repeat(32);
const BOT = `U${'4'.repeat(32)}`;
const fault = { down: false, lostReply: 0 };
let h: Harness;
let ch: ClickHouseClient;
let faulty: ClickHouseClient;
const opened: Array<{ ingest: Ingest; app: FastifyInstance }> = [];

beforeAll(async () => {
  h = await harness({
    redis: true,
    tenants: [
      {
        id: '24201',
        name: '津市',
        kind: 'municipality',
        botUserId: BOT,
        credentials: { channelSecret: SECRET, channelAccessToken: 't', lineApi: 'sandbox' },
      },
    ],
  });
  h.defer('close the ingests', async () => {
    fault.down = false;
    for (const o of opened) {
      await o.app.close();
      await o.ingest.stop();
    }
  });
  ch = h.ch;
  faulty = new Proxy(ch, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target);
      if (typeof v !== 'function') return v;
      if (['insert', 'query', 'command', 'exec', 'ping'].includes(String(prop)))
        return async (...args: unknown[]) => {
          if (fault.down)
            throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' });
          const out = await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          if (prop === 'insert' && fault.lostReply > 0) {
            fault.lostReply--;
            throw new Error('socket hang up (the INSERT was stored, its answer lost)');
          }
          return out;
        };
      return v.bind(target);
    },
  });
});
afterAll(() => h?.close());

async function open(name: string, maxBytes?: number) {
  const ingest = createIngest({
    ch: faulty,
    redis: h.redis.client,
    tenants: h.tenants,
    endpoints: () => ({ line: 'http://127.0.0.1:1' }),
    logger,
    eventLog: { dir: path.join(h.dir, name), maxBytes },
    shipper: { intervalMs: 20, retryMs: 20, maxRetryMs: 100 },
    handlerRunner: { retryMs: 20, maxRetryMs: 50 },
    rollupIntervalMs: 60_000,
  });
  await ingest.start();
  const front = new FrontHandlers();
  ingest.mount(front);
  const app = createHttpApp(logger, { front });
  registerHealth(app, {
    ch: faulty,
    redis: h.redis.client,
    eventLog: () => ingest.status(),
    showErrors: async (req) => req.headers.authorization === 'Bearer operator',
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  opened.push({ ingest, app });
  return { ingest, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

async function ids(where: string): Promise<string[]> {
  const rs = await ch.query({
    query: `SELECT webhook_event_id AS id FROM raw_webhook_events WHERE ${where} ORDER BY id`,
    format: 'JSONEachRow',
  });
  return (await rs.json<{ id: string }>()).map((r) => r.id);
}
const shipped = (ingest: Ingest) =>
  waitFor(async () => ingest.log.position('ship').seq >= ingest.log.head(), 20_000, 'the backlog to ship');

describe('event log in front of ClickHouse', () => {
  it('keeps answering 200 while ClickHouse is down, reports the backlog, and drains it in order once it is back', async () => {
    const { ingest, base } = await open('outage');
    const user = (i: number) => `U${String(i).padStart(32, '0')}`;
    const sent: string[] = [];
    fault.down = true;
    for (let i = 0; i < 30; i++) {
      const evs = [event(i % 3 ? 'follow' : 'unfollow', user(i)), event('follow', user(100 + i))];
      sent.push(...evs.map((e) => String(e.webhookEventId)));
      const r = await postWebhook(`${base}/webhook/24201`, { destination: BOT, events: evs }, SECRET);
      expect(r.status).toBe(200);
    }
    await waitFor(async () => ingest.shipper.stats.failures > 0, 10_000, 'a failed INSERT');

    // /readyz: 200 (webhooks are safe), ClickHouse shown apart, the backlog with its age; no raw errors anonymously
    const anon = await fetch(`${base}/readyz`);
    expect(anon.status).toBe(200);
    const a = (await anon.json()) as Record<string, unknown> & { event_log: Record<string, unknown> };
    expect(a.status).toBe('degraded');
    expect(a.clickhouse).toBe('error');
    expect(a.redis).toBe('ok');
    expect(a.event_log.status).toBe('ok');
    expect(a.event_log.backlog).toMatchObject({ events: 60, entries: 30 });
    expect((a.event_log.backlog as { oldestAgeMs: number }).oldestAgeMs).toBeGreaterThan(0);
    expect(JSON.stringify(a)).not.toMatch(/ECONNREFUSED/);
    const op = (await (await fetch(`${base}/readyz`, { headers: { authorization: 'Bearer operator' } })).json()) as {
      errors?: Record<string, string>;
    };
    expect(op.errors?.clickhouse).toMatch(/ECONNREFUSED/);
    expect(await ids("tenant_id = '24201'").catch(() => [])).toEqual([]);

    fault.down = false;
    await shipped(ingest);
    expect(await ids("tenant_id = '24201'")).toEqual([...sent].sort());
    // in log order: the receive times follow the order they were acknowledged in
    const rs = await ch.query({
      query:
        "SELECT webhook_event_id AS id FROM raw_webhook_events WHERE tenant_id = '24201' ORDER BY received_at, webhook_event_id",
      format: 'JSONEachRow',
    });
    const order = (await rs.json<{ id: string }>()).map((r) => r.id);
    const request = (id: string) => Math.floor(sent.indexOf(id) / 2);
    expect(order.map(request)).toEqual([...order.map(request)].sort((x, y) => x - y));
    const ready = (await (await fetch(`${base}/readyz`)).json()) as { status: string; event_log: { backlog: object } };
    expect(ready.status).toBe('ok');
    expect(ready.event_log.backlog).toMatchObject({ events: 0, bytes: 0, oldestAgeMs: null });
  });

  it('answers 503 backlog_full at its bound while ClickHouse is down, then drains and takes webhooks again', async () => {
    const { ingest, base } = await open('full', 8 * 1024);
    fault.down = true;
    const statuses: Array<{ status: number; code?: string }> = [];
    for (let i = 0; i < 40; i++) {
      const r = await postWebhook(
        `${base}/webhook/24201`,
        { destination: BOT, events: [event('follow', `U${'f'.repeat(28)}${String(i).padStart(4, '0')}`)] },
        SECRET,
      );
      statuses.push({ status: r.status, code: r.json.error?.code });
    }
    const accepted = statuses.filter((s) => s.status === 200).length;
    expect(accepted).toBeGreaterThan(5);
    expect(statuses.slice(accepted).every((s) => s.status === 503 && s.code === 'backlog_full')).toBe(true);
    expect(statuses.slice(0, accepted).every((s) => s.status === 200)).toBe(true);
    expect(ingest.status().bytes).toBeLessThanOrEqual(8 * 1024);

    fault.down = false;
    await shipped(ingest);
    await waitFor(async () => ingest.status().bytes === 0, 10_000, 'the log to be freed');
    const again = await postWebhook(
      `${base}/webhook/24201`,
      { destination: BOT, events: [event('follow', `U${'e'.repeat(32)}`)] },
      SECRET,
    );
    expect(again.status).toBe(200);
    await shipped(ingest);
    expect((await ids(`user_id LIKE 'U${'f'.repeat(28)}%'`)).length).toBe(accepted);
  });

  it("records clicks through the log while ClickHouse is down, rate-limited, stored once even when an INSERT's answer is lost", async () => {
    const { ingest } = await open('clicks');
    fault.down = true;
    const row = (n: number) => ({
      tenant_id: '24201',
      delivery_id: 'd-clicks',
      link_no: n,
      bucket: 'all',
      clicked_at: '2026-06-01 00:00:00.000',
    });
    const outcomes = [
      await ingest.clicks.record('tok1', '203.0.113.1', row(1)),
      await ingest.clicks.record('tok1', '203.0.113.1', row(1)), // the same resident again: not counted
      await ingest.clicks.record('tok1', '203.0.113.2', row(1)),
      await ingest.clicks.record('tok2', '203.0.113.1', row(2)),
    ];
    expect(outcomes).toEqual(['counted', 'limited', 'counted', 'counted']);
    // a script from one address over many links stops being counted
    let limited = 0;
    for (let i = 0; i < 200; i++)
      if ((await ingest.clicks.record(`s${i}`, '198.51.100.9', row(3))) === 'limited') limited++;
    expect(limited).toBe(80);

    fault.lostReply = 1; // the first INSERT is stored but reported failed: the batch is sent again
    fault.down = false;
    await shipped(ingest);
    const rs = await ch.query({
      query:
        "SELECT link_no, count() AS n FROM delivery_clicks WHERE delivery_id = 'd-clicks' GROUP BY link_no ORDER BY link_no",
      format: 'JSONEachRow',
    });
    expect((await rs.json<{ link_no: number; n: string }>()).map((r) => [Number(r.link_no), Number(r.n)])).toEqual([
      [1, 2],
      [2, 1],
      [3, 120],
    ]);
    expect(ingest.shipper.stats.failures).toBeGreaterThan(0);
  });

  it("appends a registered table's rows while ClickHouse is down, ships them in order, once even when an INSERT's answer is lost", async () => {
    await ch.command({
      query:
        'CREATE TABLE IF NOT EXISTS test_log_rows (k String, n UInt32) ENGINE = MergeTree ORDER BY tuple() ' +
        'SETTINGS non_replicated_deduplication_window = 100',
    });
    const { ingest } = await open('rows');
    ingest.tables.register('test_log_rows', ['k', 'n']);
    expect(() => ingest.tables.register('test_log_rows', ['k'])).toThrow(/other columns/);
    await expect(ingest.tables.append([{ table: 'not_registered', rows: [{ k: 'x' }] }])).rejects.toThrow(
      /not registered/,
    );
    fault.down = true;
    // acknowledged once durable in the log, with ClickHouse away
    await ingest.tables.append([{ table: 'test_log_rows', rows: [{ k: 'a', n: 1 }] }]);
    await Promise.all([
      ingest.tables.append([
        {
          table: 'test_log_rows',
          rows: [
            { k: 'b', n: 2 },
            { k: 'c', n: 3 },
          ],
        },
      ]),
      ingest.tables.append([{ table: 'test_log_rows', rows: [{ k: 'd', n: 4, ignored: true }] }]),
    ]);
    expect(ingest.status().backlog.events).toBe(4);
    await expect(ingest.shipper.drain(100)).rejects.toThrow(/not reached ClickHouse/);

    fault.lostReply = 1; // the first INSERT is stored but reported failed: the batch is sent again
    fault.down = false;
    await ingest.shipper.drain(20_000);
    expect(ingest.log.position('ship').seq).toBe(ingest.log.head());
    const rs = await ch.query({ query: 'SELECT k, n FROM test_log_rows ORDER BY k', format: 'JSONEachRow' });
    expect((await rs.json<{ k: string; n: number }>()).map((r) => `${r.k}${r.n}`)).toEqual(['a1', 'b2', 'c3', 'd4']);
    expect(ingest.shipper.stats.tables.test_log_rows?.rows).toBe(4);
    expect(ingest.shipper.stats.failures).toBeGreaterThan(0);
    expect(ingest.status().backlog.events).toBe(0);
  });

  it('runs handlers from the log after durability and retries a failing one until it succeeds', async () => {
    const { ingest, base } = await open('handlers');
    let attempts = 0;
    const done: string[] = [];
    ingest.handlers.on('postback', ({ event: e }) => {
      if (++attempts < 3) throw new Error('LINE is busy');
      done.push(String(e.postback?.data));
    });
    const pb = event('postback', `U${'9'.repeat(32)}`, { postback: { data: 'menu:1' } });
    expect((await postWebhook(`${base}/webhook/24201`, { destination: BOT, events: [pb] }, SECRET)).status).toBe(200);
    await ingest.runner.drained();
    expect(done).toEqual(['menu:1']);
    expect(attempts).toBe(3);
    expect(ingest.status().handlers.events).toBe(0);
  });

  it('redirects /r/<token> at once while ClickHouse is down; the click waits in the log and is counted once', async () => {
    const { ingest } = await open('redirect');
    const delivery = createDelivery({
      ch: faulty,
      redisUrl: h.redis.url,
      tenants: h.tenants,
      endpoints: () => ({ line: 'http://127.0.0.1:1' }),
      logger,
      clicks: ingest.clicks,
    });
    const app = createHttpApp(logger);
    delivery.registerRoutes(app, createAuthenticator({ operatorTokens: ['op'] }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    try {
      await ch.insert({
        table: 'delivery_links',
        format: 'JSONEachRow',
        values: [
          {
            token: 'tok-redirect-1',
            tenant_id: '24201',
            delivery_id: 'd-redirect',
            link_no: 0,
            bucket: '',
            url: 'https://www.city.tsu.mie.jp/kenko',
            created_at: Date.now(),
          },
        ],
      });
      fault.down = true;
      // a link not seen since start needs ClickHouse: a page that says so, not a crash
      const unseen = await fetch(`${base}/r/tok-redirect-1`, { redirect: 'manual' });
      expect(unseen.status).toBe(503);
      fault.down = false;
      const first = await fetch(`${base}/r/tok-redirect-1`, { redirect: 'manual' });
      expect(first.status).toBe(302);
      fault.down = true;
      const during = await fetch(`${base}/r/tok-redirect-1`, {
        redirect: 'manual',
        headers: { 'x-forwarded-for': '198.51.100.1' },
      });
      expect(during.status).toBe(302);
      expect(during.headers.get('location')).toBe('https://www.city.tsu.mie.jp/kenko');
      expect(ingest.status().backlog.events).toBeGreaterThanOrEqual(1);
      fault.down = false;
      await shipped(ingest);
      const rs = await ch.query({
        query: "SELECT count() AS n FROM delivery_clicks WHERE delivery_id = 'd-redirect'",
        format: 'JSONEachRow',
      });
      // the same address twice within the window (X-Forwarded-For is not trusted by default): one click counted
      expect(Number((await rs.json<{ n: string }>())[0]!.n)).toBe(1);
      expect(ingest.clicks.stats.limited).toBeGreaterThanOrEqual(1);
    } finally {
      fault.down = false;
      await app.close();
      await delivery.stop();
    }
  });

  it("never takes another log's batch for a repeat: two nodes' first clicks are both stored", async () => {
    const a = await open('node-a');
    const b = await open('node-b');
    expect(a.ingest.log.id).not.toBe(b.ingest.log.id);
    const row = {
      tenant_id: '24201',
      delivery_id: 'd-two-nodes',
      link_no: 0,
      bucket: '',
      clicked_at: '2026-06-01 00:00:00.000',
    };
    // the same row at the same position (seq 1) of each log
    expect(await a.ingest.clicks.record('t', '192.0.2.1', row)).toBe('counted');
    expect(await b.ingest.clicks.record('t', '192.0.2.1', row)).toBe('counted');
    await shipped(a.ingest);
    await shipped(b.ingest);
    const rs = await ch.query({
      query: "SELECT count() AS n FROM delivery_clicks WHERE delivery_id = 'd-two-nodes'",
      format: 'JSONEachRow',
    });
    expect(Number((await rs.json<{ n: string }>())[0]!.n)).toBe(2);
  });
});
