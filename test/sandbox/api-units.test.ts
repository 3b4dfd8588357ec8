/**
 * Pieces of the sandbox's HTTP layer in isolation, with fake clocks: rate-limit windows, retry
 * keys, receipts, faults, request validation against the OpenAPI specs, config file errors.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RateLimiter, SlidingWindow, ruleFor } from '../../sandbox/api/rate-limit.ts';
import { RetryKeyStore, isValidRetryKey } from '../../sandbox/api/retry-keys.ts';
import { ReceiptBook, ResidentIndex } from '../../sandbox/api/receipts.ts';
import { FaultBoard } from '../../sandbox/api/faults.ts';
import { lineProperty, validateQuery, validateRequest, validateResponse } from '../../sandbox/openapi.ts';
import { loadSandboxConfigFile, SandboxConfigError } from '../../sandbox/index.ts';
import {
  rateLimitsSchema,
  sandboxConfigSchema,
  type ChannelWorld,
  type DeliveryNotice,
  type World,
} from '../../sandbox/world.ts';
import { SandboxState } from '../../sandbox/api/context.ts';
import { parseMulticastFast } from '../../sandbox/api/fast-multicast.ts';

const userId = (n: number) => `U${n.toString(16).padStart(32, '0')}`;

describe('rate limits', () => {
  it('allows exactly `limit` requests in any window and frees slots as they age out', () => {
    const w = new SlidingWindow({ limit: 3, windowMs: 1000 });
    expect([0, 10, 20].map((t) => w.tryTake(t))).toEqual([true, true, true]);
    expect(w.tryTake(999)).toBe(false);
    expect(w.tryTake(1000)).toBe(true); // the request at 0 has left the window
    expect(w.tryTake(1005)).toBe(false);
    expect(w.tryTake(1010)).toBe(true);
  });

  it('uses LINE’s limits per channel and endpoint', () => {
    const limits = rateLimitsSchema.parse({});
    expect(ruleFor('multicast', limits)).toEqual({ limit: 200, windowMs: 1000 });
    expect(ruleFor('broadcast', limits)).toEqual({ limit: 60, windowMs: 3_600_000 });
    expect(ruleFor('getNumberOfFollowers', limits)).toEqual({ limit: 60, windowMs: 3_600_000 });
    expect(ruleFor('pushMessage', limits)).toEqual({ limit: 2000, windowMs: 1000 });
    let now = 0;
    const limiter = new RateLimiter(limits, () => now);
    for (let i = 0; i < 200; i++) expect(limiter.allow('a', 'multicast')).toBe(true);
    expect(limiter.allow('a', 'multicast')).toBe(false);
    expect(limiter.allow('b', 'multicast')).toBe(true);
    expect(limiter.allow('a', 'pushMessage')).toBe(true);
    now = 1000;
    expect(limiter.allow('a', 'multicast')).toBe(true);
  });
});

describe('retry keys', () => {
  it('accepts hexadecimal UUIDs only', () => {
    expect(isValidRetryKey('123e4567-e89b-12d3-a456-426614174000')).toBe(true);
    expect(isValidRetryKey('123E4567-E89B-12D3-A456-426614174000')).toBe(true);
    expect(isValidRetryKey('123e4567e89b12d3a456426614174000')).toBe(false);
    expect(isValidRetryKey('')).toBe(false);
  });

  it('remembers an accepted key per channel for 24 hours', () => {
    let now = 0;
    const store = new RetryKeyStore(() => now);
    const key = '123e4567-e89b-12d3-a456-426614174000';
    store.remember('ch1', key, { requestId: 'r1' });
    expect(store.find('ch1', key.toUpperCase())?.requestId).toBe('r1');
    expect(store.find('ch2', key)).toBeUndefined();
    now = 24 * 3_600_000 - 1;
    expect(store.find('ch1', key)).toBeDefined();
    now = 24 * 3_600_000;
    expect(store.find('ch1', key)).toBeUndefined();
  });
});

describe('receipts', () => {
  it('interns LINE user IDs compactly and maps indexes back', () => {
    const index = new ResidentIndex();
    const n = 50_000;
    for (let i = 0; i < n; i++) expect(index.intern(userId(i * 7919))).toBe(i);
    expect(index.intern('not-a-line-id')).toBe(n);
    for (let i = 0; i < n; i += 997) {
      expect(index.find(userId(i * 7919))).toBe(i);
      expect(index.userId(i)).toBe(userId(i * 7919));
    }
    expect(index.find(userId(1))).toBe(-1);
    expect(index.userId(n)).toBe('not-a-line-id');
    expect(index.intern(userId(0))).toBe(0);
  });

  it('counts receipts, distinct recipients and residents with more than one', () => {
    const book = new ReceiptBook('ch');
    const indexes = (ids: string[]) => Int32Array.from(ids, (id) => book.index.intern(id));
    const base = { kind: 'multicast' as const, acceptedAt: 0, simulatedAt: 0, messageCount: 1 };
    book.record({ ...base, requestId: 'r1' }, indexes([userId(1), userId(2)]));
    book.record({ ...base, requestId: 'r2', retryKey: 'k' }, indexes([userId(2), userId(3)]));
    expect(book.summary()).toEqual({
      channelId: 'ch',
      totalRecipients: 3,
      totalReceipts: 4,
      residentsWithMultipleReceipts: 1,
      acceptedRequests: 2,
    });
    expect(book.duplicates(10)).toEqual([{ userId: userId(2), count: 2 }]);
    const two = book.forResident(userId(2));
    expect(two.count).toBe(2);
    expect(two.receipts.map((r) => [r.requestId, r.retryKey])).toEqual([
      ['r1', null],
      ['r2', 'k'],
    ]);
    expect(book.forResident(userId(9)).count).toBe(0);
    expect(book.recipientsOf('r2')).toEqual([userId(2), userId(3)]);
  });

  it('bounds the per-request lists but keeps every receipt counted', () => {
    const book = new ReceiptBook('ch', undefined, 5);
    const indexes = (ids: string[]) => Int32Array.from(ids, (id) => book.index.intern(id));
    const base = { kind: 'multicast' as const, acceptedAt: 0, simulatedAt: 0, messageCount: 1 };
    for (let r = 0; r < 4; r++) book.record({ ...base, requestId: `r${r}` }, indexes([userId(1), userId(2 + r)]));
    // 8 listed indexes over a bound of 5: the two oldest lists are dropped.
    expect(book.accepted().map((r) => [r.recipientCount, r.recipients.length])).toEqual([
      [2, 0],
      [2, 0],
      [2, 2],
      [2, 2],
    ]);
    expect(book.summary()).toMatchObject({ totalReceipts: 8, acceptedRequests: 4 });
    const one = book.forResident(userId(1));
    expect(one.count).toBe(4);
    expect(one.receipts.map((r) => r.requestId)).toEqual(['r2', 'r3']);
    expect(one.unlisted).toBe(2);
    expect(book.recipientsOf('r0')).toBeUndefined();
    expect(book.recipientsOf('r3')).toEqual([userId(1), userId(5)]);
    // The newest request keeps its list even when it alone is over the bound.
    book.record({ ...base, requestId: 'big' }, indexes([6, 7, 8, 9, 10, 11].map(userId)));
    expect(book.recipientsOf('big')).toHaveLength(6);
  });
});

describe('delivery to friends', () => {
  /** A minimal explicit channel: residents 0..9, the even ones are friends. */
  function channelWorld(withIndexes: boolean, notices: DeliveryNotice[]): ChannelWorld {
    const ids = Array.from({ length: 10 }, (_, i) => userId(1000 + i));
    const friend = (i: number) => i >= 0 && i % 2 === 0;
    const base = {
      config: {
        channelId: 'c',
        botUserId: userId(1),
        channelSecret: 's',
        channelAccessToken: 't',
      } as ChannelWorld['config'],
      followerIds: () => ids.filter((_, i) => friend(i)),
      isFriend: (id: string) => friend(ids.indexOf(id)),
      profile: () => undefined,
      recordDelivery: (n: DeliveryNotice) => void notices.push(n),
      followersInsight: () => ({ status: 'unready' as const }),
      messageDeliveriesInsight: () => ({}),
      demographicInsight: () => ({}),
      messageEventInsight: () => undefined,
      aggregationUnitInsight: () => ({}),
      aggregationUnitsThisMonth: () => [],
    };
    if (!withIndexes) return base;
    return {
      ...base,
      residentIndex: (id: string) => ids.indexOf(id),
      isFriendAt: friend,
      userIdAt: (i: number) => ids[i]!,
    };
  }

  for (const withIndexes of [false, true]) {
    it(`keeps friends once each and tells the world (${withIndexes ? 'world indexes' : 'own index'})`, () => {
      const notices: DeliveryNotice[] = [];
      const channel = channelWorld(withIndexes, notices);
      const world = { now: () => 0, channels: () => [channel], byChannelId: () => channel } as unknown as World;
      const config = sandboxConfigSchema.parse({ channels: [channel.config] });
      const state = new SandboxState(world, config);
      const to = [userId(1000), userId(1001), userId(1002), userId(1000), userId(5)];
      state.deliver(channel, { requestId: 'r1', kind: 'multicast', messages: [{}] }, to);
      state.deliver(channel, { requestId: 'r2', kind: 'broadcast', messages: [{}] }, channel.followerIds(), true);
      expect(notices[0]!.recipients).toEqual([userId(1000), userId(1002)]);
      expect(notices[0]!.recipientIndexes ? Array.from(notices[0]!.recipientIndexes) : undefined).toEqual(
        withIndexes ? [0, 2] : undefined,
      );
      expect(notices[1]!.recipients).toHaveLength(5);
      expect(state.book('c').summary()).toMatchObject({
        totalRecipients: 5,
        totalReceipts: 7,
        residentsWithMultipleReceipts: 2,
      });
      expect(
        state
          .book('c')
          .forResident(userId(1002))
          .receipts.map((r) => r.requestId),
      ).toEqual(['r1', 'r2']);
      expect(state.usageThisMonth('c')).toBe(7);
    });
  }
});

