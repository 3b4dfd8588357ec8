import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryHabits, seedDemoDeliveries } from '../../cli/demo-deliveries.ts';
import { sandboxConfigFor } from '../../cli/demo-sandbox.ts';
import { readMunicipalities, seedDemoTenants } from '../../cli/demo-seed.ts';
import { addDays, tokyoToday } from '../../core/time.ts';
import { createWorld, type SandboxWorld } from '../../sandbox/residents/index.ts';
import { harness, type Harness } from '../helpers/index.ts';

// The demo's year of deliveries written straight into the store of record, against a sandbox world
// that has simulated its year (a fake clock: only advanceBy moves it).
let h: Harness;
let world: SandboxWorld;
const CODES = ['24000', '24201', '24202'];

beforeAll(async () => {
  h = await harness({ clickhouse: true });
  await seedDemoTenants(
    h.tenants,
    readMunicipalities().filter((r) => CODES.includes(r.code)),
  );
  const config = await sandboxConfigFor(h.tenants, { ...h.config, demo: { ...h.config.demo, residentRatio: 0.01 } });
  const realNow = Date.now();
  world = createWorld(config!, { now: () => realNow });
  await world.advanceBy(realNow - world.now());
}, 240_000);

afterAll(async () => {
  await world?.stop();
  await h?.close();
});

const rows = async <T>(query: string) => (await (await h.ch.query({ query, format: 'JSONEachRow' })).json()) as T[];

