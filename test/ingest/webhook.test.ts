import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import { createHttpApp, FrontHandlers, type FastifyInstance } from '../../core/http.ts';
import { createLogger } from '../../core/logger.ts';
import type { Redis } from '../../core/redis.ts';
import type { TenantStore } from '../../core/tenants.ts';
import { createIngest, type Ingest } from '../../ingest/index.ts';
import { SegmentEventLog } from '../../ingest/segment-event-log.ts';
import { TenantSecretsCache } from '../../ingest/tenant-secrets.ts';
import { createWebhookReceiver, isWebhookRequest } from '../../ingest/webhook-receiver.ts';
import { harness, waitFor, type Harness } from '../helpers/index.ts';
import { event, postWebhook } from '../helpers/webhooks.ts';

const logger = createLogger('silent');
const SECRET = 'b'.repeat(32);
const BOT = `U${'1'.repeat(32)}`;
let h: Harness;
let ch: ClickHouseClient;
let redis: Redis;
let tenants: TenantStore;
let ingest: Ingest;
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  h = await harness({
    redis: true,
    tenants: [
      {
        id: '24201',
        name: '津市',
        kind: 'municipality',
        channelId: '1000000001',
        botUserId: BOT,
        credentials: { channelSecret: SECRET, channelAccessToken: 'token-24201', lineApi: 'sandbox' },
      },
      { id: '24202', name: '四日市市', kind: 'municipality' }, // no credentials yet
    ],
  });
  ({ ch, tenants } = h);
  redis = h.redis.client;
  ingest = createIngest({
    ch,
    redis,
    tenants,
    endpoints: () => ({ line: 'http://127.0.0.1:1' }),
    logger,
    eventLog: { dir: path.join(h.dir, 'event-log') },
    shipper: { intervalMs: 20 },
    handlerRunner: { retryForMs: 300, retryMs: 50 },
    rollupIntervalMs: 60_000,
  });
  await ingest.start();
  h.defer('stop ingest', () => ingest.stop());
  const front = new FrontHandlers();
  ingest.mount(front);
  app = createHttpApp(logger, { front });
  base = await h.serve(app);
});

afterAll(() => h?.close());

async function one<T>(query: string, params: Record<string, unknown> = {}): Promise<T> {
  const rs = await ch.query({ query, query_params: params, format: 'JSONEachRow' });
  return (await rs.json<T>())[0]!;
}
const stored = async () => Number((await one<{ c: string }>('SELECT count() AS c FROM raw_webhook_events')).c);
/** Everything acknowledged so far has been shipped to ClickHouse and handled. */
const settled = async () => {
  await waitFor(async () => ingest.log.position('ship').seq >= ingest.log.head(), 20_000, 'the shipper');
  await ingest.runner.drained();
};
const url = `/webhook/24201`;
const body = (events: unknown[], destination = BOT) => ({ destination, events });

