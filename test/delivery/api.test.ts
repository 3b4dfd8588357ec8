/**
 * The delivery API against the sandbox: per-field validation errors (ours and LINE's validate
 * endpoint's, in Japanese), segment counts equal to a direct count and to who actually receives,
 * blocked residents (from ingest's follow / unfollow events) out of every audience, scheduling,
 * rescheduling and cancel, test-send to test devices only, a list of named users (validated,
 * deduplicated, blocked residents and strangers skipped and counted, one receipt each through a lost
 * answer and its retry), the registration flow by postback,
 * category tree edits that keep answers, delivery lists and CSV export.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorTokenAuth } from '../../core/auth.ts';
import { createHttpApp, type FastifyInstance } from '../../core/http.ts';
import { createLogger } from '../../core/logger.ts';
import { chDateTime } from '../../core/time.ts';
import { batchRetryKey, createDelivery, REGISTRATION_PREFIX, type Delivery } from '../../delivery/index.ts';
import { EventHandlerRegistry, type WebhookEvent } from '../../ingest/index.ts';
import { harness, sandboxHook, stillResidents, waitFor, type Harness } from '../helpers/index.ts';

const logger = createLogger(process.env.TEST_LOG ?? 'silent');
const TOKEN = 'operator-token';
const PREF = '24000';
const CITY = '24201';
const CH_PREF = '3000000011';
const CH_CITY = '3000000012';
let h: Harness;
let delivery: Delivery;
let app: FastifyInstance;
let base: string;
let residents: string[];
let registry: EventHandlerRegistry;
const GENDERS = ['female', 'male', 'other'];
const genderOf = (i: number) => GENDERS[i % 3]!;
const yearOf = (i: number) => 1940 + (i % 60);
const interestsOf = (i: number) => [
  ...(i % 4 === 0 ? ['c3/c3_1'] : []),
  ...(i % 5 === 0 ? ['c1'] : []),
  ...(i % 7 === 0 ? ['c3/c3_2/aX'] : []),
];

const channel = (id: string, token: string, count: number, seed: number) => ({
  channelId: id,
  botUserId: `U${id.slice(-1).repeat(32)}`,
  channelSecret: `secret-${id}`,
  channelAccessToken: token,
  residents: stillResidents(count, seed),
});

let eventSeq = 0;
function ev(type: string, userId: string, extra: Partial<WebhookEvent> = {}, ts = Date.now()): WebhookEvent {
  return {
    type,
    timestamp: ts,
    mode: 'active',
    webhookEventId: `01TEST${String(++eventSeq).padStart(20, '0')}`,
    deliveryContext: { isRedelivery: false },
    source: { type: 'user', userId },
    replyToken: 'r'.repeat(32),
    ...extra,
  };
}

beforeAll(async () => {
  h = await harness({
    redis: true,
    sandbox: {
      config: { channels: [channel(CH_PREF, 'token-pref', 1500, 31), channel(CH_CITY, 'token-city', 60, 32)] },
    },
    tenants: [
      { id: PREF, name: '三重県', kind: 'prefecture', channelId: CH_PREF, credentials: 'sandbox' },
      { id: CITY, name: '津市', kind: 'municipality', channelId: CH_CITY, credentials: 'sandbox' },
    ],
  });

  registry = new EventHandlerRegistry(logger);
  delivery = createDelivery({
    ch: h.ch,
    redisUrl: h.redis.url,
    tenants: h.tenants,
    logger,
    ingestHandlers: registry,
    publicUrl: 'https://tayori.example.jp',
    endpoints: () => ({ line: 'http://127.0.0.1:1', sandbox: h.sandbox.url }),
    fanOut: { requestTimeoutMs: 2000, retryBaseMs: 100 },
  });
  await delivery.start();
  h.defer('stop delivery', () => delivery.stop());
  app = createHttpApp(logger);
  delivery.registerRoutes(app, operatorTokenAuth([TOKEN]));
  base = await h.serve(app);

  // residents follow (through ingest's handlers), with attributes registered earlier
  residents = [...h.sandbox.world.byChannelId(CH_PREF)!.followerIds()];
  const t0 = Date.parse('2026-02-01T00:00:00Z');
  await registry.dispatch(
    PREF,
    residents.map((u, i) => ev('follow', u, { replyToken: undefined }, t0 + i)),
  );
  const rows = residents.flatMap((u, i) => [
    {
      tenant_id: PREF,
      user_id: u,
      item: 'gender',
      values: [genderOf(i)],
      answered_at: chDateTime(t0),
      version: 1,
      is_deleted: 0,
    },
    {
      tenant_id: PREF,
      user_id: u,
      item: 'birth_year',
      values: [String(yearOf(i))],
      answered_at: chDateTime(t0),
      version: 1,
      is_deleted: 0,
    },
    ...(interestsOf(i).length
      ? [
          {
            tenant_id: PREF,
            user_id: u,
            item: 'interests',
            values: interestsOf(i),
            answered_at: chDateTime(t0),
            version: 1,
            is_deleted: 0,
          },
        ]
      : []),
    // an older answer that a later one replaced: must not count
    ...(i % 10 === 0
      ? [
          {
            tenant_id: PREF,
            user_id: u,
            item: 'gender',
            values: ['female'],
            answered_at: chDateTime(t0 - 1000),
            version: 0,
            is_deleted: 0,
          },
        ]
      : []),
  ]);
  await h.ch.insert({ table: 'resident_attributes', format: 'JSONEachRow', values: rows });
  const city = [...h.sandbox.world.byChannelId(CH_CITY)!.followerIds()];
  await registry.dispatch(
    CITY,
    city.map((u, i) => ev('follow', u, { replyToken: undefined }, t0 + i)),
  );
}, 60_000);

afterAll(() => h?.close());

async function api(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: any; text: string; headers: Headers }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* CSV */
  }
  return { status: res.status, json, text, headers: res.headers };
}
const receiptsFor = async (channelId: string, userId: string): Promise<Array<{ retryKey: string | null }>> =>
  (await (await fetch(`${h.sandbox.url}/__sandbox/channels/${channelId}/receipts/${userId}`)).json()).receipts;

