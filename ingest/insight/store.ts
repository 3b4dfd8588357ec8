import type { ClickHouseClient } from '../../core/clickhouse.ts';
import { sql } from '../../core/sql.ts';
import { chDateTime, nextVersion } from '../../core/time.ts';

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

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** The ClickHouse side of the pollers: the tables of sql/migrations/0004_insight.sql. */
export class InsightStore {
  constructor(private readonly ch: ClickHouseClient) {}

  async #rows<T>(name: string, params: Record<string, unknown>): Promise<T[]> {
    const rs = await this.ch.query({ query: sql(name), query_params: params, format: 'JSONEachRow' });
    return rs.json<T>();
  }

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
    const rows = await this.#rows<Record<string, unknown>>('insight.followers_range', { tenantId, from, to });
    return rows.map((r) => ({
      tenantId: String(r.tenant_id),
      day: String(r.day_iso),
      status: r.status as FollowersDay['status'],
      followers: num(r.followers),
      targetedReaches: num(r.targeted_reaches),
      blocks: num(r.blocks),
      fetchedAt: Number(r.fetched_ms),
    }));
  }

  /** Days of the range that already have a final answer. */
  async storedDays(tenantId: string, from: string, to: string): Promise<Set<string>> {
    const rows = await this.#rows<{ day_iso: string }>('insight.followers_days_stored', { tenantId, from, to });
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
    const rows = await this.#rows<Record<string, unknown>>('insight.tracked_list', { tenantId });
    return rows.map((r) => ({
      tenantId: String(r.tenant_id),
      kind: r.kind as DeliveryKind,
      key: String(r.key),
      sentAt: Number(r.sent_ms),
      until: Number(r.until_ms),
    }));
  }

  /** Deliveries whose window ends at or after `since`, with their latest poll (undefined: never). */
  async trackedActive(since: number): Promise<Array<TrackedDelivery & { lastPolledAt?: number }>> {
    const rows = await this.#rows<Record<string, unknown>>('insight.tracked_active', { since: chDateTime(since) });
    return rows.map((r) => ({
      tenantId: String(r.tenant_id),
      kind: r.kind as DeliveryKind,
      key: String(r.key),
      sentAt: Number(r.sent_ms),
      until: Number(r.until_ms),
      lastPolledAt: Number(r.last_ms) > 0 ? Number(r.last_ms) : undefined,
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
    const rows = await this.#rows<Record<string, unknown>>('insight.message_stats_latest', { tenantId });
    return rows.map((r) => ({
      tenantId: String(r.tenant_id),
      kind: r.kind as DeliveryKind,
      key: String(r.key),
      sentAt: Number(r.sent_ms),
      fetchedAt: Number(r.fetched_ms),
      delivered: num(r.delivered),
      uniqueImpression: num(r.unique_impression),
      uniqueClick: num(r.unique_click),
      uniqueMediaPlayed: num(r.unique_media_played),
      uniqueMediaPlayed100Percent: num(r.unique_media_played_100_percent),
      impression: num(r.impression),
      click: num(r.click),
      mediaPlayed: num(r.media_played),
      messages: (r.messages as unknown[]).map(messageFromRow),
      clicks: (r.clicks as unknown[]).map(clickFromRow),
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
    const rows = await this.#rows<Record<string, unknown>>('insight.message_stats_history', { tenantId, kind, key });
    return rows.map((r) => ({
      fetchedAt: Number(r.fetched_ms),
      status: String(r.status),
      delivered: num(r.delivered),
      uniqueImpression: num(r.unique_impression),
      impression: num(r.impression),
      click: num(r.click),
    }));
  }
}

/** Tuples come back as objects (named) or arrays depending on the engine's settings. */
function fields(v: unknown, names: string[]): Record<string, unknown> {
  if (Array.isArray(v)) return Object.fromEntries(names.map((n, i) => [n, v[i]]));
  return v as Record<string, unknown>;
}

const MESSAGE_COLUMNS = [
  'seq',
  'impression',
  'unique_impression',
  'media_played',
  'media_played_25_percent',
  'media_played_50_percent',
  'media_played_75_percent',
  'media_played_100_percent',
  'unique_media_played',
  'unique_media_played_25_percent',
  'unique_media_played_50_percent',
  'unique_media_played_75_percent',
  'unique_media_played_100_percent',
];

function messageFromRow(v: unknown): MessageFigures {
  const r = fields(v, MESSAGE_COLUMNS);
  return {
    seq: Number(r.seq),
    impression: num(r.impression),
    uniqueImpression: num(r.unique_impression),
    mediaPlayed: num(r.media_played),
    mediaPlayed25Percent: num(r.media_played_25_percent),
    mediaPlayed50Percent: num(r.media_played_50_percent),
    mediaPlayed75Percent: num(r.media_played_75_percent),
    mediaPlayed100Percent: num(r.media_played_100_percent),
    uniqueMediaPlayed: num(r.unique_media_played),
    uniqueMediaPlayed25Percent: num(r.unique_media_played_25_percent),
    uniqueMediaPlayed50Percent: num(r.unique_media_played_50_percent),
    uniqueMediaPlayed75Percent: num(r.unique_media_played_75_percent),
    uniqueMediaPlayed100Percent: num(r.unique_media_played_100_percent),
  };
}

function clickFromRow(v: unknown): ClickFigures {
  const r = fields(v, ['seq', 'url', 'click', 'unique_click', 'unique_click_of_request']);
  return {
    seq: Number(r.seq),
    url: String(r.url),
    click: num(r.click),
    uniqueClick: num(r.unique_click),
    uniqueClickOfRequest: num(r.unique_click_of_request),
  };
}
