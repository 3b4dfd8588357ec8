import { DelayedError, Queue, UnrecoverableError, Worker, type Job, type JobsOptions } from 'bullmq';
import type { ClickHouseClient } from '../../core/clickhouse.ts';
import { AppError } from '../../core/errors.ts';
import type { LineEndpoints } from '../../core/line.ts';
import type { Logger } from '../../core/logger.ts';
import { connectRedis, type Redis } from '../../core/redis.ts';
import type { TenantStore } from '../../core/tenants.ts';
import { InsightBudget, type BudgetOptions } from './budget.ts';
import { addDays, DAY_MS, daysInRange, HOUR_MS, tokyoDay } from './dates.ts';
import { InsightCallError, InsightFetcher, type FetchOutcome } from './fetcher.ts';
import { parseBackfillInput, sentAtMs, trackDeliveryInputSchema, type TrackDeliveryInput } from './input.ts';
import { InsightStore, type DeliveryKind, type TrackedDelivery } from './store.ts';

export const QUEUE_NAME = 'insight';
/** LINE's message statistics stop changing 14 days after sending. */
export const TRACK_MS = 14 * DAY_MS;
/** A delivery whose final poll could not happen within this long after its window is given up. */
const FINAL_POLL_GRACE_MS = 3 * DAY_MS;

export interface InsightPollersOptions {
  ch: ClickHouseClient;
  redisUrl: string;
  tenants: TenantStore;
  /** Where LINE calls go right now (LINE's base URL, the running sandbox's URL). */
  endpoints: () => LineEndpoints;
  logger: Logger;
  /** The clock for "yesterday", polling cadence and fetched_at. Default Date.now. */
  now?: () => number;
  /** Prefix of the queue's and the budget's Redis keys. Default 'tayori'. */
  prefix?: string;
  /** Per-channel call budget. Default 60 per hour (LINE's limit). */
  budget?: BudgetOptions;
  /** Cron pattern (Asia/Tokyo) of each tenant's daily followers job. Default 10:00. */
  dailyPattern?: string;
  /** Cron pattern (Asia/Tokyo) of the sweep that enqueues due delivery polls. Default every 10 minutes. */
  sweepPattern?: string;
  /** Jobs processed at once by this process's worker. Default 4. */
  concurrency?: number;
  /** Longest wait before asking again about a day LINE reports as unready (5, 10, 20, 40 min, then this). Default 1 h. */
  unreadyRetryMs?: number;
  /** Unready answers after which a day is given up (the job fails). Default 72. */
  maxUnreadyRetries?: number;
  /** A channel's rest after a 429 without Retry-After. Default 15 min. */
  rateLimitedPauseMs?: number;
  /** First retry delay after an error (exponential backoff). Default 1 min. */
  errorBackoffMs?: number;
  /** Days before yesterday that the daily job fills in when they are missing. Default 7. */
  catchUpDays?: number;
  /**
   * On start, enqueue what is due (missing days up to yesterday, due delivery polls), so that a
   * suite that was down at the scheduled time, or lost its Redis, catches up. Default true.
   */
  catchUpOnStart?: boolean;
}

export interface BackfillResult {
  /** Jobs added to the queue. */
  enqueued: number;
  /** Days already waiting in the queue (not added twice). */
  alreadyQueued: number;
  tenants: string[];
  /** Tenants left out of 'all' and why (Japanese). */
  skipped: Array<{ tenantId: string; reason: string }>;
  from: string;
  to: string;
  days: number;
}

export interface InsightStatus {
  counts: Record<'waiting' | 'delayed' | 'active' | 'completed' | 'failed', number>;
  schedulers: number;
}

export interface InsightPollers {
  /** Schedules (per tenant daily job, delivery sweep) and starts this process's worker. */
  start(): Promise<void>;
  /** Stops the worker (waits for jobs in progress) and closes the connections. */
  stop(): Promise<void>;
  /** Enqueues one followers job per tenant and day; validated (AppError with a Japanese message). */
  backfill(tenant: string, from: string, to: string): Promise<BackfillResult>;
  /** Registers a delivery whose statistics are polled for 14 days after sending. */
  trackDelivery(input: TrackDeliveryInput): Promise<TrackedDelivery>;
  /** Enqueues what is due now: yesterday's (and missing) followers of every tenant, due delivery polls. */
  runDueNow(): Promise<{ followers: number; messages: number }>;
  /** Makes the per-tenant daily schedulers match the tenants with credentials. */
  syncSchedulers(): Promise<number>;
  status(): Promise<InsightStatus>;
  /** The job schedulers (id in `key`, cron `pattern`, `tz`, `next` run). */
  schedulers(): Promise<Array<{ key: string; name: string; pattern?: string; tz?: string; next?: number }>>;
  readonly store: InsightStore;
  readonly budget: InsightBudget;
}

