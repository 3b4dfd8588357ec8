/**
 * Fan-out: a delivery's audience is enumerated from ClickHouse in user_id order (keyset pages, so a
 * restart resumes at the cursor), cut into multicast batches of 500 and queued as BullMQ jobs on
 * its tenant's queue; workers send them under the channel's rate limit with a retry key derived
 * from (delivery, batch). Outcomes go to ClickHouse (delivery_batches) and are counted once in
 * Redis; the last batch settles the delivery record.
 *
 * Queues: `tayori-delivery-control` (start jobs; delayed for scheduled deliveries) and one
 * `tayori-delivery-batches-<tenantId>` per tenant, so a 2M-recipient delivery on one account never
 * holds up another account's batches.
 */
import { randomBytes } from 'node:crypto';
import { HTTPFetchError, type messagingApi } from '@line/bot-sdk';
import { Queue, Worker, type Job } from 'bullmq';
import type { ClickHouseClient } from '../core/clickhouse.ts';
import { lineClients, type LineEndpoints } from '../core/line.ts';
import type { Logger } from '../core/logger.ts';
import { connectRedis, type Redis } from '../core/redis.ts';
import type { TenantStore } from '../core/tenants.ts';
import { compileCondition, type Audience } from './audience.ts';
import { batchRetryKey } from './ids.ts';
import { japaneseLineMessage, type DeliveryMessage } from './messages.ts';
import { DeliveryRedis, keys } from './redis-state.ts';
import type { BatchOutcome, DeliveryRecord, DeliveryStore } from './store.ts';
import { sql } from '../core/sql.ts';
import { chDateTime } from '../core/time.ts';

export const BATCH_SIZE = 500;
const PREFIX = 'tayori';
const CONTROL_QUEUE = 'tayori-delivery-control';
const batchQueueName = (tenantId: string) => `tayori-delivery-batches-${tenantId}`;

export interface FanOutOptions {
  ch: ClickHouseClient;
  redisUrl: string;
  tenants: TenantStore;
  endpoints: () => LineEndpoints;
  logger: Logger;
  store: DeliveryStore;
  /** Multicast requests per second per channel (LINE's default 200). */
  multicastPerSecond?: number | ((tenantId: string) => number);
  /** Share of the limit actually used, so clock jitter rarely crosses LINE's window (default 0.95). */
  headroom?: number;
  /** Batches in flight per tenant worker (default 256; pacing, not concurrency, keeps the rate). */
  concurrency?: number;
  /** A multicast request that has not answered after this long is retried (default 20 s). */
  requestTimeoutMs?: number;
  /** Attempts for 5xx / timeouts before a batch is marked failed (default 8). */
  maxAttempts?: number;
  /** First backoff after a 5xx / timeout (doubles, default 500 ms, at most 30 s). */
  retryBaseMs?: number;
  /** First pause of a channel after a 429 (doubles while 429s continue, default 250 ms, at most 10 s). */
  backoff429Ms?: number;
  /** Consecutive 429s on one batch before it is failed (default 200). */
  max429?: number;
  /** BullMQ lock of an active job: how soon a crashed worker's batches are taken over (default 30 s). */
  lockDurationMs?: number;
  /** Audience rows per ClickHouse page (default 100,000). */
  pageSize?: number;
  /** Registers a finished delivery's aggregation unit for Insight polling (ingest/insight). */
  trackDelivery?: (input: { tenantId: string; kind: 'aggregation_unit'; key: string; sentAt: number }) => Promise<unknown>;
  /** Called when a delivery reaches done / failed (tests, dashboards). */
  onFinished?: (d: DeliveryRecord) => void;
  /** Base of tracked links (/r/<token>). */
  publicUrl?: () => string | undefined;
}

interface BatchJob {
  d: string;
  t: string;
  b: number;
  u: string[];
  /** Click bucket of these recipients (tracked links only). */
  k?: string;
}

