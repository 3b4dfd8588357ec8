/** ClickHouse records of delivery/: deliveries, batch outcomes, test devices. */
import { type ClickHouseClient, query } from '../core/clickhouse.ts';
import { sql } from '../core/sql.ts';
import { AppError } from '../core/errors.ts';
import { GroupCommitWriter } from '../core/group-commit.ts';
import { chDateTime, nextVersion } from '../core/time.ts';
import { z } from '../core/zod.ts';
import type { Audience } from './audience.ts';
import type { DeliveryMessage } from './messages.ts';

const deliveryStatus = z.enum(['draft', 'scheduled', 'queued', 'sending', 'done', 'failed', 'cancelled']);
export type DeliveryStatus = z.infer<typeof deliveryStatus>;
const deliveryKind = z.enum(['normal', 'test']);
export type DeliveryKind = z.infer<typeof deliveryKind>;
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
  /** Named residents left out when it was sent (audience 'users': blocked, or not friends); 0 otherwise. */
  skipped: number;
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
  /** all | segment | test | users (what 複製 can open in the composer). */
  audienceType: string;
  sendMethod: SendMethod;
  status: DeliveryStatus;
  messageTypes: string[];
  at: number;
  scheduledAt: number | null;
  targets: number;
  /** Residents named in a 'users' audience who were not friends at send time (not sent to). */
  skipped: number;
  accepted: number;
  failed: number;
  delivered: number | null;
  uniqueImpressions: number | null;
  clicks: number | null;
  uniqueClicks: number | null;
}

// Rows of the named queries (sql/queries/delivery.sql). 64-bit integers (counts, sums, epoch ms)
// are coerced: a ClickHouse server sends them quoted, chDB bare.
const int64 = z.coerce.number();
const ms = z.coerce.number().nullable();

const recordRow = z.object({
  tenant_id: z.string(),
  delivery_id: z.string(),
  kind: deliveryKind,
  title: z.string(),
  messages: z.string(),
  links: z.array(z.string()),
  click_bucket: z.string(),
  audience: z.string(),
  audience_label: z.string(),
  send_method: z.string(),
  notification_disabled: z.number(),
  aggregation_unit: z.string(),
  request_id: z.string(),
  status: deliveryStatus,
  scheduled_ms: ms,
  started_ms: ms,
  finished_ms: ms,
  targets: z.number(),
  skipped: z.number(),
  batches: z.number(),
  accepted: z.number(),
  failed: z.number(),
  error: z.string(),
  created_ms: int64,
  updated_ms: int64,
});

const listRow = z.object({
  tenant_id: z.string(),
  delivery_id: z.string(),
  kind: deliveryKind,
  title: z.string(),
  audience_label: z.string(),
  audience_type: z.string(),
  send_method: z.string(),
  status: deliveryStatus,
  messages: z.string(),
  at_ms: int64,
  scheduled_ms: ms,
  targets: z.number(),
  skipped: z.number(),
  accepted: z.number(),
  failed: z.number(),
  // Insight's latest figures (NULL until ingest fetched them)
  delivered: int64.nullable(),
  unique_impression: int64.nullable(),
  clicks: int64.nullable(),
  unique_click: int64.nullable(),
});

const batchRow = z.object({
  batch_no: z.number(),
  recipients: z.number(),
  status: z.string(),
  http_status: z.number(),
  request_id: z.string(),
  retry_key: z.string(),
  attempts: z.number(),
  reason: z.string(),
});
export type BatchRow = z.infer<typeof batchRow>;