async function finished(tenant: string, id: string): Promise<any> {
  return waitFor(
    async () => {
      const r = await api('GET', `/api/v1/tenants/${tenant}/deliveries/${id}`);
      return ['done', 'failed', 'cancelled'].includes(r.json.status) ? r.json : undefined;
    },
    60_000,
    `delivery ${id}`,
  );
}

/** Residents whose receipts include one of the delivery's batch retry keys. */
async function recipientsOf(id: string, batches: number): Promise<Set<string>> {
  const keys = new Set(Array.from({ length: batches }, (_, b) => batchRetryKey(id, b)));
  const got = new Set<string>();
  for (const u of residents)
    if ((await receiptsFor(CH_PREF, u)).some((r) => r.retryKey && keys.has(r.retryKey))) got.add(u);
  return got;
}

const T = `/api/v1/tenants/${PREF}`;
const text = (t: string) => ({ type: 'text', text: t });

describe('validation', () => {
  it('answers per field, in Japanese, before saving anything', async () => {
    const r = await api('POST', `${T}/deliveries`, {
      title: '',
      messages: [
        text('x'.repeat(5001)),
        { type: 'image', originalContentUrl: 'http://example.jp/a.png', previewImageUrl: 'https://example.jp/p.png' },
        { type: 'audio' },
      ],
      audience: { type: 'segment', condition: { attr: 'shoe_size', op: 'in', values: ['27'] } },
      scheduledAt: '来週',
    });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('invalid_delivery');
    const fields = Object.fromEntries(
      (r.json.error.details as Array<{ field: string; message: string }>).map((d) => [d.field, d.message]),
    );
    expect(fields.title).toBe('件名を入力してください');
    expect(fields['messages.0.text']).toBe('本文は 5000 文字以内です');
    expect(fields['messages.1.originalContentUrl']).toMatch(/https:\/\/ で始まる URL/);
    expect(fields['messages.2.type'] ?? fields['messages.2']).toMatch(/text・image・video・sticker・flex/);
    expect(fields['audience.condition.attr'] ?? fields['audience.condition']).toBeTruthy();
    expect(fields.scheduledAt).toMatch(/配信日時の形式/);
    expect((await api('GET', `${T}/deliveries?tests=1`)).json.deliveries).toEqual([]);
  });

  it('maps LINE’s validate endpoint details onto the same fields', async () => {
    const r = await api('POST', `${T}/deliveries/validate`, {
      title: 'Flex',
      messages: [
        { type: 'flex', altText: 'お知らせ', contents: { type: 'bubble', body: { type: 'box', contents: [] } } },
      ],
    });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('invalid_messages');
    expect(r.json.error.details).toContainEqual({
      field: 'messages.0.contents.body.layout',
      message: '入力してください',
    });
  });

  it('refuses a schedule in the past and unknown tenants', async () => {
    const past = await api('POST', `${T}/deliveries`, {
      title: '過去',
      messages: [text('x')],
      scheduledAt: '2020-01-01T09:00',
    });
    expect(past.status).toBe(400);
    expect(past.json.error.details).toEqual([
      { field: 'scheduledAt', message: '配信日時は現在より後の日時を指定してください' },
    ]);
    expect((await api('POST', '/api/v1/tenants/99999/deliveries', { title: 'x', messages: [text('x')] })).status).toBe(
      404,
    );
    expect((await fetch(`${base}${T}/deliveries`)).status).toBe(401);
  });

  it('previews messages as a resident sees them', async () => {
    const r = await api('POST', `${T}/deliveries/preview`, {
      messages: [
        text('健診のご案内 https://example.jp/kenshin <b>'),
        { type: 'sticker', packageId: '446', stickerId: '1988' },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.json.html).toContain('三重県');
    expect(r.json.html).toContain('<a href="https://example.jp/kenshin"');
    expect(r.json.html).toContain('&lt;b&gt;');
    expect(r.json.notificationText).toBe('健診のご案内 https://example.jp/kenshin <b>');
  });

  it('previews a saved delivery as it was written (its tracked link back in), within its tenant only', async () => {
    const d = await api('POST', `${T}/deliveries`, {
      title: '保存した配信のプレビュー',
      messages: [text('健診のご案内 https://example.jp/kenshin <b>')],
      trackClicks: true,
    });
    expect(d.status).toBe(201);
    const stored = await api('GET', `${T}/deliveries/${d.json.id}`);
    expect(stored.json.links).toEqual(['https://example.jp/kenshin']);
    const r = await api('GET', `${T}/deliveries/${d.json.id}/preview`);
    expect(r.status).toBe(200);
    expect(r.json.html).toContain('<a href="https://example.jp/kenshin"');
    expect(r.json.html).not.toContain('{{link');
    expect(r.json.html).toContain('&lt;b&gt;');
    // how it goes out, for the delivery list's 内容
    expect(r.json).toMatchObject({ sendMethod: 'broadcast', notificationDisabled: false, trackedLinks: 1 });
    const elsewhere = await api('GET', `/api/v1/tenants/${CITY}/deliveries/${d.json.id}/preview`);
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.json.error.code).toBe('delivery_not_found');
    expect((await fetch(`${base}${T}/deliveries/${d.json.id}/preview`)).status).toBe(401);
  });
});

describe('audiences', () => {
  const segment = {
    and: [
      {
        or: [
          { attr: 'gender', op: 'in', values: ['female'] },
          { attr: 'interests', op: 'in', values: ['c3'] },
        ],
      },
      { not: { attr: 'birth_year', op: 'between', min: 1950, max: 1969 } },
    ],
  };
  const matches = (i: number) =>
    (genderOf(i) === 'female' || interestsOf(i).some((x) => x === 'c3' || x.startsWith('c3/'))) &&
    !(yearOf(i) >= 1950 && yearOf(i) <= 1969);

  it('counts a nested segment exactly as a direct count does', async () => {
    const expected = residents.filter((_, i) => matches(i)).length;
    expect(expected).toBeGreaterThan(100);
    const r = await api('POST', `${T}/deliveries/count`, { audience: { type: 'segment', condition: segment } });
    expect(r.status).toBe(200);
    expect(r.json.count).toBe(expected);
    expect((await api('POST', `${T}/deliveries/count`, { audience: { type: 'all' } })).json.count).toBe(
      residents.length,
    );
  });

  it('keeps residents who blocked out of every audience until they unblock', async () => {
    const blockers = residents.slice(0, 30);
    await registry.dispatch(
      PREF,
      blockers.map((u) => ev('unfollow', u, { replyToken: undefined })),
    );
    expect((await api('POST', `${T}/deliveries/count`, { audience: { type: 'all' } })).json.count).toBe(
      residents.length - 30,
    );
    // a redelivered, older follow does not undo the block
    await registry.dispatch(PREF, [
      ev('follow', blockers[0]!, { replyToken: undefined }, Date.parse('2026-02-01T00:00:00Z')),
    ]);
    expect((await api('POST', `${T}/deliveries/count`, { audience: { type: 'all' } })).json.count).toBe(
      residents.length - 30,
    );
    await registry.dispatch(
      PREF,
      blockers.slice(0, 10).map((u) => ev('follow', u, { follow: { isUnblocked: true }, replyToken: undefined })),
    );
    expect((await api('POST', `${T}/deliveries/count`, { audience: { type: 'all' } })).json.count).toBe(
      residents.length - 20,
    );
    const expected = residents.filter((u, i) => matches(i) && !blockers.slice(10).includes(u));
    expect(
      (await api('POST', `${T}/deliveries/count`, { audience: { type: 'segment', condition: segment } })).json.count,
    ).toBe(expected.length);

    // and the delivery reaches exactly them
    const created = await api('POST', `${T}/deliveries`, {
      title: '健康講座',
      messages: [text('健康講座のご案内')],
      audience: { type: 'segment', condition: segment, label: '女性か健康' },
      send: 'now',
    });
    expect(created.status).toBe(201);
    const d = await finished(PREF, created.json.id);
    expect(d).toMatchObject({
      status: 'done',
      targets: expected.length,
      accepted: expected.length,
      audienceLabel: 'セグメント: 女性か健康',
    });
    const got = await recipientsOf(d.id, d.batches);
    expect([...got].sort()).toEqual([...expected].sort());
  });
});

describe('a list of users', () => {
  it('refuses a bad list field by field, in Japanese, and saves nothing', async () => {
    const bad = async (audience: unknown) => {
      const r = await api('POST', `${T}/deliveries`, { title: '指定', messages: [text('x')], audience, send: 'now' });
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe('invalid_delivery');
      return Object.fromEntries(
        (r.json.error.details as Array<{ field: string; message: string }>).map((d) => [d.field, d.message]),
      );
    };
    const before = (await api('GET', `${T}/deliveries?tests=1`)).json.deliveries.length;
    expect((await bad({ type: 'users', userIds: [] }))['audience.userIds']).toBe('送信先を 1 人以上指定してください');
    expect((await bad({ type: 'users' }))['audience.userIds']).toBe('送信先 (userIds) は LINE ユーザー ID の配列です');
    expect((await bad({ type: 'users', userIds: [residents[0], 'U123'] }))['audience.userIds.1']).toBe(
      '送信先の LINE ユーザー ID が正しくありません (2 番目: U + 32 桁の英数字)',
    );
    const many = Array.from({ length: 501 }, (_, i) => `U${i.toString(16).padStart(32, '0')}`);
    expect((await bad({ type: 'users', userIds: many }))['audience.userIds']).toBe(
      '送信先は重複を除いて 500 人までです',
    );
    expect((await bad({ type: 'users', userIds: [residents[0]], label: 'x'.repeat(101) }))['audience.label']).toBe(
      '送信先の名前は 100 文字以内です',
    );
    expect((await bad({ type: 'people' }))['audience.type']).toMatch(/users \(指定した住民\)/);
    // 500 distinct ids, each given twice, are 500 residents: allowed
    const twice = await api('POST', `${T}/deliveries/count`, {
      audience: { type: 'users', userIds: [...many.slice(0, 500), ...many.slice(0, 500)] },
    });
    expect(twice.status).toBe(200);
    expect(twice.json).toEqual({ count: 0, skipped: 500, audienceLabel: '指定した住民 (500人)' });
    expect((await api('GET', `${T}/deliveries?tests=1`)).json.deliveries.length).toBe(before);
  });

  it('sends once to each named friend (duplicates dropped), skips and counts the blocked and strangers, retries with its key', async () => {
    const named = residents.slice(1000, 1040);
    const blocked = named[3]!;
    const stranger = `U${'e'.repeat(32)}`; // never a friend of this account
    await registry.dispatch(PREF, [ev('unfollow', blocked, { replyToken: undefined })]);
    const audience = { type: 'users', userIds: [...named, stranger, named[0], named[5]] };
    const count = await api('POST', `${T}/deliveries/count`, { audience });
    expect(count.json).toEqual({ count: 39, skipped: 2, audienceLabel: '指定した住民 (41人)' });

    // LINE takes the first request but its answer is lost (a 500): the retry carries the same key, 409
    await sandboxHook(h.sandbox.url, 'POST', '/faults', {
      channelId: CH_PREF,
      endpoint: 'multicast',
      kind: '5xx',
      durationMs: 60_000,
      count: 1,
      delivered: true,
    });
    const created = await api('POST', `${T}/deliveries`, {
      title: '指定した方へのお知らせ',
      messages: [text('ご案内です')],
      audience,
      send: 'now',
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ sendMethod: 'multicast', audienceLabel: '指定した住民 (41人)' });
    expect(created.json.audience.userIds).toHaveLength(41);
    const d = await finished(PREF, created.json.id);
    await sandboxHook(h.sandbox.url, 'DELETE', '/faults');
    expect(d).toMatchObject({ status: 'done', targets: 39, skipped: 2, accepted: 39, failed: 0, batches: 1 });
    const batch = (await api('GET', `${T}/deliveries/${d.id}/batches`)).json.batches[0];
    expect(batch).toMatchObject({ status: 'accepted', http_status: 409, retry_key: batchRetryKey(d.id, 0) });
    expect(Number(batch.attempts)).toBe(2);
    // each named friend has exactly one receipt of it; the blocked resident none
    const key = batchRetryKey(d.id, 0);
    for (const u of named) {
      const n = (await receiptsFor(CH_PREF, u)).filter((r) => r.retryKey === key).length;
      expect(n, u).toBe(u === blocked ? 0 : 1);
    }

    // in the list, the CSV and the audit log like any other delivery
    const listed = (await api('GET', `${T}/deliveries`)).json.deliveries.find((x: any) => x.id === d.id);
    expect(listed).toMatchObject({
      audienceLabel: '指定した住民 (41人)',
      targets: 39,
      skipped: 2,
      accepted: 39,
      status: 'done',
    });
    expect((await api('GET', `${T}/deliveries.csv`)).text).toMatch(
      /指定した方へのお知らせ,通常,テキスト,指定した住民 \(41人\),送信済み,39,2,39,0,/,
    );
    const audit = await (
      await h.ch.query({
        query: 'SELECT action, detail FROM audit_log WHERE target = {id:String}',
        query_params: { id: d.id },
        format: 'JSONEachRow',
      })
    ).json<{ action: string; detail: string }>();
    expect(audit.map((a) => a.action)).toEqual(['send']);
    expect(JSON.parse(audit[0]!.detail)).toMatchObject({ audience: 'users', recipients: 41, sendMethod: 'multicast' });
    expect(audit[0]!.detail).not.toContain(named[0]!);
    await registry.dispatch(PREF, [ev('follow', blocked, { follow: { isUnblocked: true }, replyToken: undefined })]);
  });

  it('refuses broadcast for a list of users', async () => {
    const r = await api('POST', `${T}/deliveries`, {
      title: 'x',
      messages: [text('x')],
      audience: { type: 'users', userIds: [residents[0]] },
      sendMethod: 'broadcast',
    });
    expect(r.status).toBe(400);
    expect(r.json.error.details).toEqual([
      { field: 'sendMethod', message: '一斉配信 (broadcast) は配信対象が「すべての友だち」のときだけ使えます' },
    ]);
  });
});

describe('scheduling', () => {
  it('sends a scheduled delivery at its time, moves a rescheduled one, and never sends a cancelled one', async () => {
    const soon = new Date(Date.now() + 1500).toISOString();
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const a = await api('POST', `/api/v1/tenants/${CITY}/deliveries`, {
      title: '予約',
      messages: [text('予約配信')],
      scheduledAt: soon,
    });
    expect(a.status).toBe(201);
    expect(a.json.status).toBe('scheduled');
    const b = await api('POST', `/api/v1/tenants/${CITY}/deliveries`, {
      title: '取り消す予約',
      messages: [text('届かない')],
      scheduledAt: later,
    });
    const c = await api('POST', `/api/v1/tenants/${CITY}/deliveries`, {
      title: '前倒し',
      messages: [text('前倒し')],
      scheduledAt: later,
    });
    expect(b.json.status).toBe('scheduled');

    const cancelled = await api('POST', `/api/v1/tenants/${CITY}/deliveries/${b.json.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.json.status).toBe('cancelled');
    const again = await api('POST', `/api/v1/tenants/${CITY}/deliveries/${b.json.id}/schedule`, { scheduledAt: soon });
    expect(again.status).toBe(409);
    expect(again.json.error.message).toMatch(/取り消し済み/);
    const moved = await api('POST', `/api/v1/tenants/${CITY}/deliveries/${c.json.id}/schedule`, {
      scheduledAt: new Date(Date.now() + 1000).toISOString(),
    });
    expect(moved.status).toBe(200);

    const doneA = await finished(CITY, a.json.id);
    const doneC = await finished(CITY, c.json.id);
    const friends = h.sandbox.world.byChannelId(CH_CITY)!.followerIds().length;
    expect(doneA).toMatchObject({ status: 'done', accepted: friends });
    expect(doneC).toMatchObject({ status: 'done', accepted: friends });
    expect((await api('POST', `/api/v1/tenants/${CITY}/deliveries/${a.json.id}/cancel`)).status).toBe(409);
    expect((await api('GET', `/api/v1/tenants/${CITY}/deliveries/${b.json.id}`)).json.status).toBe('cancelled');
    const someone = h.sandbox.world.byChannelId(CH_CITY)!.followerIds()[0]!;
    const keys = (await receiptsFor(CH_CITY, someone)).map((r) => r.retryKey);
    expect(keys).toContain(batchRetryKey(a.json.id, 0));
    expect(keys).not.toContain(batchRetryKey(b.json.id, 0));
  });
});

describe('drafts', () => {
  it('changes a draft in place (same id), checks it like a new one, sends it on request, and refuses to change anything but a draft', async () => {
    const d = await api('POST', `/api/v1/tenants/${CITY}/deliveries`, { title: '下書き', messages: [text('第一稿')] });
    expect(d.status).toBe(201);
    expect(d.json.status).toBe('draft');
    const bad = await api('PUT', `/api/v1/tenants/${CITY}/deliveries/${d.json.id}`, {
      title: '',
      messages: [text('')],
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error.details.map((x: { field: string }) => x.field)).toEqual(
      expect.arrayContaining(['title', 'messages.0.text']),
    );
    expect((await api('GET', `/api/v1/tenants/${CITY}/deliveries/${d.json.id}`)).json).toMatchObject({
      title: '下書き',
      messages: [text('第一稿')],
    });

    const edited = await api('PUT', `/api/v1/tenants/${CITY}/deliveries/${d.json.id}`, {
      title: '下書き (改)',
      messages: [text('第二稿'), { type: 'sticker', packageId: '446', stickerId: '1988' }],
    });
    expect(edited.status).toBe(200);
    expect(edited.json).toMatchObject({
      id: d.json.id,
      status: 'draft',
      title: '下書き (改)',
      createdAt: d.json.createdAt,
      aggregationUnit: d.json.aggregationUnit,
    });
    const listed = (await api('GET', `/api/v1/tenants/${CITY}/deliveries`)).json.deliveries.filter(
      (x: { id: string }) => x.id === d.json.id,
    );
    expect(listed).toHaveLength(1);
    expect(listed[0].title).toBe('下書き (改)');

    const sent = await api('PUT', `/api/v1/tenants/${CITY}/deliveries/${d.json.id}`, {
      title: '下書き (確定)',
      messages: [text('確定稿')],
      send: 'now',
    });
    expect(sent.status).toBe(200);
    expect(sent.json.status).toBe('queued');
    const done = await finished(CITY, d.json.id);
    expect(done).toMatchObject({
      status: 'done',
      title: '下書き (確定)',
      accepted: h.sandbox.world.byChannelId(CH_CITY)!.followerIds().length,
    });
    const again = await api('PUT', `/api/v1/tenants/${CITY}/deliveries/${d.json.id}`, {
      title: '送信後',
      messages: [text('変えられない')],
    });
    expect(again.status).toBe(409);
    expect(again.json.error).toMatchObject({ code: 'delivery_not_editable' });
    expect(again.json.error.message).toMatch(/下書きだけ/);
    expect(
      (await api('PUT', `/api/v1/tenants/${CITY}/deliveries/d-none`, { title: 'x', messages: [text('x')] })).status,
    ).toBe(404);
  });
});

describe('test-send', () => {
  it('reaches the test devices only and is recorded as a test', async () => {
    expect((await api('POST', `${T}/deliveries/test-send`, { messages: [text('テスト')] })).json.error.code).toBe(
      'no_test_devices',
    );
    const devices = [residents[100]!, residents[200]!];
    for (const [i, u] of devices.entries())
      expect((await api('POST', `${T}/test-devices`, { userId: u, label: `職員端末${i + 1}` })).status).toBe(201);
    expect((await api('POST', `${T}/test-devices`, { userId: 'someone' })).json.error.details[0].field).toBe('userId');
    expect((await api('GET', `${T}/test-devices`)).json.devices).toHaveLength(2);
    expect((await api('POST', `${T}/deliveries/count`, { audience: { type: 'test' } })).json.count).toBe(2);

    const r = await api('POST', `${T}/deliveries/test-send`, { title: '試し送信', messages: [text('テスト配信です')] });
    expect(r.status).toBe(201);
    const d = await finished(PREF, r.json.id);
    expect(d).toMatchObject({ kind: 'test', status: 'done', targets: 2, accepted: 2, audienceLabel: 'テスト端末' });
    const got = await recipientsOf(d.id, d.batches);
    expect([...got].sort()).toEqual([...devices].sort());
    expect((await api('GET', `${T}/deliveries`)).json.deliveries.some((x: any) => x.id === d.id)).toBe(false);
    expect(
      (await api('GET', `${T}/deliveries?tests=1`)).json.deliveries.some(
        (x: any) => x.id === d.id && x.kind === 'test',
      ),
    ).toBe(true);
  });
});

describe('registration by postback', () => {
  it('records answers (latest wins), keeps them through renames and retirement', async () => {
    const u = residents[501]!; // no attributes seeded but gender
    const pb = (data: string, params?: Record<string, string>) =>
      ev('postback', u, { postback: { data: `${REGISTRATION_PREFIX}${data}`, ...(params ? { params } : {}) } });
    await registry.dispatch(PREF, [pb('set:gender:male')]);
    await registry.dispatch(PREF, [pb('by', { date: '1984-05-06' })]);
    await registry.dispatch(PREF, [pb('ti:c2/c2_1')]);
    await registry.dispatch(PREF, [pb('ti:c3')]);
    const toggle = pb('ti:c2/c2_1');
    await registry.dispatch(PREF, [toggle]);
    await registry.dispatch(PREF, [{ ...toggle, deliveryContext: { isRedelivery: true } }]); // redelivered: handled once
    await registry.dispatch(PREF, [pb('set:gender:female')]);
    await registry.dispatch(PREF, [pb('set:gender:unknown-option')]);
    const attrs = (await api('GET', `${T}/residents/${u}/attributes`)).json;
    expect(attrs.friend).toBe(true);
    expect(attrs.attributes).toMatchObject({ gender: ['female'], birth_year: ['1984'], interests: ['c3'] });

    // staff rename and retire a category; the answer stays and still selects the resident
    const cats = (await api('GET', `${T}/categories`)).json.categories;
    expect(cats.find((c: any) => c.id === 'c3').name).toBe('健康');
    expect((await api('PATCH', `${T}/categories/c3`, { name: '健康づくり' })).json.name).toBe('健康づくり');
    expect((await api('PATCH', `${T}/categories/c3_1`, { retired: true })).json.retired).toBe(true);
    const area = await api('POST', `${T}/categories`, { parentId: '@area', name: '津地区' });
    expect(area.status).toBe(201);
    expect((await api('POST', `${T}/categories`, { parentId: 'c3_1', name: '深すぎる' })).status).toBe(400);
    expect((await api('GET', `${T}/residents/${u}/attributes`)).json.attributes.interests).toEqual(['c3']);

    // an extra item, renamed and with an option retired, keeps the answer
    const item = (
      await api('POST', `${T}/attribute-items`, {
        label: '健康マイレージ',
        options: [{ label: '参加中' }, { label: '未参加' }],
      })
    ).json;
    await registry.dispatch(PREF, [pb(`set:x:${item.id}:o1`)]);
    await api('PATCH', `${T}/attribute-items/${item.id}`, {
      label: 'マイレージ参加',
      options: [{ id: 'o1', label: '参加している', retired: true }],
    });
    // its place among the items (the order residents are asked in) changes alone
    expect((await api('PATCH', `${T}/attribute-items/${item.id}`, { sort: 7 })).json).toMatchObject({
      sort: 7,
      label: 'マイレージ参加',
    });
    expect((await api('GET', `${T}/residents/${u}/attributes`)).json.attributes[`x:${item.id}`]).toEqual(['o1']);
    const count = await api('POST', `${T}/deliveries/count`, {
      audience: {
        type: 'segment',
        condition: {
          and: [
            { attr: `x:${item.id}`, op: 'in', values: ['o1'] },
            { attr: 'interests', op: 'in', values: ['c3'] },
          ],
        },
      },
    });
    expect(count.json.count).toBe(1);
  });
});

describe('records', () => {
  it('lists deliveries per tenant and prefecture-wide, and exports CSV that Excel opens', async () => {
    const evil = await api('POST', `${T}/deliveries`, {
      title: '=HYPERLINK("http://evil")',
      messages: [text('x')],
      send: 'draft',
    });
    expect(evil.status).toBe(201);
    expect(evil.json.status).toBe('draft');
    const own = (await api('GET', `${T}/deliveries`)).json.deliveries;
    expect(own.every((d: any) => d.tenantId === PREF)).toBe(true);
    const all = (await api('GET', '/api/v1/deliveries')).json.deliveries;
    expect(new Set(all.map((d: any) => d.tenantId))).toEqual(new Set([PREF, CITY]));

    const csv = await api('GET', `${T}/deliveries.csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/text\/csv; charset=utf-8/);
    const bytes = Buffer.from(
      await (
        await fetch(`${base}${T}/deliveries.csv`, { headers: { authorization: `Bearer ${TOKEN}` } })
      ).arrayBuffer(),
    );
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]); // UTF-8 BOM: Excel reads it as UTF-8
    const lines = bytes.subarray(3).toString('utf8').split('\r\n');
    expect(lines[0]).toBe(
      '団体コード,団体名,配信日,配信時刻,件名,種別,メッセージ,配信対象,状態,対象数,対象外(人),受付数,失敗数,配信数,開封者数,開封率,クリック数',
    );
    expect(lines.some((l) => l.includes(`"'=HYPERLINK(""http://evil"")"`))).toBe(true);
    const seg = lines.find((l) => l.includes('健康講座'))!;
    expect(seg).toMatch(
      /^24000,三重県,\d{4}-\d{2}-\d{2},\d{2}:\d{2},健康講座,通常,テキスト,セグメント: 女性か健康,送信済み,\d+,0,\d+,0,/,
    );
    const wide = await api('GET', '/api/v1/deliveries.csv');
    expect(wide.text).toContain('津市');
    expect(wide.text).toContain('三重県');
  });

  it('exports 住民の登録内容: every resident with their answers by name, as CSV that Excel opens', async () => {
    // an area whose name a spreadsheet would run as a formula, as someone's residence
    const area = (await api('POST', `${T}/categories`, { parentId: '@area', name: '=1+1' })).json;
    await h.ch.insert({
      table: 'resident_attributes',
      format: 'JSONEachRow',
      values: [
        {
          tenant_id: PREF,
          user_id: residents[3],
          item: 'residence',
          values: [area.id],
          answered_at: chDateTime(Date.parse('2026-02-03T01:02:00Z')),
          version: 1,
          is_deleted: 0,
        },
      ],
    });
    const res = await fetch(`${base}${T}/residents.csv`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/csv; charset=utf-8/);
    expect(res.headers.get('content-disposition')).toContain(
      `filename*=UTF-8''${encodeURIComponent('住民登録内容_三重県.csv')}`,
    );
    const bytes = Buffer.from(await res.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = bytes.subarray(3).toString('utf8').split('\r\n').filter(Boolean);
    const items = (await api('GET', `${T}/attribute-items`)).json.items as Array<{
      id: string;
      label: string;
      retired: boolean;
    }>;
    expect(lines[0]).toBe(
      [
        'ユーザーID,友だち,友だち状態の日時,生活スタイル,生まれ年,性別,お住まい,知りたい地域,関心のある分野',
        ...items.map((i) => i.label),
        '最後に回答した日時',
      ].join(','),
    );
    // one line per resident of the tenant, in user id order
    expect(lines.length - 1).toBe(residents.length);
    expect(lines.slice(1).map((l) => l.slice(0, 33))).toEqual([...residents].sort());
    const names = new Map(
      (
        (await api('GET', `${T}/categories`)).json.categories as Array<{ id: string; name: string; retired: boolean }>
      ).map((c) => [c.id, c.retired ? `${c.name} (廃止)` : c.name]),
    );
    const path = (p: string) =>
      p
        .split('/')
        .map((id) => names.get(id) ?? id)
        .join(' › ');
    const lineOf = (u: string) => lines.find((l) => l.startsWith(u))!;
    // resident 140: born 1960, gender その他, interests at three levels (an area id the tree does not know stays as it is)
    expect(lineOf(residents[140]!)).toBe(
      [
        residents[140],
        '友だち',
        '2026-02-01 09:00',
        '',
        '1960',
        'その他・回答しない',
        '',
        '',
        interestsOf(140).map(path).join('、'),
        ...items.map(() => ''),
        '2026-02-01 09:00',
      ].join(','),
    );
    expect(interestsOf(140).map(path).join('、')).toMatch(
      /^健康づくり › 健康マイレージ \(廃止\)、防災、健康づくり › 健康教室 › aX$/,
    );
    // resident 3: the formula-like area name is neutralised; resident 15 has blocked
    expect(lineOf(residents[3]!)).toContain(`,"'=1+1",`);
    expect(lineOf(residents[3]!).endsWith(',2026-02-03 10:02')).toBe(true);
    expect(lineOf(residents[15]!).split(',')[1]).toBe('ブロック中');
    // the resident who registered by postback: the extra item's retired option by name
    const item = items.find((i) => i.label === 'マイレージ参加')!;
    expect(lineOf(residents[501]!).split(',')[9 + items.indexOf(item)]).toBe('参加している (廃止)');

    const friendsOnly = await api('GET', `${T}/residents.csv?friends=1`);
    const friendLines = friendsOnly.text.split('\r\n').filter(Boolean).slice(1);
    expect(friendLines.length).toBe(
      (await api('POST', `${T}/deliveries/count`, { audience: { type: 'all' } })).json.count,
    );
    expect(friendLines.every((l) => l.split(',')[1] === '友だち')).toBe(true);
  });
});