describe('faults', () => {
  it('matches by channel and endpoint, runs out after `count` and after its window', () => {
    let now = 0;
    const board = new FaultBoard(() => now);
    board.add({ channelId: 'a', endpoint: 'multicast', kind: '5xx', durationMs: 1000, count: 2 });
    expect(board.match('b', 'multicast')).toBeUndefined();
    expect(board.match('a', 'pushMessage')).toBeUndefined();
    expect(board.match('a', 'multicast')?.status).toBe(500);
    expect(board.match('a', 'multicast')?.delivered).toBe(false);
    expect(board.match('a', 'multicast')).toBeUndefined();
    board.add({ endpoint: 'insight', kind: 'timeout', durationMs: 1000 });
    expect(board.match('x', 'getNumberOfFollowers')?.delivered).toBe(true);
    now = 1000;
    expect(board.match('x', 'getNumberOfFollowers')).toBeUndefined();
    expect(() => board.add({ kind: 'boom', durationMs: 1 })).toThrow();
  });
});

describe('OpenAPI validation', () => {
  it('turns ajv paths into LINE property names', () => {
    expect(lineProperty('/messages/0/text')).toBe('messages[0].text');
    expect(lineProperty('/to')).toBe('to');
    expect(lineProperty('', 'messages')).toBe('messages');
    expect(lineProperty('/messages/2/contents/body/contents/0', 'type')).toBe(
      'messages[2].contents.body.contents[0].type',
    );
  });

  it('dispatches message objects on `type` to the mapped schema', () => {
    expect(
      validateRequest('pushMessage', {
        to: userId(1),
        messages: [{ type: 'sticker', packageId: '1', stickerId: '2' }],
      }),
    ).toEqual([]);
    expect(validateRequest('pushMessage', { to: userId(1), messages: [{ type: 'sticker', packageId: '1' }] })).toEqual([
      { message: 'must be specified', property: 'messages[0].stickerId' },
    ]);
    const flex = {
      type: 'flex',
      altText: 'x',
      contents: { type: 'bubble', body: { type: 'box', layout: 'diagonal', contents: [] } },
    };
    const details = validateRequest('broadcast', { messages: [flex] });
    expect(details).toEqual([expect.objectContaining({ property: 'messages[0].contents.body.layout' })]);
    expect(
      validateRequest('narrowcast', {
        messages: [{ type: 'text', text: 'x' }],
        filter: { demographic: { type: 'age', gte: 'age_99' } },
      }),
    ).toEqual([expect.objectContaining({ property: 'filter.demographic.gte' })]);
  });

  it('validates and coerces query parameters', () => {
    const q: Record<string, unknown> = { limit: '10' };
    expect(validateQuery('getFollowers', q)).toEqual([]);
    expect(q.limit).toBe(10);
    expect(validateQuery('getNumberOfMessageDeliveries', {})).toEqual([
      { message: 'must be specified', property: 'date' },
    ]);
  });

  it('checks responses, with ErrorResponse for undocumented error statuses', () => {
    expect(validateResponse('getNumberOfFollowers', 200, { status: 'ready', followers: 1 })).toEqual([]);
    expect(validateResponse('getNumberOfFollowers', 200, { status: 'maybe' })).toHaveLength(1);
    expect(validateResponse('multicast', 401, { message: 'x' })).toEqual([]);
    expect(validateResponse('multicast', 401, { details: [] })).toHaveLength(1);
  });
});

