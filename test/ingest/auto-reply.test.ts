import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSuite, type Suite } from '../../cli/suite.ts';
import { createLogger } from '../../core/logger.ts';
import { addTenants, harness, seedClickHouse, waitFor, type Harness } from '../helpers/index.ts';

// The suite with one tenant wired to the sandbox at real time: a resident sends a message through
// the sandbox, the webhook reaches the suite, and the auto-reply goes back through the reply API.
// The sandbox lays down its year of history fast, then runs at real time: only then are events fresh
// enough to be answered (reply tokens expire about a minute after the event).
const CHANNEL = '2242010000';
let h: Harness;
let suite: Suite;

beforeAll(async () => {
  // the suite opens the engine itself: tenants are written first and the engine closed again
  h = await harness({
    clickhouse: false,
    env: { TAYORI_DEMO_SPEED: '5000000', TAYORI_DEMO_RESIDENT_RATIO: '0.01' },
  });
  await seedClickHouse(h.config, async (_ch, tenants) => {
    await addTenants(tenants, [
      {
        id: '24201',
        name: '津市',
        kind: 'municipality',
        population: 20_000,
        channelId: CHANNEL,
        botUserId: `U${'5'.repeat(32)}`,
        credentials: { channelSecret: 'd'.repeat(32), channelAccessToken: 'tsu-token', lineApi: 'sandbox' },
      },
    ]);
    await tenants.setAutoReply('24201', { text: '津市健康づくり課です。個別のお返事はできません。' });
  });
  suite = await startSuite(h.config, createLogger('silent'));
  h.defer('close the suite', () => suite.close());
  await waitFor(
    async () => suite.sandbox!.world.now() >= Date.now() - 2000,
    60_000,
    'the sandbox to catch up with real time',
  );
});
afterAll(() => h?.close());

const hook = async (path: string, body?: unknown) => {
  const res = await fetch(`${suite.sandbox!.url}/__sandbox${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(res.status, path).toBe(200);
  return res.json() as Promise<Record<string, unknown>>;
};

describe('automatic reply to a resident who sends a message', () => {
  it("replies once a day through the reply API, with the tenant's text, and stores no text", async () => {
    expect(suite.sandbox).toBeDefined();
    const picked = (await hook(`/channels/${CHANNEL}/residents?friends=1`, {})) as { friends: string[] };
    const userId = picked.friends[0]!;
    const replies = async () =>
      Number(((await hook(`/channels/${CHANNEL}/receipts/${userId}`)) as { count: number }).count);
    const before = await replies();

    await hook(`/channels/${CHANNEL}/residents/${userId}/actions`, { type: 'message', text: '今日の歩数は何歩ですか' });
    await waitFor(async () => (await replies()) === before + 1, 30_000, 'the automatic reply');
    const reqs = (await hook(`/requests?channelId=${CHANNEL}&limit=5`)) as {
      requests?: Array<Record<string, unknown>>;
    };
    expect(JSON.stringify(reqs)).toContain('reply');

    // a second message the same day: stored, but no second reply
    await new Promise((r) => setTimeout(r, 200));
    await hook(`/channels/${CHANNEL}/residents/${userId}/actions`, { type: 'message', text: 'もう一度' });
    const stored = async () => {
      const rs = await suite.ch.query({
        query: "SELECT count() AS c FROM raw_webhook_events FINAL WHERE type = 'message' AND user_id = {u:String}",
        query_params: { u: userId },
        format: 'JSONEachRow',
      });
      return Number((await rs.json<{ c: string }>())[0]!.c);
    };
    await waitFor(async () => (await stored()) === 2, 30_000, 'both messages stored');
    await new Promise((r) => setTimeout(r, 300));
    expect(await replies()).toBe(before + 1);

    const text = await suite.ch.query({
      query: "SELECT count() AS c FROM raw_webhook_events WHERE position(toString(tuple(*)), '歩数') > 0",
      format: 'JSONEachRow',
    });
    expect(Number((await text.json<{ c: string }>())[0]!.c)).toBe(0);
  });
});
