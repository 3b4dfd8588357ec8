import { type ClickHouseClient, query } from '../../core/clickhouse.ts';
import { chDateTime, nextVersion } from '../../core/time.ts';
import { z } from '../../core/zod.ts';

export type DeliveryKind = 'aggregation_unit' | 'request_id';

export interface FollowersDay {
  tenantId: string;
  /** 'yyyy-MM-dd', Asia/Tokyo. */
  day: string;
  status: 'ready' | 'out_of_service';
  followers: number | null;
  targetedReaches: number | null;
  blocks: number | null;
  fetchedAt: number;
}

export interface TrackedDelivery {
  tenantId: string;
  kind: DeliveryKind;
  key: string;
  sentAt: number;
  until: number;
}

export interface MessageStatsSnapshot {
  tenantId: string;
  kind: DeliveryKind;
  key: string;
  sentAt: number;
  fetchedAt: number;
  status: 'ready' | 'not_found';
  delivered: number | null;
  uniqueImpression: number | null;
  uniqueClick: number | null;
  uniqueMediaPlayed: number | null;
  uniqueMediaPlayed100Percent: number | null;
  impression: number | null;
  click: number | null;
  mediaPlayed: number | null;
  messages: MessageFigures[];
  clicks: ClickFigures[];
  /** LINE's answer as received. */
  response: unknown;
}

export interface MessageFigures {
  seq: number;
  impression: number | null;
  uniqueImpression: number | null;
  mediaPlayed: number | null;
  mediaPlayed25Percent: number | null;
  mediaPlayed50Percent: number | null;
  mediaPlayed75Percent: number | null;
  mediaPlayed100Percent: number | null;
  uniqueMediaPlayed: number | null;
  uniqueMediaPlayed25Percent: number | null;
  uniqueMediaPlayed50Percent: number | null;
  uniqueMediaPlayed75Percent: number | null;
  uniqueMediaPlayed100Percent: number | null;
}

export interface ClickFigures {
  seq: number;
  url: string;
  click: number | null;
  uniqueClick: number | null;
  uniqueClickOfRequest: number | null;
}

// 64-bit integers come bare from chDB and quoted from a server: coerced, NULL kept as null.
const u64 = z.coerce.number();
const nu64 = z.coerce.number().nullable();
const deliveryKind = z.enum(['aggregation_unit', 'request_id']);

const followersRow = z.object({
  tenant_id: z.string(),
  day_iso: z.string(),
  status: z.enum(['ready', 'out_of_service']),
  followers: nu64,
  targeted_reaches: nu64,
  blocks: nu64,
  fetched_ms: u64,
});

const storedDayRow = z.object({ day_iso: z.string() });

const trackedRow = z.object({
  tenant_id: z.string(),
  kind: deliveryKind,
  key: z.string(),
  sent_ms: u64,
  until_ms: u64,
});

const activeRow = trackedRow.extend({ last_ms: u64 });

// Named tuples arrive as JSON objects keyed by the tuple's element names.
const messageTuple = z.object({
  seq: z.coerce.number(),
  impression: nu64,
  unique_impression: nu64,
  media_played: nu64,
  media_played_25_percent: nu64,
  media_played_50_percent: nu64,
  media_played_75_percent: nu64,
  media_played_100_percent: nu64,
  unique_media_played: nu64,
  unique_media_played_25_percent: nu64,
  unique_media_played_50_percent: nu64,
  unique_media_played_75_percent: nu64,
  unique_media_played_100_percent: nu64,
});

const clickTuple = z.object({
  seq: z.coerce.number(),
  url: z.string(),
  click: nu64,
  unique_click: nu64,
  unique_click_of_request: nu64,
});

const latestRow = z.object({
  tenant_id: z.string(),
  kind: deliveryKind,
  key: z.string(),
  sent_ms: u64,
  fetched_ms: u64,
  delivered: nu64,
  unique_impression: nu64,
  unique_click: nu64,
  unique_media_played: nu64,
  unique_media_played_100_percent: nu64,
  impression: nu64,
  click: nu64,
  media_played: nu64,
  messages: z.array(messageTuple),
  clicks: z.array(clickTuple),
});