interface Payload {
  tenantId: string;
  messages: DeliveryMessage[];
  notificationDisabled: boolean;
  unit: string;
  links: string[];
}

/** The bucket a resident's clicks count in, from the attribute the delivery splits by. */
export function bucketOf(by: string, values: string[] | undefined): string {
  const v = values?.[0];
  if (!v) return 'unknown';
  if (by === 'age') {
    const y = Number(v);
    return Number.isInteger(y) ? String(Math.floor(y / 10) * 10) : 'unknown';
  }
  return v;
}

interface ChannelClient {
  messaging: messagingApi.MessagingApiClient;
  channel: string;
  at: number;
}

export class FanOut {
  readonly #o: Required<Omit<FanOutOptions, 'trackDelivery' | 'onFinished' | 'publicUrl'>> & Pick<FanOutOptions, 'trackDelivery' | 'onFinished' | 'publicUrl'>;
  /** delivery id + bucket → messages with their tracked links filled in. */
  readonly #filled = new Map<string, DeliveryMessage[]>();
  readonly #redis: Redis;
  readonly state: DeliveryRedis;
  readonly control: Queue;
  readonly #queues = new Map<string, Queue>();
  readonly #workers = new Map<string, Worker>();
  #controlWorker: Worker | undefined;
  readonly #payloads = new Map<string, Payload>();
  readonly #clients = new Map<string, ChannelClient>();
  #stopped = false;
  readonly #connections: Redis[] = [];
  /** Channels that saw a 429 lately (their back-off streak is reset on the next success). */
  readonly #recent429 = new Map<string, number>();