describe('the demo’s year of deliveries', () => {
  it('writes each municipality’s deliveries, LINE’s figures and clicks once, consistent with the sandbox’s friends', async () => {
    const first = await seedDemoDeliveries(h.ch, h.tenants, world, world.clock.startedAt);
    expect(first.tenants).toBe(2); // the municipalities, not the prefecture's account
    expect(first.deliveries).toBeGreaterThan(2 * 12 * 2);
    expect(first.clicks).toBeGreaterThan(0);
    const count = async () =>
      rows<{ t: string; n: string }>(
        `SELECT t, n FROM (SELECT 'deliveries' AS t, toString(count()) AS n FROM deliveries FINAL
         UNION ALL SELECT 'stats' AS t, toString(count()) AS n FROM insight_message_stats
         UNION ALL SELECT 'tracked' AS t, toString(count()) AS n FROM insight_tracked_deliveries FINAL
         UNION ALL SELECT 'clicks' AS t, toString(count()) AS n FROM delivery_clicks) ORDER BY t`,
      );
    const before = await count();
    expect(before.find((r) => r.t === 'deliveries')!.n).toBe(String(first.deliveries));
    expect(before.find((r) => r.t === 'stats')!.n).toBe(String(first.deliveries));
    expect(before.find((r) => r.t === 'clicks')!.n).toBe(String(first.clicks));
    // a second run (a restarted demo) adds nothing
    const again = await seedDemoDeliveries(h.ch, h.tenants, world, world.clock.startedAt);
    expect(again).toEqual({ tenants: 0, deliveries: 0, clicks: 0 });
    expect(await count()).toEqual(before);

    // the Insight pollers have nothing left to fetch for them (their last fetch is at the window's end)
    const open = await rows<{ n: string }>(
      `SELECT count() AS n FROM (SELECT tenant_id, key, track_until FROM insight_tracked_deliveries FINAL) AS t
       LEFT JOIN (SELECT tenant_id, key, max(fetched_at) AS last FROM insight_message_stats GROUP BY tenant_id, key) AS s
       ON t.tenant_id = s.tenant_id AND t.key = s.key
       WHERE s.last < t.track_until OR t.track_until > now64(3)`,
    );
    expect(Number(open[0]!.n)).toBe(0);
    // recipients: the sandbox's friends of the day (all friends) or fewer (a segment)
    const sent = await rows<{ tenant_id: string; day: string; accepted: number; seg: number; type: string }>(
      `SELECT tenant_id, toString(toDate(started_at, 'Asia/Tokyo')) AS day, accepted,
              toUInt8(JSONExtractString(audience, 'type') = 'segment') AS seg,
              JSONExtractString(JSONExtractArrayRaw(messages)[1], 'type') AS type
       FROM deliveries FINAL ORDER BY tenant_id, started_at`,
    );
    const tenants = await h.tenants.list();
    for (const d of sent) {
      const w = world.byChannelId(tenants.find((t) => t.id === d.tenant_id)!.channelId)!;
      const friends = w.followersInsight(d.day.replaceAll('-', '')).followers!;
      if (d.seg) expect(d.accepted).toBeLessThan(friends);
      else expect(d.accepted).toBe(friends);
    }
    expect(new Set(sent.map((d) => d.type))).toEqual(new Set(['text', 'image', 'flex', 'video']));
    expect(sent.every((d) => d.day <= tokyoToday())).toBe(true);
    // 2–6 a month for each municipality (whole months)
    const perMonth = await rows<{ tenant_id: string; m: string; n: string }>(
      `SELECT tenant_id, toString(toStartOfMonth(started_at, 'Asia/Tokyo')) AS m, count() AS n FROM deliveries FINAL
       GROUP BY tenant_id, m ORDER BY m`,
    );
    const months = [...new Set(perMonth.map((r) => r.m))].slice(1, -1);
    for (const r of perMonth.filter((r) => months.includes(r.m))) {
      // weekly senders 4–6, the others 2–3
      const [lo, hi] = deliveryHabits(r.tenant_id).weekly ? [4, 6] : [2, 3];
      expect(Number(r.n), `${r.tenant_id} ${r.m}`).toBeGreaterThanOrEqual(lo);
      expect(Number(r.n), `${r.tenant_id} ${r.m}`).toBeLessThanOrEqual(hi);
    }
    // the sandbox's residents block after the deliveries: more net blocks in the three days from a sending day
    const tsu = world.byChannelId(tenants.find((t) => t.id === '24201')!.channelId)!;
    const sendDays = new Set(sent.filter((d) => d.tenant_id === '24201').map((d) => d.day));
    const after: number[] = [];
    const other: number[] = [];
    const start = tokyoToday(world.clock.startedAt);
    for (let d = addDays(start, 1); d < addDays(tokyoToday(), -1); d = addDays(d, 1)) {
      const blocks = (day: string) => tsu.followersInsight(day.replaceAll('-', '')).blocks!;
      const net = blocks(d) - blocks(addDays(d, -1));
      ([0, 1, 2].some((k) => sendDays.has(addDays(d, -k))) ? after : other).push(net);
    }
    const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
    expect(after.length).toBeGreaterThan(30);
    expect(other.length).toBeGreaterThan(30);
    expect(mean(after)).toBeGreaterThan(1.5 * mean(other));
    // evening deliveries opened about twice as often as morning ones (津市 and 四日市市 pooled)
    const byTime = await rows<{ evening: number; rate: number }>(
      `SELECT toUInt8(toHour(d.started_at, 'Asia/Tokyo') >= 19) AS evening, sum(s.ui) / sum(d.accepted) AS rate
       FROM (SELECT tenant_id, aggregation_unit, started_at, accepted FROM deliveries FINAL) AS d
       JOIN (SELECT tenant_id, key, any(unique_impression) AS ui FROM insight_message_stats
             WHERE unique_impression IS NOT NULL GROUP BY tenant_id, key) AS s
       ON d.tenant_id = s.tenant_id AND d.aggregation_unit = s.key
       GROUP BY evening ORDER BY evening`,
    );
    expect(byTime).toHaveLength(2);
    const ratio = byTime[1]!.rate / byTime[0]!.rate;
    expect(ratio).toBeGreaterThan(1.6);
    expect(ratio).toBeLessThan(2.6);
  }, 120_000);
});