const historyRow = z.object({
  fetched_ms: u64,
  status: z.string(),
  delivered: nu64,
  unique_impression: nu64,
  unique_click: nu64,
  impression: nu64,
  click: nu64,
});

/** The ClickHouse side of the pollers: the tables of sql/migrations/0004_insight.sql. */
export class InsightStore {
  constructor(private readonly ch: ClickHouseClient) {}

  async saveFollowersDay(r: FollowersDay): Promise<void> {
    await this.ch.insert({
      table: 'insight_followers_daily',
      format: 'JSONEachRow',
      values: [
        {
          tenant_id: r.tenantId,
          day: r.day,
          status: r.status,
          followers: r.followers,
          targeted_reaches: r.targetedReaches,
          blocks: r.blocks,
          fetched_at: chDateTime(r.fetchedAt),
          version: nextVersion(),
        },
      ],
    });
  }

  async followersRange(tenantId: string, from: string, to: string): Promise<FollowersDay[]> {
    const rows = await query(this.ch, 'insight.followers_range', { tenantId, from, to }, followersRow);
    return rows.map((r) => ({
      tenantId: r.tenant_id,
      day: r.day_iso,
      status: r.status,
      followers: r.followers,
      targetedReaches: r.targeted_reaches,
      blocks: r.blocks,
      fetchedAt: r.fetched_ms,
    }));
  }

  /** Days of the range that already have a final answer. */
  async storedDays(tenantId: string, from: string, to: string): Promise<Set<string>> {
    const rows = await query(this.ch, 'insight.followers_days_stored', { tenantId, from, to }, storedDayRow);
    return new Set(rows.map((r) => r.day_iso));
  }

  async track(d: TrackedDelivery, registeredAt: number): Promise<void> {
    await this.ch.insert({
      table: 'insight_tracked_deliveries',
      format: 'JSONEachRow',
      values: [
        {
          tenant_id: d.tenantId,
          kind: d.kind,
          key: d.key,
          sent_at: chDateTime(d.sentAt),
          track_until: chDateTime(d.until),
          registered_at: chDateTime(registeredAt),
          version: nextVersion(),
          is_deleted: 0,
        },
      ],
    });
  }

  async trackedList(tenantId: string): Promise<TrackedDelivery[]> {
    const rows = await query(this.ch, 'insight.tracked_list', { tenantId }, trackedRow);
    return rows.map((r) => ({
      tenantId: r.tenant_id,
      kind: r.kind,
      key: r.key,
      sentAt: r.sent_ms,
      until: r.until_ms,
    }));
  }

  /** Deliveries whose window ends at or after `since`, with their latest poll (undefined: never). */
  async trackedActive(since: number): Promise<Array<TrackedDelivery & { lastPolledAt?: number }>> {
    const rows = await query(this.ch, 'insight.tracked_active', { since: chDateTime(since) }, activeRow);
    return rows.map((r) => ({
      tenantId: r.tenant_id,
      kind: r.kind,
      key: r.key,
      sentAt: r.sent_ms,
      until: r.until_ms,
      lastPolledAt: r.last_ms > 0 ? r.last_ms : undefined,
    }));
  }