describe('sandbox config files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tayori-sandbox-config-'));

  it('loads JSON and YAML', () => {
    const channel = { channelId: '1', botUserId: `U${'a'.repeat(32)}`, channelSecret: 's', channelAccessToken: 't' };
    writeFileSync(join(dir, 'ok.json'), JSON.stringify({ channels: [channel] }));
    expect(loadSandboxConfigFile(join(dir, 'ok.json')).rateLimits.multicastPerSecond).toBe(200);
    writeFileSync(
      join(dir, 'ok.yaml'),
      `channels:\n  - channelId: "1"\n    botUserId: U${'a'.repeat(32)}\n    channelSecret: s\n    channelAccessToken: t\n`,
    );
    expect(loadSandboxConfigFile(join(dir, 'ok.yaml')).channels[0]!.residents.count).toBe(1000);
  });

  it('names the file and the bad field', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify({
        channels: [{ channelId: '1', botUserId: 'nope', channelSecret: 's', channelAccessToken: 't' }],
      }),
    );
    expect(() => loadSandboxConfigFile(file)).toThrow(SandboxConfigError);
    expect(() => loadSandboxConfigFile(file)).toThrow(/bad\.json.*channels\.0\.botUserId/);
    writeFileSync(join(dir, 'broken.json'), '{');
    expect(() => loadSandboxConfigFile(join(dir, 'broken.json'))).toThrow(/broken\.json: not valid JSON/);
    expect(() => loadSandboxConfigFile(join(dir, 'missing.json'))).toThrow(/missing\.json: cannot read/);
  });
});

