/** ClickHouse records of delivery/: deliveries, batch outcomes, test devices. */
import type { ClickHouseClient } from '../core/clickhouse.ts';
import { AppError } from '../core/errors.ts';
import { GroupCommitWriter } from '../core/group-commit.ts';
import { sql } from '../core/sql.ts';
import { chDateTime, nextVersion } from '../core/time.ts';
import type { Audience } from './audience.ts';
import type { DeliveryMessage } from './messages.ts';

export type DeliveryStatus = 'draft' | 'scheduled' | 'queued' | 'sending' | 'done' | 'failed' | 'cancelled';
export type DeliveryKind = 'normal' | 'test';
/** multicast: batches of 500 from Tayori's audience; broadcast: one request to every friend (all friends only). */
export type SendMethod = 'multicast' | 'broadcast';

export interface DeliveryRecord {
  tenantId: string;
  id: string;
  kind: DeliveryKind;
  title: string;
  messages: DeliveryMessage[];
  /** Tracked links: text messages carry {{link:N}} placeholders for links[N] (sent as /r/<token>). */
  links: string[];
  /** How clicks are split by audience: '' (not at all), gender, age (birth decade), residence. */
  clickBucket: string;
  audience: Audience;
  audienceLabel: string;
  sendMethod: SendMethod;
  notificationDisabled: boolean;
  aggregationUnit: string;
  /** A broadcast's x-line-request-id (its Insight statistics are by request id); '' otherwise. */
  requestId: string;
  status: DeliveryStatus;
  scheduledAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  targets: number;
  batches: number;
  accepted: number;
  failed: number;
  error: string;
  createdAt: number;
  updatedAt: number;
}

export interface BatchOutcome extends Record<string, unknown> {
  tenant_id: string;
  delivery_id: string;
  batch_no: number;
  recipients: number;
  status: 'accepted' | 'failed';
  http_status: number;
  request_id: string;
  retry_key: string;
  attempts: number;
  reason: string;
  settled_at: string;
}

export interface ListedDelivery {
  tenantId: string;
  id: string;
  kind: DeliveryKind;
  title: string;
  audienceLabel: string;
  sendMethod: SendMethod;
  status: DeliveryStatus;
  messageTypes: string[];
  at: number;
  scheduledAt: number | null;
  targets: number;
  accepted: number;
  failed: number;
  delivered: number | null;
  uniqueImpressions: number | null;
  clicks: number | null;
  uniqueClicks: number | null;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** Where residents' clicks go: the suite wires ingest's ClickSink (rate limits, the event log). */
export interface ClickRecorder {
  record(token: string, address: string, row: ClickRow): Promise<unknown>;
}

export interface ClickRow extends Record<string, unknown> {
  tenant_id: string;
  delivery_id: string;
  link_no: number;
  bucket: string;
  clicked_at: string;
}

export class DeliveryStore {
  readonly batchWriter: GroupCommitWriter<BatchOutcome>;
  readonly clickWriter: GroupCommitWriter<Record<string, unknown>>;
  /** Without the suite's event log (tests of delivery alone): straight to ClickHouse, not awaited. */
  clickRecorder: ClickRecorder = {
    record: async (_token, _address, row) => {
      this.clickWriter.write([row]).catch(() => undefined);
    },
  };

  constructor(private readonly ch: ClickHouseClient) {
    this.batchWriter = new GroupCommitWriter<BatchOutcome>(ch, 'delivery_batches', {
      maxRows: 5000,
      maxDelayMs: 500,
      concurrency: 1,
    });
    this.clickWriter = new GroupCommitWriter<Record<string, unknown>>(ch, 'delivery_clicks', {
      maxRows: 10_000,
      maxDelayMs: 200,
    });
  }

  async rows<T>(name: string, params: Record<string, unknown>, replace?: Record<string, string>): Promise<T[]> {
    let query = sql(name);
    for (const [k, v] of Object.entries(replace ?? {})) query = query.replaceAll(`{{${k}}}`, v);
    const rs = await this.ch.query({ query, query_params: params, format: 'JSONEachRow' });
    return rs.json<T>();
  }

  async get(tenantId: string, id: string): Promise<DeliveryRecord | undefined> {
    const row = (await this.rows<Record<string, unknown>>('delivery.get', { tenant: tenantId, id }))[0];
    return row && toRecord(row);
  }

  async require(tenantId: string, id: string): Promise<DeliveryRecord> {
    const d = await this.get(tenantId, id);
    if (!d) throw new AppError('delivery_not_found', `配信 ${id} は見つかりません`, 404);
    return d;
  }

  async put(d: DeliveryRecord): Promise<void> {
    await this.ch.insert({
      table: 'deliveries',
      format: 'JSONEachRow',
      values: [
        {
          tenant_id: d.tenantId,
          delivery_id: d.id,
          kind: d.kind,
          title: d.title,
          messages: JSON.stringify(d.messages),
          links: d.links,
          click_bucket: d.clickBucket,
          audience: JSON.stringify(d.audience),
          audience_label: d.audienceLabel,
          send_method: d.sendMethod,
          notification_disabled: d.notificationDisabled ? 1 : 0,
          aggregation_unit: d.aggregationUnit,
          request_id: d.requestId,
          status: d.status,
          scheduled_at: d.scheduledAt === null ? null : chDateTime(d.scheduledAt),
          started_at: d.startedAt === null ? null : chDateTime(d.startedAt),
          finished_at: d.finishedAt === null ? null : chDateTime(d.finishedAt),
          targets: d.targets,
          batches: d.batches,
          accepted: d.accepted,
          failed: d.failed,
          error: d.error,
          created_at: chDateTime(d.createdAt),
          updated_at: chDateTime(d.updatedAt),
          version: nextVersion(),
          is_deleted: 0,
        },
      ],
    });
  }