type FollowersJob = { tenantId: string; day: string; unready?: number };
type MessageJob = { tenantId: string; kind: DeliveryKind; key: string; sentAt: number; until: number };
type DailyJob = { tenantId: string };

/**
 * When a delivery's statistics are next due: an hour after sending and hourly through the first
 * day, then every 6 hours, and one final poll once the 14 days are over. undefined when done.
 */
export function nextPollAt(d: { sentAt: number; until: number; lastPolledAt?: number }): number | undefined {
  const last = d.lastPolledAt;
  if (last !== undefined && last >= d.until) return undefined;
  const from = last ?? d.sentAt;
  const interval = from - d.sentAt < DAY_MS ? HOUR_MS : 6 * HOUR_MS;
  return Math.min(from + interval, d.until);
}

const followersJobId = (tenantId: string, day: string) => `followers.${tenantId}.${day}`;
const messageJobId = (d: { tenantId: string; kind: string; key: string }) => `message.${d.tenantId}.${d.kind}.${d.key}`;
const dailySchedulerId = (tenantId: string) => `followers-daily.${tenantId}`;
const SWEEP_SCHEDULER = 'message-sweep';
const SYNC_SCHEDULER = 'sync-schedulers';

/**
 * Registers a delivery for statistics polling. Writes only to ClickHouse (the record the pollers'
 * sweep reads), so a module without the pollers at hand can call it too.
 */
export async function trackDelivery(
  deps: { ch: ClickHouseClient; tenants?: TenantStore; now?: () => number },
  input: TrackDeliveryInput,
): Promise<TrackedDelivery> {
  const parsed = trackDeliveryInputSchema.parse(input);
  const sentAt = sentAtMs(parsed.sentAt);
  if (deps.tenants) await deps.tenants.require(parsed.tenantId);
  const d: TrackedDelivery = {
    tenantId: parsed.tenantId,
    kind: parsed.kind,
    key: parsed.key,
    sentAt,
    until: sentAt + TRACK_MS,
  };
  await new InsightStore(deps.ch).track(d, (deps.now ?? Date.now)());
  return d;
}