describe('multicast fast path', () => {
  // Residents are the IDs userId(0 … 99); any other well-formed ID is a stranger.
  const indexOf = (bytes: Uint8Array, offset: number) => {
    const id = Buffer.from(bytes.buffer, bytes.byteOffset + offset, 33).toString('latin1');
    const n = /^U[0-9a-f]{32}$/.test(id) ? parseInt(id.slice(1), 16) : -1;
    return n >= 0 && n < 100 ? n : -1;
  };
  const messages = [{ type: 'text', text: 'お知らせ' }];
  const fast = (text: string) => parseMulticastFast(Buffer.from(text, 'utf8'), { residentIndexOfBytes: indexOf });

  it('reads the IDs of the usual body into indexes and leaves the rest parsed', () => {
    const body = {
      to: [userId(3), userId(7), userId(3)],
      messages,
      notificationDisabled: true,
      customAggregationUnits: ['u1'],
    };
    const got = fast(JSON.stringify(body))!;
    expect(Array.from(got.indexes)).toEqual([3, 7, 3]);
    expect(got.body).toEqual({ messages, notificationDisabled: true, customAggregationUnits: ['u1'] });
    expect(Array.from(fast(JSON.stringify({ to: [userId(1)], messages }))!.indexes)).toEqual([1]);
    const many = fast(JSON.stringify({ to: Array.from({ length: 500 }, (_, i) => userId(i % 100)), messages }))!;
    expect(many.indexes.length).toBe(500);
  });

  it('leaves every other body to the general path (which parses it and reports LINE’s errors)', () => {
    const to = [userId(1), userId(2)];
    for (const text of [
      JSON.stringify({ messages, to }), // another key order
      JSON.stringify({ to, messages }, null, 1), // whitespace
      `{"to":["\\u0055${userId(1).slice(1)}"],"messages":${JSON.stringify(messages)}}`, // an escape
      JSON.stringify({ to: [userId(1), userId(100)], messages }), // a stranger
      JSON.stringify({ to: [userId(1), 'U123'], messages }), // malformed
      JSON.stringify({ to: [userId(10).toUpperCase()], messages }), // U…00A: upper-case hex
      JSON.stringify({ to: Array.from({ length: 501 }, (_, i) => userId(i % 100)), messages }), // too many
      `{"to":${JSON.stringify(to)},"messages":${JSON.stringify(messages)},"to":["${userId(5)}"]}`, // duplicate key
      `{"to":${JSON.stringify(to)},}`, // trailing comma
      `{"to":${JSON.stringify(to)},"messages":${JSON.stringify(messages)}}x`, // trailing garbage
      `{"to":${JSON.stringify(to)}}`, // no messages
      JSON.stringify({ to, messages: [{ type: 'text' }] }), // schema error in the rest
      JSON.stringify({ to, messages: [] }),
      JSON.stringify({ to: [], messages }),
      `{"to":["${userId(1)}"`,
    ]) {
      expect(fast(text), text).toBeUndefined();
    }
    // Trailing whitespace is still JSON, and the same body.
    expect(fast(`${JSON.stringify({ to, messages })}\n`)?.body).toEqual({ messages });
  });
});
