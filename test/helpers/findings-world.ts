/**
 * Small worlds whose findings are known, written straight into the tables the findings read:
 * delivery records, LINE's tracked deliveries and statistics, block (unfollow) events, follows.
 * Randomness is seeded, so a world is the same on every run.
 */
import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '../../core/clickhouse.ts';

export interface WorldDelivery {
  tenantId: string;
  /** Sending time (UTC ms). */
  at: number;
  recipients: number;
  openRate: number;
  clickRate?: number;
  /** Blocks to place in the day after sending. */
  blocks?: number;
  type?: 'text' | 'image' | 'flex' | 'video';
  text?: string;
  link?: boolean;
  segment?: boolean;
  interests?: string[];
  title?: string;
}

/** mulberry32 */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A binomial draw (normal approximation, clamped). */
export function binomial(r: () => number, n: number, p: number): number {
  const u = Math.max(1e-12, r());
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
  return Math.max(0, Math.min(n, Math.round(n * p + z * Math.sqrt(n * p * (1 - p)))));
}

const dt = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
const tokyoDay = (ms: number) => new Date(ms + 9 * 3_600_000).toISOString().slice(0, 10);

/** Tokyo wall-clock time → UTC ms. */
export const tokyo = (day: string, hour: number, minute = 0) =>
  Date.parse(`${day}T${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}:00+09:00`);

export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
}

/** Writes the deliveries (records, tracking, LINE's statistics) and their blocks; returns the delivery ids. */
export async function writeDeliveries(ch: ClickHouseClient, ds: readonly WorldDelivery[], seed = 1): Promise<string[]> {
  const r = rng(seed);
  const tracked: unknown[] = [];
  const stats: unknown[] = [];
  const records: unknown[] = [];
  const events: unknown[] = [];
  const ids: string[] = [];
  for (const [i, d] of ds.entries()) {
    const key = `u${seed}_${i}`;
    const id = randomUUID();
    ids.push(id);
    // a delivery's own jitter (residents of one delivery move together) on top of the binomial
    const jitter = 1 + (r() - 0.5) * 0.1;
    const opens = binomial(r, d.recipients, Math.min(0.99, d.openRate * jitter));
    const clicks = binomial(r, d.recipients, Math.min(0.99, (d.clickRate ?? d.openRate / 5) * jitter));
    tracked.push({
      tenant_id: d.tenantId,
      kind: 'aggregation_unit',
      key,
      sent_at: dt(d.at),
      track_until: dt(d.at + 14 * 86_400_000),
      registered_at: dt(d.at),
      version: 1,
      is_deleted: 0,
    });
    stats.push({
      tenant_id: d.tenantId,
      kind: 'aggregation_unit',
      key,
      sent_at: dt(d.at),
      fetched_at: dt(d.at + 3 * 86_400_000),
      status: 'ready',
      delivered: null,
      unique_impression: opens,
      unique_click: d.link === false ? null : clicks,
      messages: [],
      clicks: [],
      response: '{}',
    });
    const type = d.type ?? 'text';
    const text = d.text ?? 'お知らせです。';
    const messages = [
      type === 'text'
        ? { type: 'text', text: d.link === false ? text : `${text} https://example.jp/` }
        : type === 'image'
          ? {
              type: 'image',
              originalContentUrl: 'https://example.jp/a.png',
              previewImageUrl: 'https://example.jp/a.png',
            }
          : { type, altText: text },
    ];
    const audience = d.segment
      ? {
          type: 'segment',
          condition: d.interests?.length
            ? { attr: 'interests', op: 'in', values: d.interests }
            : { attr: 'gender', op: 'in', values: ['female'] },
        }
      : { type: 'all' };
    records.push({
      tenant_id: d.tenantId,
      delivery_id: id,
      kind: 'normal',
      title: d.title ?? `配信 ${i + 1}`,
      messages: JSON.stringify(messages),
      links: d.link === false || type !== 'text' ? [] : ['https://example.jp/'],
      audience: JSON.stringify(audience),
      audience_label: d.segment ? 'セグメント' : 'すべての友だち',
      send_method: 'multicast',
      notification_disabled: 0,
      aggregation_unit: key,
      request_id: '',
      status: 'done',
      started_at: dt(d.at),
      finished_at: dt(d.at + 60_000),
      targets: d.recipients,
      batches: 1,
      accepted: d.recipients,
      failed: 0,
      error: '',
      created_at: dt(d.at),
      updated_at: dt(d.at),
      version: 1,
      is_deleted: 0,
    });
    const nBlocks = d.blocks ?? 0;
    for (let b = 0; b < nBlocks; b++)
      events.push(unfollow(d.tenantId, d.at + 3_600_000 + Math.floor(r() * 20 * 3_600_000)));
  }
  await insert(ch, 'insight_tracked_deliveries', tracked);
  await insert(ch, 'insight_message_stats', stats);
  await insert(ch, 'deliveries', records);
  await insert(ch, 'raw_webhook_events', events);
  // and the daily rollup the figures read, as ingest rebuilds it from the events
  const perDay = new Map<string, { tenantId: string; day: string; follows: number; unfollows: number }>();
  for (const e of events as Array<{ tenant_id: string; day: string }>) {
    const k = `${e.tenant_id}|${e.day}`;
    const row = perDay.get(k) ?? { tenantId: e.tenant_id, day: e.day, follows: 0, unfollows: 0 };
    row.unfollows++;
    perDay.set(k, row);
  }
  await writeFollowDays(ch, [...perDay.values()]);
  return ids;
}

export function unfollow(tenantId: string, ms: number) {
  return {
    tenant_id: tenantId,
    day: tokyoDay(ms),
    type: 'unfollow',
    webhook_event_id: randomUUID(),
    ts: dt(ms),
    mode: 'active',
    source_type: 'user',
    user_id: `U${randomUUID().replaceAll('-', '')}`,
    group_id: '',
    is_redelivery: 0,
    is_unblocked: 0,
    postback_data: '',
    message_type: '',
    received_at: dt(ms),
  };
}

/** Daily follows and blocks as the webhook rollup keeps them. */
export async function writeFollowDays(
  ch: ClickHouseClient,
  rows: ReadonlyArray<{ tenantId: string; day: string; follows: number; unfollows?: number }>,
): Promise<void> {
  await insert(
    ch,
    'webhook_events_per_day',
    rows.map((x) => ({
      tenant_id: x.tenantId,
      day: x.day,
      follows: x.follows,
      unblocks: 0,
      unfollows: x.unfollows ?? 0,
      postbacks: 0,
      messages: 0,
      events: x.follows + (x.unfollows ?? 0),
      users: x.follows + (x.unfollows ?? 0),
      computed_at: dt(Date.now()),
    })),
  );
}

export async function insert(ch: ClickHouseClient, table: string, values: unknown[]): Promise<void> {
  if (values.length) await ch.insert({ table, values, format: 'JSONEachRow' });
}

/**
 * Deliveries on the given days at `hour` Tokyo time, one per day listed.
 */
export function daily(
  tenantId: string,
  days: readonly string[],
  hour: number,
  d: Omit<WorldDelivery, 'tenantId' | 'at'>,
): WorldDelivery[] {
  return days.map((day) => ({ tenantId, at: tokyo(day, hour), ...d }));
}

/** Every `step`-th day from `from`, `count` days. */
export function days(from: string, count: number, step = 1): string[] {
  return Array.from({ length: count }, (_, i) => addDays(from, i * step));
}
