/**
 * ops/ as the suite runs it: what the self-check reads of the other capabilities (readiness, the
 * event log's backlog, failed report jobs), what backups copy besides ClickHouse and Redis (report
 * files, the card store, the wrapped data keys — never the key file), the open-day calendar of the
 * minutes, and the mailer. ops/ imports none of them: they are handed in here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { open } from 'lmdb';
import { type ClickHouseClient, query } from '../core/clickhouse.ts';
import type { Config } from '../core/config.ts';
import { dataKeysDir } from '../core/data-keys.ts';
import { readiness } from '../core/health.ts';
import type { Logger } from '../core/logger.ts';
import { createMailer, type Mailer } from '../core/mailer.ts';
import { sampledGauge } from '../core/metrics-registry.ts';
import type { Redis } from '../core/redis.ts';
import { StaffStore, type StaffUser } from '../core/users.ts';
import { z } from '../core/zod.ts';
import { cardsStoreDir } from '../cards/index.ts';
import type { Ingest } from '../ingest/index.ts';
import { createOps, type ExportExtra, type FileStore, type Opener, type Ops, type QueueLike } from '../ops/index.ts';
import { isOpenDay } from '../reports/due-date.ts';

/** The directories a backup copies and a restore fills, by name. */
export function opsStores(config: Config): FileStore[] {
  const cards = cardsStoreDir(config.dataDir);
  return [
    { name: 'reports', dir: config.reportsDir },
    { name: 'data-keys', dir: dataKeysDir(config.dataDir) },
    {
      name: 'cards',
      dir: cards,
      // LMDB's own copy: consistent while the suite writes (lmdb shares the open environment)
      async copy(dest) {
        if (!fs.existsSync(path.join(cards, 'data.mdb'))) return;
        const db = open({ path: cards, maxDbs: 4, mapSize: 4 * 1024 ** 3 });
        try {
          await db.backup(dest, false);
        } finally {
          // the suite's own handle on the same environment stays open
        }
      },
    },
  ];
}

/** The card store's households as the export reads them. */
export type HouseholdRows = NonNullable<Parameters<typeof wireOps>[0]['households']>;

/**
 * The benefit cards' households for the export: sealed as stored (the tenant's data key opens
 * them); a plain export opens the sealed fields into these columns.
 */
export function householdsExtra(db: HouseholdRows): ExportExtra {
  return {
    name: 'cards_households',
    sealed: {
      column: 'sealed',
      fields: [
        { name: 'holder_name', key: 'holderName' },
        { name: 'relationship', key: 'relationship' },
        { name: 'household_kind', key: 'kind' },
        { name: 'children', key: 'children' },
      ],
    },
    columns: [
      { name: 'tenant_id', type: 'String' },
      { name: 'user_id', type: 'String' },
      { name: 'sealed', type: 'String' },
      { name: 'registered_ms', type: 'Int64' },
      { name: 'updated_ms', type: 'Int64' },
    ],
    async *rows(tenant) {
      const range = tenant === 'all' ? {} : { start: `${tenant}/`, end: `${tenant}/\uffff` };
      for (const { key, value } of db.getRange(range)) {
        yield {
          tenant_id: String(key).split('/')[0] ?? '',
          user_id: value.userId,
          sealed: value.sealed,
          registered_ms: value.registeredAt,
          updated_ms: value.updatedAt,
        };
      }
    },
  };
}

/** Staff accounts' passwords checked for a plain export the CLI asks for in an account's name. */
export function staffVerifier(ch: ClickHouseClient): {
  verify(username: string, password: string): Promise<StaffUser | undefined>;
} {
  // only verify() is used: no tenant is ever added through this store
  const store = new StaffStore(ch, async () => undefined);
  return { verify: (u, p) => store.verify(u, p) };
}

export function opsMailer(config: Config): Mailer {
  return createMailer({ smtpUrl: config.ops.smtpUrl, from: config.ops.mailFrom, to: config.ops.alertTo });
}

