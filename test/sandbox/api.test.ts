/**
 * The sandbox's HTTP layer, driven through @line/bot-sdk 11 against the real simulated world.
 * /__sandbox test hooks (and a few malformed requests the SDK cannot produce) use plain fetch.
 * Every response the sandbox sends during the suite is checked against LINE's OpenAPI specs at
 * the end.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTPFetchError, insight, messagingApi } from '@line/bot-sdk';
import { startSandbox, type RecordedResponse, type RunningSandbox } from '../../sandbox/index.ts';
import { validateResponse } from '../../sandbox/openapi.ts';
import { lineFailure, sandboxHook } from '../helpers/index.ts';

const BIG = {
  channelId: '2000000001',
  botUserId: `U${'1'.repeat(32)}`,
  channelSecret: 'secret-big',
  channelAccessToken: 'token-big',
  displayName: '大きな町',
  residents: { count: 3000, seed: 11, initialFriendRatio: 0.6 },
};
const SMALL = {
  channelId: '2000000002',
  botUserId: `U${'2'.repeat(32)}`,
  channelSecret: 'secret-small',
  channelAccessToken: 'token-small',
  residents: { count: 40, seed: 5, initialFriendRatio: 0.25 },
};
const SCRATCH = {
  channelId: '2000000003',
  botUserId: `U${'3'.repeat(32)}`,
  channelSecret: 'secret-scratch',
  channelAccessToken: 'token-scratch',
  residents: { count: 10, seed: 3, initialFriendRatio: 0.5 },
};

const text = (t: string): messagingApi.Message => ({ type: 'text', text: t });

let sandbox: RunningSandbox;
const recorded: RecordedResponse[] = [];
let big: messagingApi.MessagingApiClient;
let small: messagingApi.MessagingApiClient;
let scratch: messagingApi.MessagingApiClient;
let bigInsight: insight.InsightClient;
let smallInsight: insight.InsightClient;
let bigFriends: string[];
/** When set, the sandbox's real-time clock stands still (rate-limit windows become exact). */
let heldAt: number | undefined;

function client(token: string, headers?: Record<string, string>) {
  return new messagingApi.MessagingApiClient({
    channelAccessToken: token,
    baseURL: sandbox.url,
    defaultHeaders: headers,
  });
}

/** Calls a /__sandbox test hook; the answer's JSON body plus `httpStatus`. */
const hook = (method: string, path: string, body?: unknown) => sandboxHook(sandbox.url, method, path, body);

async function allFollowers(c: messagingApi.MessagingApiClient): Promise<string[]> {
  const ids: string[] = [];
  let start: string | undefined;
  do {
    const page = await c.getFollowers(start, 1000);
    ids.push(...page.userIds);
    start = page.next;
  } while (start);
  return ids;
}

/** yyyyMMdd in Asia/Tokyo. */
function tokyoDate(ms: number): string {
  return new Date(ms + 9 * 3_600_000).toISOString().slice(0, 10).replace(/-/g, '');
}

beforeAll(async () => {
  sandbox = await startSandbox({
    config: { channels: [BIG, SMALL, SCRATCH], clock: { start: '2025-06-10T03:00:00Z', speed: 1 } },
    server: { onResponse: (r) => recorded.push(r), clock: () => heldAt ?? Date.now() },
  });
  big = client(BIG.channelAccessToken);
  small = client(SMALL.channelAccessToken);
  scratch = client(SCRATCH.channelAccessToken);
  bigInsight = new insight.InsightClient({ channelAccessToken: BIG.channelAccessToken, baseURL: sandbox.url });
  smallInsight = new insight.InsightClient({ channelAccessToken: SMALL.channelAccessToken, baseURL: sandbox.url });
  bigFriends = await allFollowers(big);
});

afterAll(async () => {
  await sandbox?.close();
});