  async inFlight(): Promise<Array<{ tenant_id: string; delivery_id: string; status: DeliveryStatus }>> {
    return this.rows('delivery.in_flight', {});
  }

  async scheduled(): Promise<Array<{ tenant_id: string; delivery_id: string; scheduled_ms: string }>> {
    return this.rows('delivery.scheduled', {});
  }

  /**
   * Newest first: one tenant's deliveries, every tenant's (''), or those of the given tenants (a
   * caller's scope, applied in the query before its LIMIT).
   */
  async list(
    scope: string | { tenants: readonly string[] },
    opts: { includeTests?: boolean; limit?: number } = {},
  ): Promise<ListedDelivery[]> {
    const rows = await this.rows<Record<string, unknown>>('delivery.list', {
      tenant: typeof scope === 'string' ? scope : '',
      scoped: typeof scope === 'string' ? 0 : 1,
      tenants: typeof scope === 'string' ? [] : [...scope.tenants],
      kinds: opts.includeTests ? ['normal', 'test'] : ['normal'],
      limit: opts.limit ?? 1000,
    });
    return rows.map((r) => ({
      tenantId: String(r.tenant_id),
      id: String(r.delivery_id),
      kind: r.kind as DeliveryKind,
      title: String(r.title),
      audienceLabel: String(r.audience_label),
      sendMethod: r.send_method === 'broadcast' ? 'broadcast' : 'multicast',
      status: r.status as DeliveryStatus,
      messageTypes: (JSON.parse(String(r.messages)) as DeliveryMessage[]).map((m) => m.type),
      at: Number(r.at_ms),
      scheduledAt: num(r.scheduled_ms),
      targets: Number(r.targets),
      accepted: Number(r.accepted),
      failed: Number(r.failed),
      delivered: num(r.delivered),
      uniqueImpressions: num(r.unique_impression),
      clicks: num(r.clicks),
      uniqueClicks: num(r.unique_click),
    }));
  }

  async batches(tenantId: string, id: string): Promise<Array<Record<string, unknown>>> {
    return this.rows('delivery.batches', { tenant: tenantId, id });
  }

  async batchTotals(tenantId: string, id: string): Promise<{ batches: number; accepted: number; failed: number }> {
    const r = (await this.rows<Record<string, string>>('delivery.batch_totals', { tenant: tenantId, id }))[0]!;
    return { batches: Number(r.batches), accepted: Number(r.accepted), failed: Number(r.failed) };
  }

  async link(
    token: string,
  ): Promise<{ tenant_id: string; delivery_id: string; link_no: number; bucket: string; url: string } | undefined> {
    return (
      await this.rows<{ tenant_id: string; delivery_id: string; link_no: number; bucket: string; url: string }>(
        'delivery.link',
        { token },
      )
    )[0];
  }

  async putLinks(
    rows: Array<{
      token: string;
      tenant_id: string;
      delivery_id: string;
      link_no: number;
      bucket: string;
      url: string;
    }>,
  ): Promise<void> {
    if (rows.length)
      await this.ch.insert({
        table: 'delivery_links',
        format: 'JSONEachRow',
        values: rows.map((r) => ({ ...r, created_at: chDateTime(Date.now()) })),
      });
  }

  async clicks(
    tenantId: string,
    id: string,
  ): Promise<Array<{ linkNo: number; bucket: string; url: string; clicks: number }>> {
    const rows = await this.rows<Record<string, unknown>>('delivery.clicks', { tenant: tenantId, id });
    return rows.map((r) => ({
      linkNo: Number(r.link_no),
      bucket: String(r.bucket),
      url: String(r.url),
      clicks: Number(r.clicks),
    }));
  }

  async testDevices(tenantId: string): Promise<Array<{ userId: string; label: string }>> {
    const rows = await this.rows<{ user_id: string; label: string }>('delivery.test_devices', { tenant: tenantId });
    return rows.map((r) => ({ userId: r.user_id, label: r.label }));
  }

  async putTestDevice(tenantId: string, userId: string, label: string, deleted = false): Promise<void> {
    await this.ch.insert({
      table: 'delivery_test_devices',
      format: 'JSONEachRow',
      values: [
        {
          tenant_id: tenantId,
          user_id: userId,
          label,
          updated_at: chDateTime(Date.now()),
          version: nextVersion(),
          is_deleted: deleted ? 1 : 0,
        },
      ],
    });
  }
}

function toRecord(r: Record<string, unknown>): DeliveryRecord {
  return {
    tenantId: String(r.tenant_id),
    id: String(r.delivery_id),
    kind: r.kind as DeliveryKind,
    title: String(r.title),
    messages: JSON.parse(String(r.messages)) as DeliveryMessage[],
    links: (r.links as string[] | undefined) ?? [],
    clickBucket: String(r.click_bucket ?? ''),
    audience: JSON.parse(String(r.audience)) as Audience,
    audienceLabel: String(r.audience_label),
    sendMethod: r.send_method === 'broadcast' ? 'broadcast' : 'multicast',
    notificationDisabled: Number(r.notification_disabled) === 1,
    aggregationUnit: String(r.aggregation_unit),
    requestId: String(r.request_id ?? ''),
    status: r.status as DeliveryStatus,
    scheduledAt: num(r.scheduled_ms),
    startedAt: num(r.started_ms),
    finishedAt: num(r.finished_ms),
    targets: Number(r.targets),
    batches: Number(r.batches),
    accepted: Number(r.accepted),
    failed: Number(r.failed),
    error: String(r.error ?? ''),
    createdAt: Number(r.created_ms),
    updatedAt: Number(r.updated_ms),
  };
}
