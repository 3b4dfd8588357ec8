import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '../core/clickhouse.ts';
import { migrate } from '../core/migrations.ts';
import { chDateTime } from '../core/time.ts';
import { ResidentStore } from '../delivery/residents.ts';
import { freshClickHouse, tmpDir } from './helpers/index.ts';

// Residents' follow state is written by an ingest handler after the webhook is acknowledged; on
// start, delivery replays the last day's stored follows and blocks so a crash in between loses nothing.
const tmp = tmpDir();
let ch: ClickHouseClient;
let residents: ResidentStore;
beforeAll(async () => {
  ch = await freshClickHouse(tmp.dir);
  await migrate(ch);
  residents = new ResidentStore(ch);
});
afterAll(async () => {
  await residents?.close();
  await ch?.close();
  tmp.remove();
});

const T = '24201';
const now = Date.now();
const event = (user: string, type: string, at: number, receivedAt = at) => ({
  tenant_id: T,
  day: new Date(at + 9 * 3600_000).toISOString().slice(0, 10),
  type,
  webhook_event_id: `ev-${user}-${type}-${at}`,
  ts: chDateTime(at),
  mode: 'active',
  source_type: 'user',
  user_id: user,
  group_id: '',
  is_redelivery: 0,
  is_unblocked: 0,
  postback_data: '',
  message_type: '',
  received_at: chDateTime(receivedAt),
});

async function states(): Promise<Record<string, number>> {
  const rs = await ch.query({
    query: 'SELECT user_id, is_friend FROM resident_states FINAL WHERE tenant_id = {t:String} ORDER BY user_id',
    query_params: { t: T },
    format: 'JSONEachRow',
  });
  return Object.fromEntries(
    (await rs.json<{ user_id: string; is_friend: number }>()).map((r) => [r.user_id, Number(r.is_friend)]),
  );
}

describe('resident follow state replayed from stored webhooks', () => {
  it('catches up on follows and blocks the handler never saw, idempotently, latest event winning', async () => {
    // handled before the crash: Ua followed (the handler wrote it)
    await residents.recordFollow(T, 'Ua', true, now - 60_000);
    await ch.insert({
      table: 'raw_webhook_events',
      format: 'JSONEachRow',
      values: [
        event('Ua', 'follow', now - 60_000),
        // stored and acknowledged, but the process died before its handlers ran
        event('Ub', 'follow', now - 50_000),
        event('Uc', 'follow', now - 40_000),
        event('Uc', 'unfollow', now - 30_000),
        // a redelivered older follow arriving after the block must not win
        event('Ud', 'unfollow', now - 20_000),
        event('Ud', 'follow', now - 25_000, now - 10_000),
        // received two days ago: outside the replay window (its state was written long since)
        event('Ue', 'follow', now - 2 * 86_400_000),
        // a group's event has no resident
        { ...event('', 'follow', now - 5_000), source_type: 'group', group_id: 'G1' },
      ],
    });
    expect(await states()).toEqual({ Ua: 1 });

    await residents.replayFromWebhooks(now - 86_400_000);
    expect(await states()).toEqual({ Ua: 1, Ub: 1, Uc: 0, Ud: 0 });

    // a second replay (another restart) changes nothing, and the handler's own row stays one row
    await residents.replayFromWebhooks(now - 86_400_000);
    expect(await states()).toEqual({ Ua: 1, Ub: 1, Uc: 0, Ud: 0 });
    const rs = await ch.query({
      query: "SELECT count() AS n FROM resident_states FINAL WHERE user_id = 'Ua'",
      format: 'JSONEachRow',
    });
    expect(Number((await rs.json<{ n: string }>())[0]!.n)).toBe(1);
  });
});