  constructor(opts: FanOutOptions) {
    this.#o = {
      multicastPerSecond: 200, headroom: 0.95, concurrency: 256, requestTimeoutMs: 20_000, maxAttempts: 8, retryBaseMs: 500,
      backoff429Ms: 250, max429: 200, lockDurationMs: 30_000, pageSize: 100_000, ...opts,
    };
    this.#redis = connectRedis(opts.redisUrl, { forQueues: true });
    this.#redis.on('error', (e) => opts.logger.warn({ err: e.message }, 'delivery redis error'));
    this.state = new DeliveryRedis(this.#redis);
    this.control = new Queue(CONTROL_QUEUE, { connection: this.#redis, prefix: PREFIX });
  }

  #connection(): Redis {
    const c = this.#redis.duplicate();
    c.on('error', (e) => this.#o.logger.warn({ err: e.message }, 'delivery redis error'));
    this.#connections.push(c);
    return c;
  }

  get redis(): Redis {
    return this.#redis;
  }

  /** Starts the control worker and picks up deliveries left in flight or scheduled. */
  async start(): Promise<void> {
    this.#controlWorker = new Worker(CONTROL_QUEUE, (job) => this.#runStart(job), {
      connection: this.#connection(), prefix: PREFIX, concurrency: 4,
      lockDuration: this.#o.lockDurationMs, stalledInterval: Math.max(1000, Math.floor(this.#o.lockDurationMs / 2)), maxStalledCount: 100,
    });
    this.#controlWorker.on('error', (e) => this.#o.logger.warn({ err: e.message }, 'delivery control worker error'));
    await this.#controlWorker.waitUntilReady();
    // a worker per tenant that can send, ready before the first delivery
    for (const t of await this.#o.tenants.list()) if (t.hasCredentials) this.ensureWorker(t.id);
    for (const d of await this.#o.store.inFlight()) {
      this.ensureWorker(d.tenant_id);
      await this.enqueueStart(d.tenant_id, d.delivery_id, 0);
    }
    const now = Date.now();
    for (const d of await this.#o.store.scheduled()) await this.enqueueStart(d.tenant_id, d.delivery_id, Math.max(0, Number(d.scheduled_ms) - now));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#controlWorker?.close();
    await Promise.all([...this.#workers.values()].map((w) => w.close()));
    await Promise.all([...this.#queues.values()].map((q) => q.close()));
    await this.control.close();
    await this.#o.store.batchWriter.drain();
    for (const c of this.#connections) await c.quit().catch(() => {});
    await this.#redis.quit().catch(() => {});
  }

  /** Queues the start of a delivery after `delayMs` (0: now). Re-queuing a pending start is a no-op. */
  async enqueueStart(tenantId: string, id: string, delayMs: number): Promise<void> {
    await this.control.add('start', { t: tenantId, d: id }, { jobId: `start-${id}`, delay: Math.max(0, delayMs), removeOnComplete: true, removeOnFail: 1000, attempts: 5, backoff: { type: 'exponential', delay: 2000 } });
  }

  /** Drops a pending start (reschedule, cancel); false when it is already running. */
  async removeStart(id: string): Promise<boolean> {
    const job = await this.control.getJob(`start-${id}`);
    if (!job) return true;
    try {
      await job.remove();
      return true;
    } catch {
      return false;
    }
  }

  ensureWorker(tenantId: string): void {
    if (this.#workers.has(tenantId) || this.#stopped) return;
    const w = new Worker<BatchJob>(batchQueueName(tenantId), (job) => this.#runBatch(job), {
      connection: this.#connection(), prefix: PREFIX, concurrency: this.#o.concurrency,
      lockDuration: this.#o.lockDurationMs, stalledInterval: Math.max(1000, Math.floor(this.#o.lockDurationMs / 2)), maxStalledCount: 1000,
      removeOnComplete: { count: 0 }, removeOnFail: { count: 10_000 },
    });
    w.on('error', (e) => this.#o.logger.warn({ err: e.message, tenantId }, 'delivery batch worker error'));
    w.on('failed', (job, err) => this.#o.logger.error({ err, tenantId, job: job?.id }, 'delivery batch job failed'));
    this.#workers.set(tenantId, w);
  }

  #queue(tenantId: string): Queue {
    let q = this.#queues.get(tenantId);
    if (!q) {
      q = new Queue(batchQueueName(tenantId), { connection: this.#redis, prefix: PREFIX });
      this.#queues.set(tenantId, q);
    }
    return q;
  }

  // ---------------------------------------------------------------- start: enumerate and queue

  async #runStart(job: Job): Promise<void> {
    const { t: tenantId, d: id } = job.data as { t: string; d: string };
    const d = await this.#o.store.get(tenantId, id);
    if (!d || !['scheduled', 'queued', 'sending'].includes(d.status)) return;
    // rescheduled to later: the newer start job takes it
    if (d.status === 'scheduled' && d.scheduledAt !== null && d.scheduledAt > Date.now() + 1000) return;
    const [moved, was] = await this.state.cas(id, 'sending', ['', 'scheduled', 'queued', 'sending']);
    if (!moved) {
      this.#o.logger.info({ id, state: was }, 'delivery not started (state changed)');
      return;
    }
    const p = keys.progress(id);
    await this.#redis.hsetnx(p, 'startedAt', String(Date.now()));
    await this.#redis.hset(p, 'tenant', tenantId);
    await this.#savePayload(d);
    const startedAt = Number(await this.#redis.hget(p, 'startedAt'));
    if (d.status !== 'sending') await this.#o.store.put({ ...d, status: 'sending', startedAt, updatedAt: Date.now() });
    this.ensureWorker(tenantId);

    let prog = (await this.state.progress(id))!;
    if (!prog.enumerated) {
      try {
        await this.#enumerate(d, prog);
      } catch (err) {
        this.#o.logger.error({ err, id }, 'audience enumeration failed');
        throw err;
      }
      prog = (await this.state.progress(id))!;
      await this.#o.store.put({ ...d, status: 'sending', startedAt, targets: prog.targets, batches: prog.batches, updatedAt: Date.now() });
    }
    if (prog.settled >= prog.batches) await this.finalize(tenantId, id);
  }

  async #enumerate(d: DeliveryRecord, start: { cursor: string; pendingUpto: string; enqueued: number }): Promise<void> {
    const p = keys.progress(d.id);
    let cursor = start.cursor;
    let nextBatch = start.enqueued;
    let pendingUpto = start.pendingUpto;
    const queue = this.#queue(d.tenantId);
    // small first pages, so the first batches go out while the rest is read
    let limit = Math.min(this.#o.pageSize, 2 * BATCH_SIZE);
    for (;;) {
      if (this.#stopped) throw new Error('stopping');
      const page = await this.#page(d, cursor, pendingUpto, limit);
      limit = Math.min(this.#o.pageSize, limit * 4);
      if (page.ids.length > 0) {
        const jobs: Array<{ name: string; data: BatchJob; opts: { jobId: string } }> = [];
        for (const [bucket, ids] of await this.#buckets(d, page.ids, cursor, page.upto)) {
          for (let i = 0; i < ids.length; i += BATCH_SIZE) {
            const b: number = nextBatch + jobs.length;
            jobs.push({ name: 'b', data: { d: d.id, t: d.tenantId, b, u: ids.slice(i, i + BATCH_SIZE), ...(bucket !== undefined ? { k: bucket } : {}) }, opts: { jobId: `${d.id}-${b}` } });
          }
        }
        // The range is fixed before its jobs exist: a restart re-cuts exactly this range.
        await this.#redis.hset(p, 'pendingUpto', page.upto);
        for (let i = 0; i < jobs.length; i += 200) await queue.addBulk(jobs.slice(i, i + 200));
        nextBatch += jobs.length;
        await this.#redis.multi().hset(p, 'cursor', page.upto, 'enqueued', String(nextBatch)).hincrby(p, 'targets', page.ids.length).hdel(p, 'pendingUpto').exec();
        cursor = page.upto;
      } else if (pendingUpto) {
        await this.#redis.multi().hset(p, 'cursor', page.upto).hdel(p, 'pendingUpto').exec();
        cursor = page.upto;
      }
      pendingUpto = '';
      if (page.done) break;
    }
    await this.#redis.hset(p, 'batches', String(nextBatch), 'enumerated', '1');
  }

  /**
   * Recipients grouped by click bucket (one group, undefined, when links are not tracked), with a
   * redirect token per (link, bucket) stored before any batch that uses it is queued.
   */
  async #buckets(d: DeliveryRecord, ids: string[], after: string, upto: string): Promise<Map<string | undefined, string[]>> {
    if (d.links.length === 0) return new Map([[undefined, ids]]);
    const groups = new Map<string | undefined, string[]>();
    if (!d.clickBucket) groups.set('', ids);
    else {
      const item = d.clickBucket === 'age' ? 'birth_year' : d.clickBucket;
      const rows = await this.#o.store.rows<{ user_id: string; values: string[] }>('delivery.bucket_attrs', { tenant: d.tenantId, item, after, upto });
      const byUser = new Map(rows.map((r) => [r.user_id, r.values]));
      for (const u of ids) {
        const k = bucketOf(d.clickBucket, byUser.get(u));
        let g = groups.get(k);
        if (!g) groups.set(k, (g = []));
        g.push(u);
      }
    }
    const fresh: Array<{ token: string; tenant_id: string; delivery_id: string; link_no: number; bucket: string; url: string }> = [];
    for (const bucket of groups.keys()) {
      for (let n = 0; n < d.links.length; n++) {
        const token = randomBytes(12).toString('base64url');
        if ((await this.#redis.hsetnx(keys.links(d.id), `${n}|${bucket}`, token)) === 1) {
          fresh.push({ token, tenant_id: d.tenantId, delivery_id: d.id, link_no: n, bucket: bucket ?? '', url: d.links[n]! });
        }
      }
    }
    await this.#o.store.putLinks(fresh);
    return groups;
  }

  /** Messages with tracked links replaced by their redirect URLs for this bucket. */
  async #messagesFor(id: string, payload: Payload, bucket: string | undefined): Promise<DeliveryMessage[]> {
    if (payload.links.length === 0 || bucket === undefined) return payload.messages;
    const cacheKey = `${id}|${bucket}`;
    const hit = this.#filled.get(cacheKey);
    if (hit) return hit;
    const tokens = await this.#redis.hgetall(keys.links(id));
    const base = (this.#o.publicUrl?.() ?? '').replace(/\/$/, '');
    const filled = payload.messages.map((m) =>
      m.type === 'text' ? { ...m, text: m.text.replace(/\{\{link:(\d+)\}\}/g, (_, n: string) => `${base}/r/${tokens[`${n}|${bucket}`] ?? ''}`) } : m,
    );
    if (this.#filled.size > 1000) this.#filled.clear();
    this.#filled.set(cacheKey, filled);
    return filled;
  }

  /** The next page of the audience after `after` (or exactly the range up to `upto` when resuming). */
  async #page(d: DeliveryRecord, after: string, upto: string, limit: number): Promise<{ ids: string[]; upto: string; done: boolean }> {
    const a: Audience = d.audience;
    if (a.type === 'test') {
      const ids = (await this.#o.store.testDevices(d.tenantId)).map((x) => x.userId).filter((u) => u > after).sort();
      return { ids, upto: ids.at(-1) ?? after, done: true };
    }
    let done = false;
    if (!upto) {
      const page = await this.#userIds('delivery.audience_page', { tenant: d.tenantId, after, limit });
      done = page.length < limit;
      if (page.length === 0) return { ids: [], upto: after, done: true };
      upto = page.at(-1)!;
      if (a.type === 'all') return { ids: page, upto, done };
    }
    if (a.type === 'all') {
      const ids = await this.#userIds('delivery.audience_segment_range', { tenant: d.tenantId, after, upto }, '1');
      return { ids, upto, done };
    }
    const c = compileCondition(a.condition);
    const ids = await this.#userIds('delivery.audience_segment_range', { tenant: d.tenantId, after, upto, ...c.params }, c.sql);
    return { ids, upto, done };
  }

  async #userIds(name: string, params: Record<string, unknown>, segment?: string): Promise<string[]> {
    const query = segment === undefined ? sql(name) : sql(name).replaceAll('{{segment}}', segment);
    const rs = await this.#o.ch.query({ query, query_params: params, format: 'TabSeparated' });
    const text = await rs.text();
    if (text.length === 0) return [];
    const ids = text.split('\n');
    if (ids.at(-1) === '') ids.pop();
    return ids;
  }

  async #savePayload(d: DeliveryRecord): Promise<Payload> {
    const payload: Payload = { tenantId: d.tenantId, messages: d.messages, notificationDisabled: d.notificationDisabled, unit: d.aggregationUnit, links: d.links };
    await this.#redis.set(keys.payload(d.id), JSON.stringify(payload), 'EX', 7 * 86_400);
    this.#payloads.set(d.id, payload);
    return payload;
  }

  async #payload(tenantId: string, id: string): Promise<Payload> {
    const cached = this.#payloads.get(id);
    if (cached) return cached;
    const text = await this.#redis.get(keys.payload(id));
    if (text) {
      const p = JSON.parse(text) as Payload;
      p.links ??= [];
      if (this.#payloads.size > 100) this.#payloads.delete(this.#payloads.keys().next().value!);
      this.#payloads.set(id, p);
      return p;
    }
    return this.#savePayload(await this.#o.store.require(tenantId, id));
  }

  async #client(tenantId: string): Promise<ChannelClient> {
    const c = this.#clients.get(tenantId);
    if (c && Date.now() - c.at < 60_000) return c;
    const creds = await this.#o.tenants.credentials(tenantId);
    const fresh = { messaging: lineClients(creds, this.#o.endpoints()).messaging, channel: creds.channelId || tenantId, at: Date.now() };
    this.#clients.set(tenantId, fresh);
    return fresh;
  }

  #rate(tenantId: string): number {
    const r = this.#o.multicastPerSecond;
    return typeof r === 'function' ? r(tenantId) : r;
  }

  // ---------------------------------------------------------------- batches

  async #runBatch(job: Job<BatchJob>): Promise<void> {
    const { d: id, t: tenantId, b, u, k } = job.data;
    if (await this.state.isSettled(id, b)) return;
    const payload = await this.#payload(tenantId, id);
    const messages = await this.#messagesFor(id, payload, k);
    const retryKey = batchRetryKey(id, b);
    const outcome: BatchOutcome = {
      tenant_id: tenantId, delivery_id: id, batch_no: b, recipients: u.length, status: 'failed', http_status: 0,
      request_id: '', retry_key: retryKey, attempts: 0, reason: '', settled_at: '',
    };
    let client: ChannelClient;
    try {
      client = await this.#client(tenantId);
    } catch (err) {
      outcome.reason = (err as Error).message;
      return this.#settle(outcome);
    }
    const intervalUs = 1e6 / (this.#rate(tenantId) * this.#o.headroom);
    let strikes429 = 0;
    let transient = 0;
    for (;;) {
      if (this.#stopped) throw new Error('worker stopping; the batch is taken over after restart');
      await this.state.pace(client.channel, intervalUs);
      outcome.attempts++;
      try {
        const res = await withTimeout(
          client.messaging.multicastWithHttpInfo(
            { to: u, messages: messages as messagingApi.Message[], notificationDisabled: payload.notificationDisabled, customAggregationUnits: [payload.unit] },
            retryKey,
          ),
          this.#o.requestTimeoutMs,
        );
        outcome.status = 'accepted';
        outcome.http_status = 200;
        outcome.request_id = res.httpResponse.headers.get('x-line-request-id') ?? '';
        break;
      } catch (err) {
        if (err instanceof HTTPFetchError) {
          outcome.http_status = err.status;
          if (err.status === 409) {
            // an earlier attempt with this key was accepted: LINE did not send it again
            outcome.status = 'accepted';
            outcome.request_id = err.headers.get('x-line-accepted-request-id') ?? err.headers.get('x-line-request-id') ?? '';
            break;
          }
          if (err.status === 429) {
            const reason = lineReason(err);
            if (/monthly limit/i.test(err.body ?? '') || ++strikes429 > this.#o.max429) {
              outcome.reason = reason;
              break;
            }
            this.#recent429.set(client.channel, Date.now());
            await this.state.backoff(client.channel, this.#o.backoff429Ms, 10_000);
            continue;
          }
          if (err.status < 500) {
            outcome.reason = lineReason(err);
            break;
          }
          outcome.reason = lineReason(err);
        } else {
          outcome.http_status = 0;
          outcome.reason = err instanceof TimeoutError ? `LINE からの応答がありません (${this.#o.requestTimeoutMs} ms)` : `LINE に接続できません: ${(err as Error).message}`;
        }
        if (++transient >= this.#o.maxAttempts) break;
        await sleep(Math.min(30_000, this.#o.retryBaseMs * 2 ** (transient - 1)));
      }
    }
    if (outcome.status === 'accepted') {
      outcome.reason = '';
      const last429 = this.#recent429.get(client.channel);
      if (last429 !== undefined) {
        this.#recent429.delete(client.channel);
        if (Date.now() - last429 < 10_000) await this.state.clearBackoff(client.channel);
      }
    }
    await this.#settle(outcome);
  }

  /**
   * Counts the outcome in Redis (once), then appends it to ClickHouse through the group-commit
   * buffer without waiting: a row lost to a crash is written from Redis when the delivery is
   * finalized. Waiting for each INSERT would cost a ClickHouse part per few batches.
   */
  async #settle(outcome: BatchOutcome): Promise<void> {
    outcome.settled_at = chDateTime(Date.now());
    const complete = await this.state.settle(outcome.delivery_id, outcome.batch_no, outcome.status === 'accepted', outcome.recipients, JSON.stringify(outcome));
    this.#o.store.batchWriter.write([outcome]).catch((err: unknown) => this.#o.logger.warn({ err, id: outcome.delivery_id }, 'batch outcome not written yet (written when the delivery finishes)'));
    if (complete) await this.finalize(outcome.tenant_id, outcome.delivery_id);
  }

  /** Writes the outcome rows ClickHouse does not have yet (after a crash, or a full buffer). */
  async #reconcileOutcomes(tenantId: string, id: string): Promise<void> {
    await this.#o.store.batchWriter.drain();
    const stored = new Set((await this.#o.store.batches(tenantId, id)).map((r) => Number(r.batch_no)));
    const missing: BatchOutcome[] = [];
    for (const [b, v] of Object.entries(await this.state.settledRecords(id))) {
      if (stored.has(Number(b))) continue;
      try {
        missing.push(JSON.parse(v) as BatchOutcome);
      } catch {
        /* an entry without its record */
      }
    }
    if (missing.length) await this.#o.store.batchWriter.write(missing);
  }

  /** Writes the final record once every batch is settled (idempotent). */
  async finalize(tenantId: string, id: string): Promise<void> {
    const prog = await this.state.progress(id);
    if (!prog || !prog.enumerated || prog.settled < prog.batches) return;
    const d = await this.#o.store.get(tenantId, id);
    if (!d || d.status === 'done' || d.status === 'failed' || d.status === 'cancelled') return;
    await this.#reconcileOutcomes(tenantId, id);
    const status = prog.batches > 0 && prog.acceptedBatches === 0 ? 'failed' : 'done';
    const final: DeliveryRecord = {
      ...d, status, targets: prog.targets, batches: prog.batches, accepted: prog.accepted, failed: prog.failed,
      startedAt: d.startedAt ?? prog.startedAt, finishedAt: Date.now(), updatedAt: Date.now(),
      error: status === 'failed' ? 'すべてのバッチが LINE に受け付けられませんでした' : '',
    };
    await this.#o.store.put(final);
    await this.state.setState(id, status);
    // work in flight is over: the record of it is in ClickHouse; Redis keeps it a week for the live view
    await this.#redis.multi().expire(keys.progress(id), 7 * 86_400).expire(keys.settled(id), 7 * 86_400).expire(keys.links(id), 7 * 86_400).exec();
    this.#o.onFinished?.(final);
    if (final.kind === 'normal' && final.accepted > 0 && this.#o.trackDelivery) {
      await this.#o.trackDelivery({ tenantId, kind: 'aggregation_unit', key: final.aggregationUnit, sentAt: final.startedAt ?? Date.now() }).catch((err: unknown) =>
        this.#o.logger.warn({ err, id }, 'could not register the delivery for Insight polling'),
      );
    }
  }
}

class TimeoutError extends Error {}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new TimeoutError('timeout')), ms))),
  ]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** LINE's reason from an error answer, in Japanese where we know it. */
function lineReason(err: HTTPFetchError): string {
  let body: { message?: string; details?: Array<{ message?: string; property?: string }> } = {};
  try {
    body = JSON.parse(err.body ?? '{}');
  } catch {
    /* not JSON */
  }
  const details = (body.details ?? []).map((x) => `${x.property ?? ''}: ${japaneseLineMessage(x.message ?? '')}`).join(' / ');
  return `LINE ${err.status}: ${body.message ?? err.statusText}${details ? ` (${details})` : ''}`;
}
