/**
 * ops/: backups that restore, the export for the next vendor, monitoring (/metrics, the built-in
 * self-check with incident records and mails), the monthly availability, 障害報告書, 対応履歴管理表,
 * 運用課題管理表 and planned stops. ops imports only core/ and metrics/; what it reads of the other
 * capabilities (readiness, the event log's backlog, failed jobs, queues, the card store) the suite
 * hands in as functions.
 *
 *   const ops = createOps({ ch, redis, redisUrl, logger, mailer, settings, sources, stores, isOpenDay });
 *   await ops.start();                                   // self-check and the daily backup job
 *   ops.registerRoutes(app, auth, metricsTokens);        // /metrics, /api/v1/ops/…
 *   registerOpsPages(shell, ops);                        // /ops
 *   createReports({ …, contributors: [ops.monthlyContributor] });
 */
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import { AuditLog, type AuditContext } from '../core/audit.ts';
import type { Authenticator, StaffIdentity } from '../core/auth.ts';
import { type ClickHouseClient, query } from '../core/clickhouse.ts';
import type { FastifyInstance } from '../core/http.ts';
import type { Logger } from '../core/logger.ts';
import type { Mailer } from '../core/mailer.ts';
import { collectProcessMetrics, counter, gauge } from '../core/metrics-registry.ts';
import { AppError } from '../core/errors.ts';
import { connectRedis, type Redis } from '../core/redis.ts';
import { tokyoIso, tokyoMonthRange } from '../core/time.ts';
import { z } from '../core/zod.ts';
import { type Availability, monthlyAvailability } from './availability.ts';
import { type BackupSummary, Backups, type FileStore } from './backup.ts';
import { opsWorkbook } from './documents.ts';
import { type ExportExtra, type ExportManifest, exportData, type FileFormat, type Opener } from './export.ts';
import { Monitor, type MonitorSources } from './monitor.ts';
import type { IsOpenDay } from './open-days.ts';
import { type HistoryEntry, OpsRecords, type OpsRecord } from './records.ts';
import { registerOpsRoutes } from './routes.ts';

export { type Availability, AVAILABILITY_TARGET, monthlyAvailability } from './availability.ts';
export {
  backupId,
  Backups,
  type FileStore,
  forgetTenantKeyInBackups,
  listBackups,
  type Manifest,
  readManifest,
  restoreBackup,
  verifyBackup,
} from './backup.ts';
export {
  exportData,
  type ExportExtra,
  type ExportManifest,
  type Opener,
  PLAIN_EXPORT_PERMISSIONS,
  requirePlainExport,
} from './export.ts';
export { incidentDocx, opsWorkbook, OPS_WORKBOOK_TITLE } from './documents.ts';
export { Monitor, type MonitorSources, type Problem } from './monitor.ts';
export { OpsRecords, type OpsRecord } from './records.ts';
export { registerOpsPages } from './pages.ts';
export { KIND_LABELS, RECORD_KINDS, type RecordKind } from './schemas.ts';

export const OPS_QUEUE = 'ops';
export const BACKUP_SCHEDULER = 'daily-backup';
/** Planned stops are announced this many days ahead (the banner). */
export const STOP_NOTICE_DAYS = 10;

export interface OpsSettings {
  backupDir: string;
  /** 'HH:MM', Asia/Tokyo. */
  backupTime: string;
  keepDaily: number;
  keepWeekly: number;
  checkIntervalMs: number;
  incidentAfterMs: number;
}

/** A BullMQ queue as ops reads it (depths for /metrics). */
export interface QueueLike {
  name: string;
  getJobCounts(...types: string[]): Promise<Record<string, number>>;
}

export interface OpsDeps {
  ch: ClickHouseClient;
  /** The suite's Redis: its keys go into backups. */
  redis?: Redis;
  /** For the daily backup job's queue (none: no scheduled backups). */
  redisUrl?: string;
  logger: Logger;
  mailer: Mailer;
  settings: OpsSettings;
  sources: MonitorSources;
  stores: FileStore[];
  isOpenDay: IsOpenDay;
  quiesce?(): Promise<void>;
  /** Tables kept outside ClickHouse, for the export (the card store). */
  extras?: ExportExtra[];
  /** The tenants' data keys: a plain export opens sealed personal data with them. */
  keys?: Opener;
  /** Staff accounts, for a plain export the CLI asks for in an account's name (its password checked). */
  staff?: { verify(username: string, password: string): Promise<StaffIdentity | undefined> };
  /** Queues whose depths /metrics shows. */
  queues?: () => QueueLike[];
  audit?: AuditLog;
  prefix?: string;
  now?: () => number;
  /** Off: no self-check timer (tests drive `monitor.check()`). */
  selfCheck?: boolean;
}