describe('click tracking', () => {
  it('wraps links in /r/<token> per audience bucket, counts clicks per bucket, and redirects', async () => {
    const created = await api('POST', `${T}/deliveries`, {
      title: '健診のご案内',
      messages: [text('詳しくは https://www.pref.mie.lg.jp/kenshin をご覧ください')],
      audience: { type: 'segment', condition: { attr: 'gender', op: 'in', values: ['female', 'male'] } },
      trackClicks: true,
      clickBucket: 'gender',
      send: 'now',
    });
    expect(created.status).toBe(201);
    expect(created.json.links).toEqual(['https://www.pref.mie.lg.jp/kenshin']);
    const d = await finished(PREF, created.json.id);
    expect(d.status).toBe('done');

    expect(d.accepted).toBe(d.targets);
    const info = (await api('GET', `${T}/deliveries/${d.id}/clicks`)).json;
    expect(info.clickBucket).toBe('gender');
    const buckets = info.clicks.map((c: any) => c.bucket).sort();
    expect(buckets).toEqual(['female', 'male']);

    // tokens are opaque and carry no resident id; clicking counts per bucket
    const rows = await (
      await h.ch.query({
        query: 'SELECT token, bucket FROM delivery_links FINAL WHERE delivery_id = {id:String}',
        query_params: { id: d.id },
        format: 'JSONEachRow',
      })
    ).json<{ token: string; bucket: string }>();
    const female = rows.find((r) => r.bucket === 'female')!.token;
    const male = rows.find((r) => r.bucket === 'male')!.token;
    expect(female).not.toMatch(/U[0-9a-f]{32}/);
    for (const t of [female, female, male]) {
      const res = await fetch(`${base}/r/${t}`, { redirect: 'manual' });
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe('https://www.pref.mie.lg.jp/kenshin');
    }
    expect((await fetch(`${base}/r/nonexistent-token`, { redirect: 'manual' })).status).toBe(404);
    await delivery.store.clickWriter.drain();
    const after = (await api('GET', `${T}/deliveries/${d.id}/clicks`)).json.clicks;
    expect(after).toEqual([
      { linkNo: 0, bucket: 'female', url: 'https://www.pref.mie.lg.jp/kenshin', clicks: 2 },
      { linkNo: 0, bucket: 'male', url: 'https://www.pref.mie.lg.jp/kenshin', clicks: 1 },
    ]);
  });
});