const linkRow = z.object({
  tenant_id: z.string(),
  delivery_id: z.string(),
  link_no: z.number(),
  bucket: z.string(),
  url: z.string(),
});

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

  /** A named query's rows, each parsed with `row` (core/clickhouse.ts `query`), for delivery's other modules. */
  rows<S extends z.ZodType>(
    name: string,
    params: Record<string, unknown>,
    row: S,
    fill?: Record<string, string>,
  ): Promise<z.output<S>[]> {
    return query(this.ch, name, params, row, fill);
  }

  async get(tenantId: string, id: string): Promise<DeliveryRecord | undefined> {
    const row = (await query(this.ch, 'delivery.get', { tenant: tenantId, id }, recordRow))[0];
    return row && toRecord(row);
  }

  async require(tenantId: string, id: string): Promise<DeliveryRecord> {
    const d = await this.get(tenantId, id);
    if (!d) throw new AppError('delivery_not_found', `配信 ${id} は見つかりません`, 404);
    return d;
  }

  /**
   * Erasure (the cards' personal data): the tenant's deliveries to named residents under `label` lose
   * their lists of user ids, in every stored version, before this returns. The number of deliveries.
   */
  async forgetNamedAudiences(tenantId: string, label: string): Promise<number> {
    const ids = (
      await query(
        this.ch,
        'delivery.named_audiences',
        { tenant: tenantId, label },
        z.object({ delivery_id: z.string() }),
      )
    ).map((r) => r.delivery_id);
    if (ids.length)
      await this.ch.command({
        query: sql('delivery.forget_named_audiences'),
        query_params: { tenant: tenantId, ids },
        clickhouse_settings: { mutations_sync: '2' },
      });
    return ids.length;
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
          skipped: d.skipped,
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
    return query(
      this.ch,
      'delivery.in_flight',
      {},
      z.object({ tenant_id: z.string(), delivery_id: z.string(), status: deliveryStatus }),
    );
  }

  async scheduled(): Promise<Array<{ tenant_id: string; delivery_id: string; scheduled_ms: number | null }>> {
    return query(
      this.ch,
      'delivery.scheduled',
      {},
      z.object({ tenant_id: z.string(), delivery_id: z.string(), scheduled_ms: ms }),
    );
  }

  /**
   * Newest first: one tenant's deliveries, every tenant's (''), or those of the given tenants (a
   * caller's scope, applied in the query before its LIMIT).
   */
  async list(
    scope: string | { tenants: readonly string[] },
    opts: { includeTests?: boolean; limit?: number } = {},
  ): Promise<ListedDelivery[]> {
    const rows = await query(
      this.ch,
      'delivery.list',
      {
        tenant: typeof scope === 'string' ? scope : '',
        scoped: typeof scope === 'string' ? 0 : 1,
        tenants: typeof scope === 'string' ? [] : [...scope.tenants],
        kinds: opts.includeTests ? ['normal', 'test'] : ['normal'],
        limit: opts.limit ?? 1000,
      },
      listRow,
    );
    return rows.map((r) => ({
      tenantId: r.tenant_id,
      id: r.delivery_id,
      kind: r.kind,
      title: r.title,
      audienceLabel: r.audience_label,
      audienceType: r.audience_type,
      sendMethod: r.send_method === 'broadcast' ? 'broadcast' : 'multicast',
      status: r.status,
      messageTypes: (JSON.parse(r.messages) as DeliveryMessage[]).map((m) => m.type),
      at: r.at_ms,
      scheduledAt: r.scheduled_ms,
      targets: r.targets,
      skipped: r.skipped,
      accepted: r.accepted,
      failed: r.failed,
      delivered: r.delivered,
      uniqueImpressions: r.unique_impression,
      clicks: r.clicks,
      uniqueClicks: r.unique_click,
    }));
  }

  async batches(tenantId: string, id: string): Promise<BatchRow[]> {
    return query(this.ch, 'delivery.batches', { tenant: tenantId, id }, batchRow);
  }

  async batchTotals(tenantId: string, id: string): Promise<{ batches: number; accepted: number; failed: number }> {
    const totals = z.object({ batches: int64, accepted: int64, failed: int64 });
    // one row always (aggregates without GROUP BY)
    return (await query(this.ch, 'delivery.batch_totals', { tenant: tenantId, id }, totals))[0]!;
  }

  /** Deliveries (not test sends) that ended failed, or with batches LINE refused, since `sinceMs`: the self-check's figure. */
  async failedSince(sinceMs: number): Promise<number> {
    const row = z.object({ n: int64 });
    return (await query(this.ch, 'delivery.failed_since', { since: chDateTime(sinceMs) }, row))[0]?.n ?? 0;
  }

  async link(token: string): Promise<z.infer<typeof linkRow> | undefined> {
    return (await query(this.ch, 'delivery.link', { token }, linkRow))[0];
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
    const row = z.object({ link_no: z.number(), bucket: z.string(), url: z.string(), clicks: int64 });
    const rows = await query(this.ch, 'delivery.clicks', { tenant: tenantId, id }, row);
    return rows.map((r) => ({ linkNo: r.link_no, bucket: r.bucket, url: r.url, clicks: r.clicks }));
  }

  async testDevices(tenantId: string): Promise<Array<{ userId: string; label: string }>> {
    const row = z.object({ user_id: z.string(), label: z.string() });
    const rows = await query(this.ch, 'delivery.test_devices', { tenant: tenantId }, row);
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

function toRecord(r: z.infer<typeof recordRow>): DeliveryRecord {
  return {
    tenantId: r.tenant_id,
    id: r.delivery_id,
    kind: r.kind,
    title: r.title,
    messages: JSON.parse(r.messages) as DeliveryMessage[],
    links: r.links,
    clickBucket: r.click_bucket,
    audience: JSON.parse(r.audience) as Audience,
    audienceLabel: r.audience_label,
    sendMethod: r.send_method === 'broadcast' ? 'broadcast' : 'multicast',
    notificationDisabled: r.notification_disabled === 1,
    aggregationUnit: r.aggregation_unit,
    requestId: r.request_id,
    status: r.status,
    scheduledAt: r.scheduled_ms,
    startedAt: r.started_ms,
    finishedAt: r.finished_ms,
    targets: r.targets,
    skipped: r.skipped,
    batches: r.batches,
    accepted: r.accepted,
    failed: r.failed,
    error: r.error,
    createdAt: r.created_ms,
    updatedAt: r.updated_ms,
  };
}