export interface Ops {
  records: OpsRecords;
  backups: Backups;
  monitor: Monitor;
  audit: AuditLog;
  isOpenDay: IsOpenDay;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** A backup now, pruned to the retention, reported when it fails (metrics, mail). */
  backup(madeBy: string): Promise<BackupSummary>;
  availability(month: string): Promise<Availability>;
  status(): Promise<OpsStatus>;
  exportData(o: {
    tenant: string;
    out: string;
    format?: FileFormat;
    by: AuditContext | { cli: string };
    /** Open sealed personal data for this account (it must hold the permissions; checked and audited). */
    plainFor?: StaffIdentity;
  }): Promise<ExportManifest>;
  /** The staff account a CLI names for a plain export, when its password matches (401 otherwise). */
  operatorAccount(username: string, password: string): Promise<StaffIdentity>;
  /** reports' monthly package: the 運用報告 workbook (availability, 対応履歴管理表, 運用課題管理表). */
  monthlyContributor: { kind: 'ops-xlsx'; step: string; build(month: string, now: Date): Promise<Buffer> };
  refreshGauges(): Promise<void>;
  registerRoutes(app: FastifyInstance, auth: Authenticator, metricsTokens: string[]): void;
}

export interface OpsStatus {
  availability: Availability;
  lastCheck?: { at: string; up: boolean; problems: Array<{ key: string; message: string }> };
  /** Planned stops that end in the future and start within STOP_NOTICE_DAYS: the banner. */
  upcomingStops: Array<OpsRecord<'stop'>>;
  openIncidents: Array<OpsRecord<'incident'>>;
  backups: Array<{ id: string; startedAt: string; ok: boolean; bytes: number; error: string; madeBy: string }>;
  /** The daily backup: its Tokyo time (HH:MM), whether it is scheduled here, and the generations kept. */
  backupSchedule: { time: string; scheduled: boolean; keepDaily: number; keepWeekly: number };
}

const backupRow = z.object({
  backup_id: z.string(),
  started_ms: z.coerce.number(),
  finished_ms: z.coerce.number(),
  ok: z.coerce.number(),
  bytes: z.coerce.number(),
  error: z.string(),
  made_by: z.string(),
});

const queueGauge = gauge('tayori_queue_jobs', 'Jobs in the BullMQ queues, by state', ['queue', 'state']);
const stalledCounter = counter('tayori_queue_stalled_jobs_total', 'Jobs BullMQ found stalled', ['queue']);
const lastBackupOk = gauge('tayori_backup_last_ok', 'Whether the last backup succeeded (1) or failed (0)');

