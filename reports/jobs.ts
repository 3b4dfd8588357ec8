/**
 * Report jobs on the BullMQ queue `reports`: the monthly package for the previous month, produced
 * by a job scheduler on the 1st at 06:00 (Asia/Tokyo), and packages or final reports on demand.
 *
 * A job builds every file in memory (reports/documents), then stores them all at once
 * (ReportFileStore.save): a job that fails leaves nothing listed. Progress goes to the job
 * (`job.updateProgress({ step, done, total })`) for the dashboard to show. A job cut short by the
 * suite stopping goes back to the queue and runs again on the next start.
 */
import { randomBytes } from 'node:crypto';
import { DelayedError, Queue, Worker, type Job, type JobState } from 'bullmq';
import type { ClickHouseClient } from '../core/clickhouse.ts';
import { AppError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { counter } from '../core/metrics-registry.ts';
import { connectRedis, type Redis } from '../core/redis.ts';
import type { TenantStore } from '../core/tenants.ts';
import type { MonthlyContributor, Progress, ReportFile, ReportSources } from './documents/index.ts';
import { finalPeriodKey, periodLabel, ReportFileStore, type ReportScope, type StoredReportFile } from './files.ts';
import { tokyoIso, tokyoMonth } from './schemas.ts';
import { ReportStore } from './store.ts';
import { tokyoWallClock } from '../core/time.ts';

export const REPORTS_QUEUE = 'reports';
export const MONTHLY_SCHEDULER = 'monthly-package';
/** The 1st of every month at 06:00, Asia/Tokyo. */
export const MONTHLY_PATTERN = '0 6 1 * *';
export const REPORTS_TZ = 'Asia/Tokyo';
/** Who the scheduler's jobs are made by, as the file list shows it. */
export const SCHEDULER_ACTOR = '自動作成 (毎月1日)';

export type ReportJobInput =
  | { type: 'monthly'; month: string }
  | { type: 'final'; from: string; to: string; due?: string };

/** What a job carries: a monthly job from the scheduler has no month (the previous one is meant). */
type JobData = ({ type: 'monthly'; month?: string } | { type: 'final'; from: string; to: string; due?: string }) & {
  createdBy: string;
};

export type ReportJobState = 'waiting' | 'active' | 'completed' | 'failed';

export interface JobProgress {
  step: string;
  done: number;
  total: number;
}

export interface ReportJobView {
  id: string;
  type: 'monthly' | 'final';
  period: string;
  periodLabel: string;
  state: ReportJobState;
  progress: JobProgress;
  error?: string;
  fileIds?: string[];
  createdBy: string;
  createdAt: string;
  finishedAt?: string;
}

/** The document builders (reports/documents), injectable for tests. */
export interface ReportBuilders {
  monthly(src: ReportSources, month: string, opts?: { now?: Date; onProgress?: Progress }): Promise<ReportFile[]>;
  final(
    src: ReportSources,
    period: { from: string; to: string },
    opts?: { now?: Date; onProgress?: Progress; due?: string },
  ): Promise<ReportFile[]>;
}

/** The real builders, loaded on first use (docx, exceljs and pdfkit take a while to load). */
export async function documentBuilders(): Promise<ReportBuilders> {
  const d = await import('./documents/index.ts');
  return { monthly: d.buildMonthlyPackage, final: d.buildFinalReport };
}

/** The month before the one `ms` falls in (Asia/Tokyo), 'YYYY-MM'. */
export function previousMonth(ms: number): string {
  const [y, m] = tokyoMonth(ms).split('-').map(Number) as [number, number];
  return m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, '0')}`;
}

export function periodOf(input: ReportJobInput): { scope: ReportScope; period: string } {
  return input.type === 'monthly'
    ? { scope: 'monthly', period: input.month }
    : { scope: 'final', period: finalPeriodKey(input.from, input.to) };
}

class StoppingError extends Error {
  constructor() {
    super('帳票の作成を中断しました (スイートの停止)');
  }
}

export interface ProduceOptions {
  createdBy: string;
  jobId?: string;
  now?: Date;
  onProgress?: (p: JobProgress) => void;
}

/**
 * Builds a package or final report and stores its files as new versions: every file or none.
 * The one path for jobs and for the CLI run without a suite. A job that stored its files before
 * being cut short finds them instead of storing them twice.
 */
export async function produceReport(
  deps: { sources: ReportSources; files: ReportFileStore; build: ReportBuilders },
  input: ReportJobInput,
  opts: ProduceOptions,
): Promise<StoredReportFile[]> {
  if (opts.jobId) {
    const stored = await deps.files.ofJob(opts.jobId);
    if (stored.length) return stored;
  }
  let last: JobProgress = { step: '準備中', done: 0, total: 0 };
  const onProgress: Progress = (step, done, total) => {
    last = { step, done, total };
    opts.onProgress?.(last);
  };
  opts.onProgress?.(last);
  const built =
    input.type === 'monthly'
      ? await deps.build.monthly(deps.sources, input.month, { now: opts.now, onProgress })
      : await deps.build.final(
          deps.sources,
          { from: input.from, to: input.to },
          { now: opts.now, onProgress, ...(input.due ? { due: input.due } : {}) },
        );
  opts.onProgress?.({ step: 'ファイルを保存しています', done: last.done, total: last.total });
  const { scope, period } = periodOf(input);
  const saved = await deps.files.save({
    scope,
    period,
    files: built,
    createdBy: opts.createdBy,
    jobId: opts.jobId,
    now: opts.now?.getTime(),
  });
  opts.onProgress?.({ step: '完了', done: Math.max(last.total, 1), total: Math.max(last.total, 1) });
  return saved;
}

export interface ReportJobsOptions {
  ch: ClickHouseClient;
  tenants: TenantStore;
  redisUrl: string;
  files: ReportFileStore;
  logger: Logger;
  /** Default: reports/documents, loaded on the first job. */
  build?: ReportBuilders;
  /** Prefix of the queue's Redis keys. Default 'tayori'. */
  prefix?: string;
  /** Cron pattern (Asia/Tokyo) of the monthly package. Default MONTHLY_PATTERN. */
  monthlyPattern?: string;
  /** The clock handed to the builders (report dates). Default: now. */
  now?: () => Date;
  /** Files other capabilities add to the monthly package (ops/). */
  contributors?: readonly MonthlyContributor[];
}

const VIEW_STATES: JobState[] = ['active', 'waiting', 'prioritized', 'delayed', 'completed', 'failed'];

function stateOf(s: JobState | 'unknown'): ReportJobState {
  if (s === 'active' || s === 'completed' || s === 'failed') return s;
  return 'waiting';
}

const KEEP_FINISHED = { age: 90 * 24 * 3600, count: 200 };
/** /metrics: report jobs finished, by outcome. */
const reportJobs = counter('tayori_report_jobs_total', 'Report jobs finished, by outcome', ['outcome']);

/** The reports queue, its scheduler and this process's worker. */
export class ReportJobs {
  readonly queue: Queue;
  readonly #o: ReportJobsOptions;
  readonly #log: Logger;
  readonly #connections: Redis[] = [];
  readonly #sources: ReportSources;
  #worker: Worker | undefined;
  #stopping = false;
  #build: ReportBuilders | undefined;

  constructor(opts: ReportJobsOptions) {
    this.#o = opts;
    this.#log = opts.logger.child({ module: 'reports' });
    this.#build = opts.build;
    this.#sources = {
      ch: opts.ch,
      tenants: opts.tenants,
      store: new ReportStore(opts.ch),
      contributors: opts.contributors,
    };
    this.queue = new Queue(REPORTS_QUEUE, {
      connection: this.#connect(true),
      prefix: opts.prefix ?? 'tayori',
      defaultJobOptions: { attempts: 1, removeOnComplete: KEEP_FINISHED, removeOnFail: KEEP_FINISHED },
    });
    this.queue.on('error', (e) => this.#log.warn({ err: e.message }, 'reports queue error'));
  }

  /** failFast: the queue requests read and add to answers 503 at once while Redis is down. */
  #connect(failFast = false): Redis {
    const c = connectRedis(this.#o.redisUrl, { forQueues: true, failFast });
    c.on('error', (e) => this.#log.warn({ err: e.message }, 'reports redis error'));
    this.#connections.push(c);
    return c;
  }

  /** Registers the monthly scheduler and starts the worker (one report at a time). */
  async start(): Promise<void> {
    await this.queue.upsertJobScheduler(
      MONTHLY_SCHEDULER,
      { pattern: this.#o.monthlyPattern ?? MONTHLY_PATTERN, tz: REPORTS_TZ },
      {
        name: 'monthly',
        data: { type: 'monthly', createdBy: SCHEDULER_ACTOR } satisfies JobData,
        opts: {
          attempts: 3,
          backoff: { type: 'exponential', delay: 5 * 60_000 },
          removeOnComplete: KEEP_FINISHED,
          removeOnFail: KEEP_FINISHED,
        },
      },
    );
    this.#worker = new Worker(REPORTS_QUEUE, (job, token) => this.#process(job, token), {
      connection: this.#connect(),
      prefix: this.#o.prefix ?? 'tayori',
      concurrency: 1,
      // building a package keeps the event loop busy for seconds at a time: a generous lock
      lockDuration: 120_000,
      stalledInterval: 60_000,
      maxStalledCount: 3,
    });
    this.#worker.on('error', (e) => this.#log.warn({ err: e.message }, 'reports worker error'));
    this.#worker.on('failed', (job, e) => {
      if (e instanceof DelayedError) return;
      reportJobs.labels('failed').inc();
      this.#log.warn({ job: job?.id, err: e.message }, 'report job failed');
    });
    await this.#worker.waitUntilReady();
  }

  /** Stops the worker: a report being built stops at its next step and is run again on the next start. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#worker?.close();
    this.#worker = undefined;
    await this.queue.close();
    await Promise.all(this.#connections.splice(0).map((c) => c.quit().catch(() => c.disconnect())));
  }

  /** The monthly scheduler as registered in Redis. */
  async scheduler(): Promise<{ key: string; pattern?: string; tz?: string; next?: number } | undefined> {
    const s = await this.queue.getJobScheduler(MONTHLY_SCHEDULER);
    return s
      ? { key: s.key, pattern: s.pattern ?? undefined, tz: s.tz ?? undefined, next: s.next ?? undefined }
      : undefined;
  }

  /**
   * Queues a package or final report. One already waiting or running for the same period is
   * returned instead of a second one.
   */
  async enqueue(input: ReportJobInput, createdBy: string): Promise<{ jobId: string; existing: boolean }> {
    const { period } = periodOf(input);
    for (const job of await this.queue.getJobs(['active', 'waiting', 'prioritized', 'delayed'], 0, 200)) {
      if (this.#isUpcomingScheduled(job)) continue;
      const data = job.data as JobData;
      if (data.type === input.type && this.#periodOfJob(job) === period) return { jobId: job.id!, existing: true };
    }
    const jobId = `${input.type}-${period}-${randomBytes(4).toString('hex')}`;
    await this.queue.add(input.type, { ...input, createdBy } satisfies JobData, { jobId });
    return { jobId, existing: false };
  }

  async get(id: string): Promise<ReportJobView | undefined> {
    const job = await this.queue.getJob(id);
    if (!job || this.#isUpcomingScheduled(job)) return undefined;
    return this.#view(job);
  }

  /** Recent jobs, newest first (the scheduler's next run is not a job yet and is not listed). */
  async list(limit = 50): Promise<ReportJobView[]> {
    const jobs = (await this.queue.getJobs(VIEW_STATES, 0, 500)).filter((j) => j && !this.#isUpcomingScheduled(j));
    jobs.sort((a, b) => b.timestamp - a.timestamp);
    return Promise.all(jobs.slice(0, limit).map((j) => this.#view(j)));
  }

  /** The scheduler's job for a future 1st, waiting for its time. */
  #isUpcomingScheduled(job: Job): boolean {
    return Boolean(job.repeatJobKey) && job.timestamp + (job.delay ?? 0) > Date.now() && !job.processedOn;
  }

  /** The period a job is about; the scheduler's jobs mean the month before the 1st they run on. */
  #periodOfJob(job: Job): string {
    const data = job.data as JobData;
    if (data.type === 'final') return finalPeriodKey(data.from, data.to);
    return data.month ?? previousMonth(job.timestamp + (job.delay ?? 0));
  }

  async #view(snapshot: Job): Promise<ReportJobView> {
    let job = snapshot;
    const state = stateOf(await job.getState());
    // finished after the snapshot was read: read it again for its result
    if ((state === 'completed' || state === 'failed') && !job.finishedOn)
      job = (await this.queue.getJob(job.id!)) ?? job;
    const data = job.data as JobData;
    const period = this.#periodOfJob(job);
    const p = job.progress as Partial<JobProgress> | number | undefined;
    let progress: JobProgress =
      p && typeof p === 'object' && typeof p.step === 'string'
        ? { step: p.step, done: Number(p.done ?? 0), total: Number(p.total ?? 0) }
        : { step: state === 'active' ? '準備中' : '待機中', done: 0, total: 0 };
    const view: ReportJobView = {
      id: job.id!,
      type: data.type,
      period,
      periodLabel: periodLabel(data.type, period),
      state,
      progress,
      createdBy: data.createdBy,
      createdAt: tokyoIso(job.timestamp),
    };
    if (state === 'completed') {
      const rv = job.returnvalue as { fileIds?: string[] } | null;
      view.fileIds = rv?.fileIds ?? [];
      progress = { step: '完了', done: Math.max(progress.total, 1), total: Math.max(progress.total, 1) };
      view.progress = progress;
    }
    if (state === 'failed') view.error = job.failedReason || '帳票の作成に失敗しました';
    if (job.finishedOn) view.finishedAt = tokyoIso(job.finishedOn);
    return view;
  }

  async #process(job: Job, token?: string): Promise<{ fileIds: string[] }> {
    const data = job.data as JobData;
    const input: ReportJobInput =
      data.type === 'final'
        ? { type: 'final', from: data.from, to: data.to, ...(data.due ? { due: data.due } : {}) }
        : { type: 'monthly', month: this.#periodOfJob(job) };
    if (data.type === 'monthly' && !data.month)
      await job.updateData({ ...data, month: input.type === 'monthly' ? input.month : undefined });
    // progress updates go out in order, without holding up the build
    let updates: Promise<unknown> = Promise.resolve();
    const onProgress = (p: JobProgress) => {
      if (this.#stopping) throw new StoppingError();
      updates = updates.then(() => job.updateProgress(p)).catch(() => {});
    };
    try {
      this.#build ??= await documentBuilders();
      const saved = await produceReport({ sources: this.#sources, files: this.#o.files, build: this.#build }, input, {
        createdBy: data.createdBy,
        jobId: job.id,
        now: this.#o.now?.(),
        onProgress,
      });
      await updates;
      this.#log.info({ job: job.id, period: periodOf(input).period, files: saved.length }, 'report job done');
      reportJobs.labels('ok').inc();
      return { fileIds: saved.map((f) => f.id) };
    } catch (e) {
      await updates;
      if (this.#stopping) {
        // cut short by the suite stopping: back to the queue, to run again on the next start
        await job
          .updateProgress({ step: '待機中 (スイートの再起動後に再開します)', done: 0, total: 0 })
          .catch(() => {});
        await job.moveToDelayed(Date.now() + 1000, token);
        throw new DelayedError();
      }
      if (e instanceof AppError) throw new Error(e.message);
      this.#log.error({ err: e, job: job.id }, 'report job failed');
      throw new Error(`帳票の作成に失敗しました: ${(e as Error)?.message ?? String(e)}`);
    }
  }
}

export interface Reports {
  files: ReportFileStore;
  jobs: ReportJobs;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Demo: queues last month's package unless one is stored or on its way. */
  ensureLastMonthPackage(createdBy: string, now?: number): Promise<{ jobId?: string; period: string; label: string }>;
}

/**
 * reports/ as the suite runs it: the file store under `reportsDir` and the jobs on the suite's
 * Redis. Routes: registerReportRoutes(app, { ch, reports }).
 */
export function createReports(opts: Omit<ReportJobsOptions, 'files'> & { reportsDir: string }): Reports {
  const files = new ReportFileStore(opts.ch, opts.reportsDir);
  const jobs = new ReportJobs({ ...opts, files });
  return {
    files,
    jobs,
    async start() {
      const swept = await files.sweepTemporary();
      if (swept) opts.logger.warn({ swept }, 'removed temporary report files left by an earlier crash');
      await jobs.start();
    },
    stop: () => jobs.stop(),
    async ensureLastMonthPackage(createdBy, now = Date.now()) {
      const period = previousMonth(now);
      const label = periodLabel('monthly', period);
      // before 06:00 on the 1st the scheduler's own run is still to come (LINE's figures settle overnight)
      const tokyo = tokyoWallClock(now);
      if (tokyo.getUTCDate() === 1 && tokyo.getUTCHours() < 6) return { period, label };
      if (await files.hasPeriod('monthly', period)) return { period, label };
      const { jobId } = await jobs.enqueue({ type: 'monthly', month: period }, createdBy);
      return { jobId, period, label };
    },
  };
}