export function wireOps(o: {
  config: Config;
  ch: ClickHouseClient;
  redis: Redis;
  redisUrl: string;
  ingest: Ingest;
  logger: Logger;
  queues: () => QueueLike[];
  failedJobs: () => Promise<number>;
  /** Deliveries that failed in the last hour (delivery's store). */
  failedDeliveries?: () => Promise<number>;
  /** The Insight pollers' queue (jobs by state). */
  insight?: { status(): Promise<{ counts: Record<string, number> }> };
  /** The tenants' data keys (a plain export opens the households with them). */
  keys?: Opener;
  /** The card store's households (sealed with each tenant's data key): exported as they are stored. */
  households?: {
    getRange(o?: { start?: string; end?: string }): Iterable<{
      key: unknown;
      value: { userId: string; sealed: string; registeredAt: number; updatedAt: number };
    }>;
  };
}): { ops: Ops; mailer: Mailer } {
  const mailer = opsMailer(o.config);
  // /metrics figures read from the parts when scraped
  sampledGauge(
    'tayori_event_log_backlog_events',
    'Events acknowledged and not yet in ClickHouse',
    () => o.ingest.status().backlog.events,
  );
  sampledGauge(
    'tayori_event_log_backlog_bytes',
    'Bytes of the event log not yet shipped',
    () => o.ingest.status().backlog.bytes,
  );
  sampledGauge(
    'tayori_event_log_oldest_seconds',
    'Age of the oldest event not yet in ClickHouse',
    () => (o.ingest.status().backlog.oldestAgeMs ?? 0) / 1000,
  );
  sampledGauge(
    'tayori_event_log_ship_failures',
    'Failed shipper batches since start',
    () => o.ingest.status().shipper.failures,
  );
  sampledGauge(
    'tayori_insight_lag_seconds',
    "Seconds since the Insight pollers last stored a day's followers",
    async () => {
      const [r] = await query(o.ch, 'ops.insight_lag', {}, z.object({ lag_s: z.coerce.number().nullable() }));
      return r?.lag_s ?? 0;
    },
  );
  sampledGauge(
    'tayori_insight_jobs_failed',
    'Insight poller jobs failed (kept)',
    async () => (await o.insight?.status())?.counts.failed ?? 0,
  );
  sampledGauge(
    'tayori_insight_jobs_waiting',
    'Insight poller jobs waiting',
    async () => (await o.insight?.status())?.counts.waiting ?? 0,
  );
  const ops = createOps({
    ch: o.ch,
    redis: o.redis,
    redisUrl: o.redisUrl,
    logger: o.logger,
    mailer,
    settings: {
      backupDir: o.config.ops.backupDir,
      backupTime: o.config.ops.backupTime,
      keepDaily: o.config.ops.keepDaily,
      keepWeekly: o.config.ops.keepWeekly,
      checkIntervalMs: o.config.ops.checkIntervalMs,
      incidentAfterMs: o.config.ops.incidentAfterMs,
    },
    sources: {
      async readiness() {
        const { body, errors } = await readiness({ ch: o.ch, redis: o.redis, eventLog: () => o.ingest.status() });
        return { status: body.status, errors };
      },
      backlog: () => o.ingest.status().backlog.events,
      failedJobs: o.failedJobs,
      failedDeliveries: o.failedDeliveries,
      publicUrl: o.config.publicUrl,
    },
    stores: opsStores(o.config),
    isOpenDay,
    extras: o.households ? [householdsExtra(o.households)] : [],
    keys: o.keys,
    staff: staffVerifier(o.ch),
    queues: o.queues,
    async quiesce() {
      // what was acknowledged reaches ClickHouse before it is dumped (bounded: a backlog that does not drain is dumped as it is)
      for (let i = 0; i < 100 && o.ingest.status().backlog.events > 0; i++)
        await new Promise((r) => setTimeout(r, 100));
    },
  });
  return { ops, mailer };
}