export function createInsightPollers(opts: InsightPollersOptions): InsightPollers {
  const log = opts.logger.child({ module: 'insight' });
  const now = opts.now ?? Date.now;
  const prefix = opts.prefix ?? 'tayori';
  const dailyPattern = opts.dailyPattern ?? '0 10 * * *';
  const sweepPattern = opts.sweepPattern ?? '*/10 * * * *';
  const unreadyRetryMs = opts.unreadyRetryMs ?? HOUR_MS;
  const maxUnready = opts.maxUnreadyRetries ?? 72;
  const catchUpDays = opts.catchUpDays ?? 7;

  const connections: Redis[] = [];
  const connect = (forQueues: boolean, failFast = false) => {
    const c = connectRedis(opts.redisUrl, { forQueues, failFast });
    c.on('error', (e) => log.warn({ err: e.message }, 'redis connection error'));
    connections.push(c);
    return c;
  };
  const budgetRedis = connect(false);
  const budget = new InsightBudget(budgetRedis, { prefix, ...opts.budget });
  const store = new InsightStore(opts.ch);
  const fetcher = new InsightFetcher({
    tenants: opts.tenants,
    store,
    budget,
    endpoints: opts.endpoints,
    now,
    rateLimitedPauseMs: opts.rateLimitedPauseMs ?? 15 * 60_000,
  });
  const defaultJobOptions: JobsOptions = {
    attempts: 8,
    backoff: { type: 'exponential', delay: opts.errorBackoffMs ?? 60_000 },
    removeOnComplete: true,
    removeOnFail: { age: 14 * 24 * 3600, count: 5000 },
  };
  // failFast: /api/v1/insight/status and backfill answer 503 at once while Redis is down
  const queue = new Queue(QUEUE_NAME, { connection: connect(true, true), prefix, defaultJobOptions });
  queue.on('error', (e) => log.warn({ err: e.message }, 'insight queue error'));
  let worker: Worker | undefined;

  /** Adds jobs by id; one already waiting or delayed is kept, a finished one is replaced. */
  async function addUnique(
    jobs: Array<{ name: string; data: unknown; id: string }>,
  ): Promise<{ added: number; already: number }> {
    const fresh: Array<{ name: string; data: unknown; opts: JobsOptions }> = [];
    let already = 0;
    for (let i = 0; i < jobs.length; i += 100) {
      const chunk = jobs.slice(i, i + 100);
      const states = await Promise.all(
        chunk.map(async (j) => {
          const existing = await queue.getJob(j.id);
          if (!existing) return 'none';
          const state = await existing.getState();
          if (state === 'completed' || state === 'failed') {
            await existing.remove().catch(() => {});
            return 'none';
          }
          return state;
        }),
      );
      chunk.forEach((j, k) => {
        if (states[k] === 'none' || states[k] === 'unknown')
          fresh.push({ name: j.name, data: j.data, opts: { jobId: j.id } });
        else already++;
      });
    }
    for (let i = 0; i < fresh.length; i += 500) await queue.addBulk(fresh.slice(i, i + 500));
    return { added: fresh.length, already };
  }

  function enqueueFollowers(tenantId: string, days: string[]) {
    return addUnique(
      days.map((day) => ({
        name: 'followers',
        id: followersJobId(tenantId, day),
        data: { tenantId, day } satisfies FollowersJob,
      })),
    );
  }

  /** Yesterday and any missing day of the week before it. */
  async function enqueueDaily(tenantId: string): Promise<number> {
    const yesterday = addDays(tokyoDay(now()), -1);
    const from = addDays(yesterday, -catchUpDays);
    const stored = await store.storedDays(tenantId, from, yesterday);
    const days = daysInRange(from, yesterday).filter((d) => !stored.has(d));
    return (await enqueueFollowers(tenantId, days)).added;
  }

  async function sweep(): Promise<number> {
    const t = now();
    const active = await store.trackedActive(t - FINAL_POLL_GRACE_MS);
    const due = active.filter((d) => {
      const at = nextPollAt(d);
      return at !== undefined && at <= t;
    });
    const { added } = await addUnique(
      due.map((d) => ({
        name: 'message-stats',
        id: messageJobId(d),
        data: { tenantId: d.tenantId, kind: d.kind, key: d.key, sentAt: d.sentAt, until: d.until } satisfies MessageJob,
      })),
    );
    if (added) log.debug({ added }, 'delivery statistics polls enqueued');
    return added;
  }

  async function credentialedTenants(): Promise<string[]> {
    return (await opts.tenants.list()).filter((t) => t.hasCredentials).map((t) => t.id);
  }

  async function syncSchedulers(): Promise<number> {
    const ids = await credentialedTenants();
    const existing = new Map((await queue.getJobSchedulers(0, -1)).map((s) => [s.key, s]));
    const want = new Set<string>();
    const ensure = async (id: string, pattern: string, name: string, data: unknown) => {
      want.add(id);
      const s = existing.get(id);
      if (s && s.pattern === pattern && s.tz === 'Asia/Tokyo') return;
      await queue.upsertJobScheduler(
        id,
        { pattern, tz: 'Asia/Tokyo' },
        { name, data, opts: { removeOnComplete: true, removeOnFail: 100 } },
      );
    };
    for (const id of ids)
      await ensure(dailySchedulerId(id), dailyPattern, 'followers-daily', { tenantId: id } satisfies DailyJob);
    await ensure(SWEEP_SCHEDULER, sweepPattern, 'message-sweep', {});
    await ensure(SYNC_SCHEDULER, '*/15 * * * *', 'sync-schedulers', {});
    for (const key of existing.keys()) {
      if (!want.has(key)) await queue.removeJobScheduler(key);
    }
    return ids.length;
  }

  async function runDueNow(): Promise<{ followers: number; messages: number }> {
    let followers = 0;
    for (const id of await credentialedTenants()) followers += await enqueueDaily(id);
    const messages = await sweep();
    return { followers, messages };
  }

  /** Leaves the job for later without counting a failed attempt. */
  async function postpone(job: Job, token: string | undefined, until: number, why: string): Promise<never> {
    const at = Math.max(until, Date.now() + 50) + Math.floor(Math.random() * 200);
    log.debug({ job: job.id, until: new Date(at).toISOString(), why }, 'insight job postponed');
    await job.moveToDelayed(at, token);
    throw new DelayedError();
  }

  async function outcome<T>(job: Job, token: string | undefined, o: FetchOutcome<T>): Promise<T | undefined> {
    if (o.kind === 'wait') return postpone(job, token, o.until, o.reason);
    if (o.kind === 'stored') return o.value;
    return undefined;
  }

  async function processJob(job: Job, token?: string): Promise<unknown> {
    try {
      switch (job.name) {
        case 'followers': {
          const data = job.data as FollowersJob;
          const o = await fetcher.followersDay(data.tenantId, data.day);
          if (o.kind === 'unready') {
            const n = (data.unready ?? 0) + 1;
            if (n > maxUnready)
              throw new UnrecoverableError(
                `${data.day} の友だち数が ${maxUnready} 回問い合わせても集計済みになりませんでした`,
              );
            await job.updateData({ ...data, unready: n });
            // Soon at first (LINE finishes its counts in the morning), then every unreadyRetryMs.
            return postpone(job, token, Date.now() + Math.min(unreadyRetryMs, 5 * 60_000 * 2 ** (n - 1)), 'unready');
          }
          const row = await outcome(job, token, o);
          return row && { day: row.day, status: row.status };
        }
        case 'message-stats': {
          const data = job.data as MessageJob;
          const snap = await outcome(job, token, await fetcher.messageStats(data));
          return snap && { status: snap.status };
        }
        case 'followers-daily':
          return { enqueued: await enqueueDaily((job.data as DailyJob).tenantId) };
        case 'message-sweep':
          return { enqueued: await sweep() };
        case 'catch-up': {
          const due = await runDueNow();
          if (due.followers || due.messages) log.info(due, 'insight catch-up enqueued');
          return due;
        }
        case 'sync-schedulers':
          return { tenants: await syncSchedulers() };
        default:
          throw new UnrecoverableError(`unknown insight job ${job.name}`);
      }
    } catch (e) {
      if (e instanceof InsightCallError) {
        log.warn({ job: job.id, status: e.status, permanent: e.permanent, err: e.message }, 'insight call failed');
        if (e.permanent) throw new UnrecoverableError(e.message);
      }
      throw e;
    }
  }

  return {
    store,
    budget,

    async start() {
      await syncSchedulers();
      worker = new Worker(QUEUE_NAME, processJob, {
        connection: connect(true),
        prefix,
        concurrency: opts.concurrency ?? 4,
      });
      worker.on('error', (e) => log.warn({ err: e.message }, 'insight worker error'));
      worker.on('failed', (job, e) => log.warn({ job: job?.id, err: e.message }, 'insight job failed'));
      await worker.waitUntilReady();
      // What fell due while the suite was down (the record is ClickHouse, not Redis): done by
      // the worker, so that starting the suite does not wait for it.
      if (opts.catchUpOnStart ?? true) await addUnique([{ name: 'catch-up', id: 'catch-up', data: {} }]);
    },

    async stop() {
      await worker?.close();
      worker = undefined;
      await queue.close();
      await Promise.all(connections.splice(0).map((c) => c.quit().catch(() => c.disconnect())));
    },

    async backfill(tenant, from, to) {
      const input = parseBackfillInput({ tenant, from, to }, now());
      const skipped: BackfillResult['skipped'] = [];
      let ids: string[];
      if (input.tenant === 'all') {
        const all = await opts.tenants.list();
        ids = all.filter((t) => t.hasCredentials).map((t) => t.id);
        for (const t of all) if (!t.hasCredentials) skipped.push({ tenantId: t.id, reason: 'チャネル情報が未設定' });
        if (ids.length === 0) throw new AppError('no_tenants', 'チャネル情報が設定されたテナントがありません', 409);
      } else {
        const t = await opts.tenants.require(input.tenant);
        if (!t.hasCredentials) {
          throw new AppError(
            'tenant_no_credentials',
            `テナント ${t.id} のチャネル情報 (シークレット・アクセストークン) が未設定です`,
            409,
          );
        }
        ids = [t.id];
      }
      const days = daysInRange(input.from, input.to);
      let enqueued = 0;
      let alreadyQueued = 0;
      for (const id of ids) {
        const r = await enqueueFollowers(id, days);
        enqueued += r.added;
        alreadyQueued += r.already;
      }
      log.info({ tenants: ids.length, from: input.from, to: input.to, enqueued }, 'insight backfill enqueued');
      return { enqueued, alreadyQueued, tenants: ids, skipped, from: input.from, to: input.to, days: days.length };
    },

    async trackDelivery(input) {
      return trackDelivery({ ch: opts.ch, tenants: opts.tenants, now }, input);
    },

    runDueNow,

    syncSchedulers,

    async schedulers() {
      return (await queue.getJobSchedulers(0, -1)).map((s) => ({
        key: s.key,
        name: s.name,
        pattern: s.pattern,
        tz: s.tz,
        next: s.next,
      }));
    },

    async status() {
      const c = await queue.getJobCounts('waiting', 'delayed', 'active', 'completed', 'failed');
      return {
        counts: {
          waiting: c.waiting ?? 0,
          delayed: c.delayed ?? 0,
          active: c.active ?? 0,
          completed: c.completed ?? 0,
          failed: c.failed ?? 0,
        },
        schedulers: await queue.getJobSchedulersCount(),
      };
    },
  };
}