describe('sandbox Messaging API', () => {
  it('pages follower IDs with a continuation token and answers profiles of friends only', async () => {
    expect(bigFriends.length).toBeGreaterThan(1000);
    expect(new Set(bigFriends).size).toBe(bigFriends.length);
    const first = await big.getFollowers(undefined, 10);
    expect(first.userIds).toEqual(bigFriends.slice(0, 10));
    expect(first.next).toBeTypeOf('string');
    const second = await big.getFollowers(first.next, 10);
    expect(second.userIds).toEqual(bigFriends.slice(10, 20));

    const tooMany = await lineFailure(big.getFollowers(undefined, 1001));
    expect(tooMany.status).toBe(400);
    expect(tooMany.json.details[0].property).toBe('limit');

    const profile = await big.getProfile(bigFriends[0]!);
    expect(profile.userId).toBe(bigFriends[0]);
    expect(profile.displayName).toBeTruthy();
    const stranger = await lineFailure(big.getProfile(`U${'f'.repeat(32)}`));
    expect(stranger.status).toBe(404);
    expect(stranger.json).toEqual({ message: 'Not found' });
  });

  it('answers bot info, quota and consumption', async () => {
    const info = await big.getBotInfo();
    expect(info.userId).toBe(BIG.botUserId);
    expect(info.displayName).toBe('大きな町');
    expect(await big.getMessageQuota()).toEqual({ type: 'none' });
    expect((await big.getMessageQuotaConsumption()).totalUsage).toBeTypeOf('number');
  });

  it('accepts a valid multicast and counts each recipient’s receipt once', async () => {
    const to = bigFriends.slice(0, 500);
    const before = await big.getMessageQuotaConsumption();
    const res = await big.multicastWithHttpInfo({ to, messages: [text('健康マイレージのお知らせ')] });
    expect(res.body).toEqual({});
    const requestId = res.httpResponse.headers.get('x-line-request-id');
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);

    const summary = await hook('GET', `/channels/${BIG.channelId}/receipts`);
    expect(summary).toMatchObject({ totalRecipients: 500, totalReceipts: 500, residentsWithMultipleReceipts: 0 });
    const one = await hook('GET', `/channels/${BIG.channelId}/receipts/${to[123]}`);
    expect(one.count).toBe(1);
    expect(one.receipts).toEqual([expect.objectContaining({ requestId, kind: 'multicast', retryKey: null })]);
    const after = await big.getMessageQuotaConsumption();
    expect(after.totalUsage - before.totalUsage).toBe(500);
  });

  it('rejects 501 recipients with LINE’s error shape', async () => {
    const to = [...bigFriends.slice(0, 500), `U${'e'.repeat(32)}`];
    const err = await lineFailure(big.multicast({ to, messages: [text('x')] }));
    expect(err.status).toBe(400);
    expect(err.json).toEqual({
      message: 'The request body has 1 error(s)',
      details: [{ message: 'Size must be between 1 and 500', property: 'to' }],
    });
    expect(err.headers.get('x-line-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('names each invalid property of a message', async () => {
    const err = await lineFailure(
      big.pushMessage({
        to: bigFriends[0]!,
        messages: [
          { type: 'text' } as never,
          { type: 'image', originalContentUrl: 'not a url' } as never,
          { type: 'bogus' } as never,
        ],
      }),
    );
    expect(err.status).toBe(400);
    expect(err.json.message).toMatch(/^The request body has \d+ error\(s\)$/);
    const properties = err.json.details.map((d: { property: string }) => d.property);
    expect(properties).toEqual(
      expect.arrayContaining([
        'messages[0].text',
        'messages[1].originalContentUrl',
        'messages[1].previewImageUrl',
        'messages[2].type',
      ]),
    );
    const longText = await lineFailure(big.validatePush({ messages: [text('あ'.repeat(5001))] }));
    expect(longText.json.details).toEqual([
      { message: 'Length must be between 0 and 5000', property: 'messages[0].text' },
    ]);
    expect(await big.validateMulticast({ messages: [text('ok')] })).toEqual({});
  });

  it('answers a reused retry key with 409 and the first request id, and sends nothing twice', async () => {
    const key = randomUUID();
    const to = bigFriends.slice(500, 520);
    const first = await big.multicastWithHttpInfo({ to, messages: [text('一回だけ')] }, key);
    const firstId = first.httpResponse.headers.get('x-line-request-id');
    const again = await lineFailure(big.multicast({ to, messages: [text('一回だけ')] }, key.toUpperCase()));
    expect(again.status).toBe(409);
    expect(again.json.message).toBe('The retry key is already accepted');
    expect(again.headers.get('x-line-accepted-request-id')).toBe(firstId);
    const receipts = await hook('GET', `/channels/${BIG.channelId}/receipts/${to[0]}`);
    expect(receipts.count).toBe(1);
    expect(receipts.receipts[0].retryKey).toBe(key);

    // Retry keys are per channel.
    expect(await small.multicast({ to: [`U${'0'.repeat(32)}`], messages: [text('別チャネル')] }, key)).toEqual({});

    // A push retried with the same key repeats its sentMessages in the 409.
    const pushKey = randomUUID();
    const pushed = await big.pushMessage({ to: bigFriends[600]!, messages: [text('push')] }, pushKey);
    const pushAgain = await lineFailure(big.pushMessage({ to: bigFriends[600]!, messages: [text('push')] }, pushKey));
    expect(pushAgain.status).toBe(409);
    expect(pushAgain.json.sentMessages).toEqual(pushed.sentMessages);
  });

  it('rejects a retry key that is not a UUID, or on an endpoint without retry keys', async () => {
    const bad = await lineFailure(big.multicast({ to: [bigFriends[0]!], messages: [text('x')] }, 'not-a-uuid'));
    expect(bad.status).toBe(400);
    expect(bad.json.message).toMatch(/X-Line-Retry-Key/);
    const withKey = client(BIG.channelAccessToken, { 'X-Line-Retry-Key': randomUUID() });
    const unsupported = await lineFailure(withKey.validatePush({ messages: [text('x')] }));
    expect(unsupported.status).toBe(400);
    expect(unsupported.json.message).toMatch(/X-Line-Retry-Key/);
    expect((await hook('GET', `/channels/${BIG.channelId}/receipts/${bigFriends[0]}`)).count).toBe(1);
  });

  it('answers 200 to a push to a resident who is not a friend, without delivering it', async () => {
    const stranger = `U${'d'.repeat(32)}`;
    const res = await big.pushMessage({ to: stranger, messages: [text('届かない')] });
    expect(res.sentMessages).toHaveLength(1);
    expect((await hook('GET', `/channels/${BIG.channelId}/receipts/${stranger}`)).count).toBe(0);
    const invalid = await lineFailure(big.pushMessage({ to: 'someone', messages: [text('x')] }));
    expect(invalid.status).toBe(400);
    expect(invalid.json.message).toBe("The property, 'to', in the request body is invalid (line: -, column: -)");
  });

  it('answers the 201st multicast within one second with 429', async () => {
    await hook('DELETE', '/rate-limits');
    const to = [`U${'0'.repeat(32)}`];
    // Hold the sandbox's clock so all 201 fall in one second however slow this machine is.
    heldAt = Date.now();
    const results = await Promise.allSettled(
      Array.from({ length: 201 }, () => scratch.multicast({ to, messages: [text('rate')] })),
    ).finally(() => (heldAt = undefined));
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(200);
    expect(rejected).toHaveLength(1);
    const err = rejected[0]!.reason as HTTPFetchError;
    expect(err.status).toBe(429);
    expect(JSON.parse(err.body)).toEqual({ message: 'The API rate limit has been exceeded. Try again later.' });
    await hook('DELETE', '/rate-limits');
  });

  it('broadcasts to every friend and narrowcasts through waiting → sending → succeeded', async () => {
    const smallFriends = await allFollowers(small);
    await small.broadcast({ messages: [text('全員へ')] });
    const summary = await hook('GET', `/channels/${SMALL.channelId}/receipts`);
    expect(summary.totalRecipients).toBe(smallFriends.length);

    const res = await big.narrowcastWithHttpInfo({
      messages: [text('女性の方へ')],
      filter: { demographic: { type: 'gender', oneOf: ['female'] } as messagingApi.DemographicFilter },
      limit: { max: 100 },
    });
    expect(res.httpResponse.status).toBe(202);
    const requestId = res.httpResponse.headers.get('x-line-request-id')!;
    const order = ['waiting', 'sending', 'succeeded'];
    const seen: number[] = [];
    let progress: messagingApi.NarrowcastProgressResponse;
    for (;;) {
      progress = await big.getNarrowcastProgress(requestId);
      seen.push(order.indexOf(progress.phase));
      if (progress.phase === 'succeeded' || progress.phase === 'failed') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // Phases only move forward (a fast machine sees 'waiting' first; a busy one may not).
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(progress.phase).toBe('succeeded');
    expect(progress.targetCount).toBe(100);
    expect(progress.successCount).toBe(100);
    expect(progress.completedTime).toBeTypeOf('string');
    const unknown = await lineFailure(big.getNarrowcastProgress(randomUUID()));
    expect(unknown.status).toBe(404);
  });

  it('accepts a reply token once', async () => {
    const token = 'x'.repeat(32);
    const first = await small.replyMessage({ replyToken: token, messages: [text('返信')] }).catch((e) => e);
    if (!(first instanceof HTTPFetchError)) expect(first.sentMessages).toHaveLength(1);
    const again = await lineFailure(small.replyMessage({ replyToken: token, messages: [text('返信')] }));
    expect(again.status).toBe(400);
    expect(JSON.parse(again.body)).toEqual({ message: 'Invalid reply token' });
  });

  it('answers 401 to a missing or wrong access token', async () => {
    const wrong = await lineFailure(client('no-such-token').getBotInfo());
    expect(wrong.status).toBe(401);
    expect(wrong.json.message).toMatch(/^Authentication failed/);
    expect(wrong.headers.get('x-line-request-id')).toBeTruthy();
  });

  it('answers 413 to a body over 2 MB', async () => {
    const err = await lineFailure(big.pushMessage({ to: bigFriends[0]!, messages: [text('a'.repeat(2_200_000))] }));
    expect(err.status).toBe(413);
  });
});

describe('sandbox faults', () => {
  it('a timed-out multicast that was delivered is answered 409 on retry with the same key', async () => {
    const fault = await hook('POST', '/faults', {
      channelId: BIG.channelId,
      endpoint: 'multicast',
      kind: 'timeout',
      durationMs: 10_000,
      count: 1,
      hangMs: 300,
    });
    expect(fault.httpStatus).toBe(201);
    const key = randomUUID();
    const to = bigFriends.slice(700, 710);
    await expect(big.multicast({ to, messages: [text('timeout')] }, key)).rejects.toThrow();
    const retry = await lineFailure(big.multicast({ to, messages: [text('timeout')] }, key));
    expect(retry.status).toBe(409);
    // (The narrowcast above may have reached this resident too: look at this key's receipts.)
    const receipts = await hook('GET', `/channels/${BIG.channelId}/receipts/${to[0]}`);
    const withKey = receipts.receipts.filter((r: { retryKey: string | null }) => r.retryKey === key);
    expect(withKey).toHaveLength(1);
    expect(withKey[0].requestId).toBe(retry.headers.get('x-line-accepted-request-id'));
  });

  it('a 5xx that did not deliver can be retried with the same key', async () => {
    await hook('POST', '/faults', { endpoint: 'push', kind: '5xx', durationMs: 10_000, count: 1 });
    const key = randomUUID();
    const to = bigFriends[800]!;
    const err = await lineFailure(big.pushMessage({ to, messages: [text('5xx')] }, key));
    expect(err.status).toBe(500);
    await big.pushMessage({ to, messages: [text('5xx')] }, key);
    const receipts = await hook('GET', `/channels/${BIG.channelId}/receipts/${to}`);
    expect(receipts.receipts.filter((r: { retryKey: string | null }) => r.retryKey === key)).toHaveLength(1);
  });

  it('an injected 429 answers with LINE’s rate-limit message; faults can be listed and cleared', async () => {
    await hook('POST', '/faults', { channelId: SMALL.channelId, kind: '429', durationMs: 10_000 });
    expect((await hook('GET', '/faults')).faults).toHaveLength(1);
    const err = await lineFailure(small.getBotInfo());
    expect(err.status).toBe(429);
    await hook('DELETE', '/faults');
    expect((await small.getBotInfo()).userId).toBe(SMALL.botUserId);
    const bad = await hook('POST', '/faults', { kind: 'explode', durationMs: 1 });
    expect(bad.httpStatus).toBe(400);
  });
});

describe('sandbox Insight API', () => {
  it('reports followers for today as unready and for yesterday as figures', async () => {
    const now = sandbox.world.now();
    const today = await bigInsight.getNumberOfFollowers(tokyoDate(now));
    expect(today.status).toBe('unready');
    const yesterday = await bigInsight.getNumberOfFollowers(tokyoDate(now - 86_400_000));
    expect(yesterday.status).toBe('ready');
    expect(yesterday.followers).toBeGreaterThan(0);
    expect(yesterday.targetedReaches).toBeTypeOf('number');
    expect(yesterday.blocks).toBeTypeOf('number');
  });

  it('rejects a date not in yyyyMMdd', async () => {
    const err = await lineFailure(bigInsight.getNumberOfFollowers('2025-06-09'));
    expect(err.status).toBe(400);
    expect(err.json.details).toEqual([expect.objectContaining({ property: 'date' })]);
    const impossible = await lineFailure(bigInsight.getNumberOfMessageDeliveries('20250230'));
    expect(impossible.status).toBe(400);
  });

  it('hides interaction counts under 20 (null) for a small broadcast', async () => {
    const res = await small.broadcastWithHttpInfo({ messages: [text('小さな配信'), text('二通目')] });
    const requestId = res.httpResponse.headers.get('x-line-request-id')!;
    await sandbox.world.settle();
    const event = await smallInsight.getMessageEvent(requestId);
    expect(event.overview?.requestId).toBe(requestId);
    expect(event.overview?.delivered).toBeLessThan(20);
    expect(event.overview?.uniqueImpression).toBeNull();
    expect(event.overview?.uniqueClick).toBeNull();
    for (const m of event.messages ?? []) expect(m.impression).toBeNull();
    const unknown = await lineFailure(smallInsight.getMessageEvent(randomUUID()));
    expect(unknown.status).toBe(404);
  });

  it('answers demographics, deliveries and per-unit statistics', async () => {
    const demo = await bigInsight.getFriendsDemographics();
    expect(demo.available).toBeTypeOf('boolean');
    const deliveries = await bigInsight.getNumberOfMessageDeliveries(tokyoDate(sandbox.world.now()));
    expect(deliveries.status).toBe('unready');
    await big.multicast({
      to: bigFriends.slice(900, 930),
      messages: [text('unit')],
      customAggregationUnits: ['kenko_2025'],
    });
    expect((await big.getAggregationUnitNameList()).customAggregationUnits).toContain('kenko_2025');
    expect((await big.getAggregationUnitUsage()).numOfCustomAggregationUnits).toBeGreaterThanOrEqual(1);
    const day = tokyoDate(sandbox.world.now());
    const stats = await bigInsight.getStatisticsPerUnit('kenko_2025', day, day);
    expect(stats.overview).toBeDefined();
    const bad = await lineFailure(bigInsight.getStatisticsPerUnit('bad name!', day, day));
    expect(bad.status).toBe(400);
    expect(bad.json.details[0].property).toBe('customAggregationUnit');
  });
});

describe('sandbox robustness', () => {
  it('survives malformed requests and keeps serving', async () => {
    const raw = (path: string, init: RequestInit = {}) => fetch(sandbox.url + path, init);
    const auth = { authorization: `Bearer ${BIG.channelAccessToken}`, 'content-type': 'application/json' };
    const unknown = await raw('/v2/bot/no/such/thing', { headers: auth });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ message: 'Not found' });
    expect(unknown.headers.get('x-line-request-id')).toBeTruthy();

    const broken = await raw('/v2/bot/message/push', {
      method: 'POST',
      headers: auth,
      body: '{"to": "U1",\n "messages": [',
    });
    expect(broken.status).toBe(400);
    expect((await broken.json()).message).toMatch(
      /^The request body could not be parsed as JSON \(line: \d+, column: \d+\)$/,
    );

    const notJson = await raw('/v2/bot/message/push', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'text/plain' },
      body: 'hi',
    });
    expect(notJson.status).toBe(415);

    const noAuth = await raw('/v2/bot/info');
    expect(noAuth.status).toBe(401);

    for (const body of ['null', '[]', '42', '"x"', '{"messages": null}', '{"to": [], "messages": [{}]}']) {
      const res = await raw('/v2/bot/message/multicast', { method: 'POST', headers: auth, body });
      expect(res.status, body).toBe(400);
    }
    expect((await raw('/v2/bot/profile/%E0%A4%A', { headers: auth })).status).toBe(404);
    expect((await raw('/__sandbox/channels/%E0%A4%A/receipts')).status).toBe(404);
    expect((await raw('/v2/bot/followers/ids?limit=abc', { headers: auth })).status).toBe(400);

    expect((await big.getBotInfo()).userId).toBe(BIG.botUserId);
  });

  it('every response sent during the suite conforms to LINE’s OpenAPI specs', () => {
    const checked = recorded.filter((r) => r.operationId);
    expect(checked.length).toBeGreaterThan(100);
    const problems = checked.flatMap((r) =>
      validateResponse(r.operationId!, r.status, r.body).map((p) => `${r.method} ${r.path} ${r.status}: ${p}`),
    );
    expect(problems).toEqual([]);
    for (const r of recorded) expect(r.headers['x-line-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});