describe('POST /webhook/:tenantId', () => {
  it('answers 200 once the events are durable in the log; the shipper stores them with their common fields', async () => {
    const follow = event('follow', `U${'a'.repeat(32)}`, { follow: { isUnblocked: false } });
    const unblock = event('follow', `U${'b'.repeat(32)}`, { follow: { isUnblocked: true } });
    const block = event('unfollow', `U${'c'.repeat(32)}`);
    const postback = event('postback', `U${'a'.repeat(32)}`, { postback: { data: 'delivery:attr=health' } });
    const res = await postWebhook(base + url, body([follow, unblock, block, postback]), SECRET);
    expect(res.status).toBe(200);
    // 200 means in the log (synced); ClickHouse follows
    const logged = ingest.log.read(0, 1000).filter((e) => e.record.kind === 'webhook');
    expect(
      logged.flatMap((e) => (e.record.kind === 'webhook' ? e.record.events.map((x) => x.webhookEventId) : [])),
    ).toEqual([follow, unblock, block, postback].map((e) => e.webhookEventId));
    await settled();
    expect(await stored()).toBe(4);
    const row = await one<Record<string, unknown>>(
      'SELECT type, mode, source_type, user_id, is_redelivery, is_unblocked, toString(day) AS day FROM raw_webhook_events WHERE webhook_event_id = {id:String}',
      { id: unblock.webhookEventId },
    );
    expect(row).toMatchObject({
      type: 'follow',
      mode: 'active',
      source_type: 'user',
      user_id: `U${'b'.repeat(32)}`,
      is_redelivery: 0,
      is_unblocked: 1,
    });
    expect(row.day).toBe(new Date(Number(unblock.timestamp) + 9 * 3_600_000).toISOString().slice(0, 10));
    const pb = await one<{ postback_data: string }>(
      'SELECT postback_data FROM raw_webhook_events WHERE webhook_event_id = {id:String}',
      { id: postback.webhookEventId },
    );
    expect(pb.postback_data).toBe('delivery:attr=health');
  });

  it('refuses bad requests with a code, storing nothing, and keeps serving', async () => {
    const before = await stored();
    const ev = [event('follow', `U${'d'.repeat(32)}`)];
    const cases: Array<
      [Promise<{ status: number; json: { error?: { code: string; message: string } } }>, number, string]
    > = [
      [postWebhook(base + url, body(ev), SECRET, { signature: null }), 401, 'signature_missing'],
      [postWebhook(base + url, body(ev), 'another-secret'), 401, 'signature_invalid'],
      [postWebhook(base + url, body(ev), SECRET, { signature: 'not base64 at all' }), 401, 'signature_invalid'],
      [postWebhook(`${base}/webhook/24999`, body(ev), SECRET), 404, 'tenant_not_found'],
      [postWebhook(`${base}/webhook/24202`, body(ev), SECRET), 401, 'channel_secret_missing'],
      [postWebhook(base + url, '{"destination": "U1", "events": [', SECRET), 400, 'invalid_json'],
      [postWebhook(base + url, { destination: BOT, events: [{ type: 'follow' }] }, SECRET), 400, 'invalid_body'],
      [postWebhook(base + url, { events: ev }, SECRET), 400, 'invalid_body'],
      [postWebhook(base + url, body(ev, `U${'9'.repeat(32)}`), SECRET), 400, 'destination_mismatch'],
      [
        postWebhook(base + url, body([...ev, { ...event('x', 'U1'), pad: 'x'.repeat(1024 * 1024) }]), SECRET),
        413,
        'body_too_large',
      ],
    ];
    for (const [p, status, code] of cases) {
      const r = await p;
      expect(r.status, code).toBe(status);
      expect(r.json.error?.code).toBe(code);
      expect(r.json.error?.message).toMatch(/[ぁ-んァ-ン一-龥]/);
    }
    const get = await fetch(base + url);
    expect(get.status).toBe(405);
    await settled();
    expect(await stored()).toBe(before);
    // still serving
    expect((await postWebhook(base + url, body([event('follow', `U${'d'.repeat(32)}`)]), SECRET)).status).toBe(200);
  });

  it("accepts the header name in any case, and an empty events array (LINE's connectivity check)", async () => {
    await settled();
    const before = await stored();
    expect((await postWebhook(base + url, body([]), SECRET, { headerName: 'X-Line-Signature' })).status).toBe(200);
    await settled();
    expect(await stored()).toBe(before);
    expect(
      (
        await postWebhook(base + url, body([event('follow', `U${'e'.repeat(32)}`)]), SECRET, {
          headerName: 'X-LINE-SIGNATURE',
        })
      ).status,
    ).toBe(200);
  });

  it('keeps unknown event types by name, and message events without their content', async () => {
    const secretText = `個人情報を含む本文-${randomBytes(8).toString('hex')}`;
    const msg = event('message', `U${'f'.repeat(32)}`, {
      message: { id: '1', type: 'text', text: secretText, quoteToken: 'q' },
    });
    const future = event('somethingNewFromLine', `U${'f'.repeat(32)}`, { novel: { a: 1 } });
    expect((await postWebhook(base + url, body([msg, future]), SECRET)).status).toBe(200);
    await settled();
    const m = await one<Record<string, string>>(
      'SELECT type, message_type FROM raw_webhook_events WHERE webhook_event_id = {id:String}',
      { id: msg.webhookEventId },
    );
    expect(m).toEqual({ type: 'message', message_type: 'text' });
    const u = await one<{ type: string }>('SELECT type FROM raw_webhook_events WHERE webhook_event_id = {id:String}', {
      id: future.webhookEventId,
    });
    expect(u.type).toBe('somethingNewFromLine');

    // the text is in no column of any table, and in no file of the engine's directory
    // the search below does find what is stored (a postback's data)
    const control = await one<{ c: string }>(
      "SELECT count() AS c FROM raw_webhook_events WHERE position(toString(tuple(*)), 'delivery:attr=health') > 0",
    );
    expect(Number(control.c)).toBe(1);
    const tables = await (
      await ch.query({
        // a (parameterized) view stores nothing of its own and cannot be read without its parameters
        query: "SELECT name FROM system.tables WHERE database = currentDatabase() AND engine != 'View'",
        format: 'JSONEachRow',
      })
    ).json<{ name: string }>();
    for (const { name } of tables) {
      const hit = await one<{ c: string }>(
        `SELECT count() AS c FROM ${name} WHERE position(toString(tuple(*)), {t:String}) > 0`,
        { t: secretText },
      );
      expect(Number(hit.c), name).toBe(0);
    }
    const files: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.isFile() && fs.readFileSync(p).includes(Buffer.from(secretText))) files.push(p);
      }
    };
    walk(path.join(h.dir, 'clickhouse'));
    walk(path.join(h.dir, 'event-log'));
    expect(files).toEqual([]);
  });

  it('stores duplicates and redeliveries once as far as every figure is concerned, also concurrently', async () => {
    const userId = `U${'7'.repeat(32)}`;
    const dayTs = Date.parse('2026-03-03T03:00:00Z');
    const follows = Array.from({ length: 5 }, (_, i) =>
      event('follow', userId, { follow: { isUnblocked: false } }, dayTs + i),
    );
    const block = event('unfollow', userId, {}, dayTs + 10);
    const payload = body([...follows, block]);
    const redelivered = body([...follows, block].map((e) => ({ ...e, deliveryContext: { isRedelivery: true } })));
    const results = await Promise.all([
      ...Array.from({ length: 15 }, () => postWebhook(base + url, payload, SECRET)),
      ...Array.from({ length: 15 }, () => postWebhook(base + url, redelivered, SECRET)),
    ]);
    expect(results.every((r) => r.status === 200)).toBe(true);
    await settled();
    await ingest.rollup.refreshNow();
    const day = await one<Record<string, number>>(
      "SELECT follows, unfollows, events FROM webhook_events_per_day FINAL WHERE tenant_id = '24201' AND day = '2026-03-03'",
    );
    expect(day).toEqual({ follows: 5, unfollows: 1, events: 6 });
    const distinct = await one<{ c: string }>(
      "SELECT count() AS c FROM raw_webhook_events FINAL WHERE tenant_id = '24201' AND day = '2026-03-03'",
    );
    expect(Number(distinct.c)).toBe(6);
  });

  it('answers 503 (never 200) when the log cannot take the write', async () => {
    const closed = new SegmentEventLog({ dir: path.join(h.dir, 'closed-log'), maxBytes: 1 << 20, consumers: ['ship'] });
    await closed.close();
    const receiver = createWebhookReceiver({ secrets: new TenantSecretsCache(tenants, logger), log: closed, logger });
    const front = new FrontHandlers();
    front.add(isWebhookRequest, receiver);
    const app2 = createHttpApp(logger, { front });
    await app2.listen({ port: 0, host: '127.0.0.1' });
    try {
      const r = await postWebhook(
        `http://127.0.0.1:${(app2.server.address() as AddressInfo).port}${url}`,
        body([event('follow', `U${'8'.repeat(32)}`)]),
        SECRET,
      );
      expect(r.status).toBe(503);
      expect(r.json.error?.code).toBe('store_unavailable');
    } finally {
      await app2.close();
    }
  });

  it('hands stored events to feature handlers by type and postback prefix; a failing handler loses nothing', async () => {
    const seen: string[] = [];
    ingest.handlers.onPostback('delivery:', ({ event: e }) => void seen.push(`delivery ${e.postback?.data}`));
    ingest.handlers.onPostback('other:', () => void seen.push('other'));
    ingest.handlers.on('postback', () => {
      throw new Error('handler bug');
    });
    const pb = event('postback', `U${'6'.repeat(32)}`, { postback: { data: 'delivery:interest=防災' } });
    expect((await postWebhook(base + url, body([pb]), SECRET)).status).toBe(200);
    await settled();
    expect(seen).toEqual(['delivery delivery:interest=防災']);
    const row = await one<{ c: string }>(
      'SELECT count() AS c FROM raw_webhook_events WHERE webhook_event_id = {id:String}',
      { id: pb.webhookEventId },
    );
    expect(Number(row.c)).toBe(1);
  });

  it('answers an undecodable or malformed tenant id with 404 and a code, and keeps serving', async () => {
    for (const p of [
      '/webhook/%E0',
      '/webhook/%',
      '/webhook/%E0%A4%A',
      '/webhook/..%2F..',
      '/webhook/24201x',
      '/webhook/',
    ]) {
      const r = await postWebhook(base + p, body([event('follow', `U${'4'.repeat(32)}`)]), SECRET);
      expect(r.status, p).toBe(404);
      expect(r.json.error?.code, p).toMatch(/^(tenant_invalid|not_found)$/);
    }
    // percent-encoded digits are the same tenant
    expect(
      (await postWebhook(`${base}/webhook/%32%34%32%30%31`, body([event('follow', `U${'4'.repeat(32)}`)]), SECRET))
        .status,
    ).toBe(200);
  });

  it('answers 400 to a signed webhook with an absurd timestamp or fields later code would choke on', async () => {
    await settled();
    const before = ingest.log.head();
    const u = `U${'3'.repeat(32)}`;
    const bad: Array<Record<string, unknown>> = [
      event('follow', u, {}, 1e20),
      event('follow', u, {}, -5),
      event('follow', u, {}, 1_780_000_000_000.5),
      event('follow', u, {}, Date.now() + 30 * 86_400_000),
      { ...event('follow', u), timestamp: '1780000000000' },
      { ...event('follow', u), source: { type: 'user', userId: { $ne: 1 } } },
      { ...event('postback', u), postback: { data: 42 } },
      { ...event('message', u), message: 'hello' },
      { ...event('follow', u), replyToken: ['x'] },
    ];
    for (const e of bad) {
      const r = await postWebhook(base + url, body([e]), SECRET);
      expect(r.status, JSON.stringify(e).slice(0, 120)).toBe(400);
      expect(r.json.error?.code).toBe('invalid_body');
    }
    expect(ingest.log.head()).toBe(before);
    expect((await postWebhook(base + url, body([event('follow', u)]), SECRET)).status).toBe(200);
  });
});