  async saveMessageStats(s: MessageStatsSnapshot): Promise<void> {
    await this.ch.insert({
      table: 'insight_message_stats',
      format: 'JSONEachRow',
      values: [
        {
          tenant_id: s.tenantId,
          kind: s.kind,
          key: s.key,
          sent_at: chDateTime(s.sentAt),
          fetched_at: chDateTime(s.fetchedAt),
          status: s.status,
          delivered: s.delivered,
          unique_impression: s.uniqueImpression,
          unique_click: s.uniqueClick,
          unique_media_played: s.uniqueMediaPlayed,
          unique_media_played_100_percent: s.uniqueMediaPlayed100Percent,
          impression: s.impression,
          click: s.click,
          media_played: s.mediaPlayed,
          // Named tuples take JSON objects keyed by the tuple's element names.
          messages: s.messages.map((m) => ({
            seq: m.seq,
            impression: m.impression,
            unique_impression: m.uniqueImpression,
            media_played: m.mediaPlayed,
            media_played_25_percent: m.mediaPlayed25Percent,
            media_played_50_percent: m.mediaPlayed50Percent,
            media_played_75_percent: m.mediaPlayed75Percent,
            media_played_100_percent: m.mediaPlayed100Percent,
            unique_media_played: m.uniqueMediaPlayed,
            unique_media_played_25_percent: m.uniqueMediaPlayed25Percent,
            unique_media_played_50_percent: m.uniqueMediaPlayed50Percent,
            unique_media_played_75_percent: m.uniqueMediaPlayed75Percent,
            unique_media_played_100_percent: m.uniqueMediaPlayed100Percent,
          })),
          clicks: s.clicks.map((c) => ({
            seq: c.seq,
            url: c.url,
            click: c.click,
            unique_click: c.uniqueClick,
            unique_click_of_request: c.uniqueClickOfRequest,
          })),
          response: JSON.stringify(s.response ?? null),
        },
      ],
    });
  }

  /** The latest ready snapshot of each of a tenant's deliveries. */
  async latestMessageStats(tenantId: string): Promise<Array<Omit<MessageStatsSnapshot, 'status' | 'response'>>> {
    const rows = await query(this.ch, 'insight.message_stats_latest', { tenantId }, latestRow);
    return rows.map((r) => ({
      tenantId: r.tenant_id,
      kind: r.kind,
      key: r.key,
      sentAt: r.sent_ms,
      fetchedAt: r.fetched_ms,
      delivered: r.delivered,
      uniqueImpression: r.unique_impression,
      uniqueClick: r.unique_click,
      uniqueMediaPlayed: r.unique_media_played,
      uniqueMediaPlayed100Percent: r.unique_media_played_100_percent,
      impression: r.impression,
      click: r.click,
      mediaPlayed: r.media_played,
      messages: r.messages.map(messageFromRow),
      clicks: r.clicks.map(clickFromRow),
    }));
  }

  async messageStatsHistory(
    tenantId: string,
    kind: DeliveryKind,
    key: string,
  ): Promise<
    Array<{
      fetchedAt: number;
      status: string;
      uniqueImpression: number | null;
      impression: number | null;
      click: number | null;
      delivered: number | null;
    }>
  > {
    const rows = await query(this.ch, 'insight.message_stats_history', { tenantId, kind, key }, historyRow);
    return rows.map((r) => ({
      fetchedAt: r.fetched_ms,
      status: r.status,
      delivered: r.delivered,
      uniqueImpression: r.unique_impression,
      impression: r.impression,
      click: r.click,
    }));
  }
}

function messageFromRow(r: z.output<typeof messageTuple>): MessageFigures {
  return {
    seq: r.seq,
    impression: r.impression,
    uniqueImpression: r.unique_impression,
    mediaPlayed: r.media_played,
    mediaPlayed25Percent: r.media_played_25_percent,
    mediaPlayed50Percent: r.media_played_50_percent,
    mediaPlayed75Percent: r.media_played_75_percent,
    mediaPlayed100Percent: r.media_played_100_percent,
    uniqueMediaPlayed: r.unique_media_played,
    uniqueMediaPlayed25Percent: r.unique_media_played_25_percent,
    uniqueMediaPlayed50Percent: r.unique_media_played_50_percent,
    uniqueMediaPlayed75Percent: r.unique_media_played_75_percent,
    uniqueMediaPlayed100Percent: r.unique_media_played_100_percent,
  };
}

function clickFromRow(r: z.output<typeof clickTuple>): ClickFigures {
  return {
    seq: r.seq,
    url: r.url,
    click: r.click,
    uniqueClick: r.unique_click,
    uniqueClickOfRequest: r.unique_click_of_request,
  };
}