export function createOps(deps: OpsDeps): Ops {
  collectProcessMetrics();
  const now = deps.now ?? Date.now;
  const log = deps.logger.child({ module: 'ops' });
  const audit = deps.audit ?? new AuditLog(deps.ch, deps.logger);
  const records = new OpsRecords(deps.ch, audit, now);
  const backups = new Backups({
    ch: deps.ch,
    redis: deps.redis,
    stores: deps.stores,
    backupDir: deps.settings.backupDir,
    quiesce: deps.quiesce,
    now,
  });
  const monitor = new Monitor({
    ch: deps.ch,
    records,
    mailer: deps.mailer,
    logger: log,
    sources: deps.sources,
    intervalMs: deps.settings.checkIntervalMs,
    incidentAfterMs: deps.settings.incidentAfterMs,
    now,
  });
  const connections: Redis[] = [];
  let queue: Queue | undefined;
  let worker: Worker | undefined;

  const backup = async (madeBy: string): Promise<BackupSummary> => {
    try {
      const made = await backups.create(madeBy);
      lastBackupOk.set(1);
      const removed = backups.prune({ daily: deps.settings.keepDaily, weekly: deps.settings.keepWeekly });
      if (removed.length) log.info({ removed }, 'old backups removed');
      return made;
    } catch (e) {
      lastBackupOk.set(0);
      log.error({ err: (e as Error).message }, 'backup failed');
      await deps.mailer
        .send({
          subject: '【バックアップ失敗】Tayori のバックアップに失敗しました',
          text: `バックアップに失敗しました (${tokyoIso(now())})。\n\n${(e as Error).message}\n\n保存先: ${deps.settings.backupDir}`,
        })
        .catch((err: unknown) => log.warn({ err: (err as Error).message }, 'backup failure mail not sent'));
      throw e;
    }
  };

  const plainKeys = (staff: StaffIdentity) => {
    if (!deps.keys)
      throw new AppError(
        'plain_export_unavailable',
        'このスイートでは個人情報を復号できません (データ鍵がありません)',
        503,
      );
    return { staff, keys: deps.keys };
  };

  const monthRecords = async (month: string) => {
    const { from, to } = tokyoMonthRange(month);
    const inMonth = (iso: string | null) => iso !== null && Date.parse(iso) >= from && Date.parse(iso) < to;
    const monthStart = new Date(from + 9 * 3_600_000).toISOString().slice(0, 10);
    const monthEnd = new Date(to - 1 + 9 * 3_600_000).toISOString().slice(0, 10);
    const supports = (await records.list('support')).filter(
      (s) => inMonth(s.receivedAt) || inMonth(s.answeredAt) || (Date.parse(s.receivedAt) < from && !s.answeredAt),
    );
    const issues = (await records.list('issue')).filter(
      (i) => i.raisedOn <= monthEnd && (i.resolvedOn === null || i.resolvedOn >= monthStart),
    );
    const stops = (await records.list('stop')).filter(
      (s) => Date.parse(s.startsAt) < to && Date.parse(s.endsAt) > from,
    );
    const incidents = (await records.list('incident')).filter(
      (i) => Date.parse(i.detectedAt) < to && (i.recoveredAt === null || Date.parse(i.recoveredAt) >= from),
    );
    return { supports, issues, stops, incidents };
  };

  const ops: Ops = {
    records,
    backups,
    monitor,
    audit,
    isOpenDay: deps.isOpenDay,
    async start() {
      if (deps.selfCheck !== false) monitor.start();
      if (!deps.redisUrl) return;
      const connect = () => {
        const c = connectRedis(deps.redisUrl!, { forQueues: true });
        c.on('error', (e) => log.warn({ err: e.message }, 'ops redis error'));
        connections.push(c);
        return c;
      };
      queue = new Queue(OPS_QUEUE, { connection: connect(), prefix: deps.prefix ?? 'tayori' });
      queue.on('error', (e) => log.warn({ err: e.message }, 'ops queue error'));
      const [hh, mm] = deps.settings.backupTime.split(':').map(Number) as [number, number];
      await queue.upsertJobScheduler(
        BACKUP_SCHEDULER,
        { pattern: `${mm} ${hh} * * *`, tz: 'Asia/Tokyo' },
        {
          name: 'backup',
          data: {},
          opts: { attempts: 2, backoff: { type: 'fixed', delay: 10 * 60_000 }, removeOnComplete: 30, removeOnFail: 30 },
        },
      );
      worker = new Worker(OPS_QUEUE, async () => backup('自動バックアップ (毎日)'), {
        connection: connect(),
        prefix: deps.prefix ?? 'tayori',
        concurrency: 1,
        lockDuration: 10 * 60_000,
      });
      worker.on('error', (e) => log.warn({ err: e.message }, 'ops worker error'));
      worker.on('stalled', () => stalledCounter.labels(OPS_QUEUE).inc());
    },
    async stop() {
      await monitor.stop();
      await worker?.close();
      await queue?.close();
      await Promise.all(connections.splice(0).map((c) => c.quit().catch(() => c.disconnect())));
    },
    backup,
    availability: (month) => monthlyAvailability(deps.ch, records, month, now()),
    async status() {
      const t = now();
      const stops = (await records.list('stop')).filter(
        (s) => Date.parse(s.endsAt) > t && Date.parse(s.startsAt) - t <= STOP_NOTICE_DAYS * 86_400_000,
      );
      const incidents = (await records.list('incident')).filter((i) => !i.recoveredAt);
      const rows = await query(deps.ch, 'ops.backups_recent', { limit: 10 }, backupRow);
      return {
        availability: await ops.availability(new Date(t + 9 * 3_600_000).toISOString().slice(0, 7)),
        lastCheck: monitor.last,
        upcomingStops: stops,
        openIncidents: incidents,
        backups: rows.map((r) => ({
          id: r.backup_id,
          startedAt: tokyoIso(r.started_ms),
          ok: r.ok === 1,
          bytes: r.bytes,
          error: r.error,
          madeBy: r.made_by,
        })),
        backupSchedule: {
          time: deps.settings.backupTime,
          scheduled: Boolean(deps.redisUrl),
          keepDaily: deps.settings.keepDaily,
          keepWeekly: deps.settings.keepWeekly,
        },
      };
    },
    exportData: (o) =>
      exportData({
        ch: deps.ch,
        audit,
        by: o.by,
        tenant: o.tenant,
        out: path.resolve(o.out),
        format: o.format,
        extras: deps.extras,
        plain: o.plainFor && plainKeys(o.plainFor),
        now,
      }),
    async operatorAccount(username, password) {
      const user = await deps.staff?.verify(username, password);
      if (!user)
        throw new AppError(
          'operator_unauthorized',
          `ユーザー ${username} を確認できません (ユーザー名かパスワードが違うか、停止中のアカウントです)`,
          401,
        );
      return user;
    },
    monthlyContributor: {
      kind: 'ops-xlsx',
      step: '運用報告 (Excel) を作成しています',
      async build(month, at) {
        const r = await monthRecords(month);
        const history = new Map<string, HistoryEntry[]>();
        for (const s of r.supports) history.set(s.id, await records.history('support', s.id));
        for (const i of r.issues) history.set(i.id, await records.history('issue', i.id));
        return opsWorkbook({
          month,
          availability: await ops.availability(month),
          ...r,
          history,
          isOpenDay: deps.isOpenDay,
          now: at,
        });
      },
    },
    async refreshGauges() {
      for (const q of [...(deps.queues?.() ?? []), ...(queue ? [queue] : [])]) {
        const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
        for (const [state, n] of Object.entries(counts)) queueGauge.labels(q.name, state).set(n);
      }
    },
    registerRoutes(app, auth, metricsTokens) {
      registerOpsRoutes(app, ops, { auth, metricsTokens });
    },
  };
  return ops;
}