describe('who may do what', () => {
  it('lets a municipality account see and deliver for its own tenant only, and a reader never change anything', async () => {
    const { createHttpApp: mkApp } = await import('../../core/http.ts');
    const staff = (permissions: Array<'deliver' | 'export_residents'>) => ({
      kind: 'staff' as const,
      via: 'token' as const,
      userId: 'u1',
      username: 'tsu',
      displayName: '津市 担当',
      role: 'municipality' as const,
      tenantId: CITY,
      permissions,
    });
    for (const [perms, canDeliver] of [
      [['deliver'], true],
      [[], false],
    ] as const) {
      const scoped = mkApp(logger);
      delivery.registerRoutes(scoped, {
        identify: async () => staff([...perms]),
        require: async () => staff([...perms]),
      });
      await scoped.listen({ port: 0, host: '127.0.0.1' });
      const url = `http://127.0.0.1:${(scoped.server.address() as AddressInfo).port}`;
      const call = (method: string, path: string, body?: unknown) =>
        fetch(`${url}${path}`, {
          method,
          headers: body ? { 'content-type': 'application/json' } : {},
          body: body ? JSON.stringify(body) : undefined,
        });
      try {
        expect((await call('GET', `/api/v1/tenants/${CITY}/deliveries`)).status).toBe(200);
        const other = await call('GET', `/api/v1/tenants/${PREF}/deliveries`);
        expect(other.status).toBe(403);
        expect(((await other.json()) as any).error.code).toBe('forbidden_tenant');
        expect(
          (await call('POST', `/api/v1/tenants/${PREF}/deliveries/count`, { audience: { type: 'all' } })).status,
        ).toBe(403);
        const wide = (await (await call('GET', '/api/v1/deliveries')).json()) as any;
        expect(wide.deliveries.length).toBeGreaterThan(0);
        expect(wide.deliveries.every((d: any) => d.tenantId === CITY)).toBe(true);
        const draft = await call('POST', `/api/v1/tenants/${CITY}/deliveries`, {
          title: '下書き',
          messages: [text('x')],
        });
        expect(draft.status).toBe(canDeliver ? 201 : 403);
        expect((await call('GET', `/api/v1/tenants/${CITY}/residents/${residents[0]}/attributes`)).status).toBe(403);
        const csv = await call('GET', `/api/v1/tenants/${CITY}/residents.csv`);
        expect(csv.status).toBe(403);
        expect(((await csv.json()) as any).error.code).toBe('forbidden');
      } finally {
        await scoped.close();
      }
    }
  });
});
