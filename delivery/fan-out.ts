/**
 * Fan-out. At send time a delivery's audience is read from ClickHouse in user_id order (keyset
 * pages, so a restart resumes at the cursor) and cut once into multicast batches of 500, kept in
 * Redis as chunks of up to CHUNK_BATCHES batches, each batch a ready-made JSON fragment (the
 * quoted, comma-separated user ids of its `to`). One small BullMQ job per chunk goes on its
 * tenant's queue; a worker takes a chunk, skips the batches already settled, and sends the rest
 * under the channel's rate limit (a token schedule in Redis shared by every worker process, taken
 * in blocks; several requests in flight over keep-alive connections), each with a retry key derived
 * from (delivery, batch). Outcomes are counted in Redis in groups (once per batch) and appended to
 * ClickHouse (delivery_batches) through the group-commit writer; the last one settles the delivery
 * record.
 *
 * "All friends" may go out as one broadcast instead (sendMethod 'broadcast'): one request, retry
 * key of batch 0, its request id kept for Insight statistics by request id.
 *
 * Queues: `tayori-delivery-control` (start jobs; delayed for scheduled deliveries) and one
 * `tayori-delivery-batches-<tenantId>` per tenant, so a 2M-recipient delivery on one account never
 * holds up another account's batches.
 */
import { randomBytes } from 'node:crypto';
import type { messagingApi } from '@line/bot-sdk';
import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import type { ClickHouseClient } from '../core/clickhouse.ts';
import { lineBaseUrl, lineClients, type LineEndpoints } from '../core/line.ts';
import type { Logger } from '../core/logger.ts';
import { connectRedis, setFromParts, type Redis } from '../core/redis.ts';
import type { TenantStore } from '../core/tenants.ts';
import { compileCondition, type Audience } from './audience.ts';
import {
  BATCH_SIZE,
  batchLines,
  CHUNK_BATCHES,
  chunkParts,
  cutChunks,
  idsOfLines,
  parseChunk,
  parseLines,
  readBatchLines,
  summarize,
  type CutChunk,
  type Page,
} from './audience-batches.ts';
import { batchRetryKey } from './ids.ts';
import { type AttemptCounts, isRateLimited, isTransient, judgeFailure, SdkTimeout } from './line-answer.ts';
import type { DeliveryMessage } from './messages.ts';
import { MULTICAST_HEAD, MulticastHttp, multicastTail } from './multicast-http.ts';
import { ChannelPacer, Semaphore } from './pacer.ts';
import { DeliveryRedis, keys, type Progress } from './redis-state.ts';
import type { BatchOutcome, DeliveryRecord, DeliveryStore } from './store.ts';
import { chDateTime } from '../core/time.ts';

export { BATCH_SIZE, CHUNK_BATCHES };
const PREFIX = 'tayori';
const CONTROL_QUEUE = 'tayori-delivery-control';
const batchQueueName = (tenantId: string) => `tayori-delivery-batches-${tenantId}`;
const WEEK_S = 7 * 86_400;
/** The first page is small, so the first batches go out while the rest is read. */
const FIRST_PAGE = 2 * BATCH_SIZE;
/**
 * Each page is at most this many times the one before: the next page is read while this one is
 * sent, and reading it should take less time than sending this one.
 */
const PAGE_GROWTH = 4;
/** Chunk values kept in memory between cutting and sending at most (see FanOut.#cutChunks). */
const CHUNK_CACHE_BYTES = 256 * 1024 * 1024;
const CHUNK_CACHE_MS = 10 * 60_000;

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
  /** Chunks (send jobs of up to CHUNK_BATCHES batches) in progress per tenant worker (default 8). */
  concurrency?: number;
  /** Multicast requests in flight per channel at most (default 128; pacing, not this, keeps the rate). */
  inFlight?: number;
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
  /** BullMQ lock of an active job: how soon a crashed worker's chunks are taken over (default 30 s). */
  lockDurationMs?: number;
  /** Audience rows per ClickHouse page at most (default 100,000). */
  pageSize?: number;
  /** Registers a finished delivery for Insight polling (ingest/insight): its aggregation unit, or a broadcast's request id. */
  trackDelivery?: (input: {
    tenantId: string;
    kind: 'aggregation_unit' | 'request_id';
    key: string;
    sentAt: number;
  }) => Promise<unknown>;
  /** Called when a delivery reaches done / failed (tests, dashboards). */
  onFinished?: (d: DeliveryRecord) => void;
  /** Base of tracked links (/r/<token>). */
  publicUrl?: () => string | undefined;
}

interface ChunkJob {
  d: string;
  t: string;
  c: number;
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

interface Channel {
  key: string;
  channel: string;
  messaging: messagingApi.MessagingApiClient;
  http: MulticastHttp;
  pacer: ChannelPacer;
  inFlight: Semaphore;
  at: number;
}

interface Pending {
  outcome: BatchOutcome;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class FanOut {
  readonly #o: Required<Omit<FanOutOptions, 'trackDelivery' | 'onFinished' | 'publicUrl'>> &
    Pick<FanOutOptions, 'trackDelivery' | 'onFinished' | 'publicUrl'>;
  /** delivery id + bucket → the JSON body after `to` (messages with their tracked links filled in). */
  readonly #tails = new Map<string, Buffer>();
  /**
   * Chunks this process cut and stored, until its own worker takes them (each is read once):
   * their Redis values are the record (other processes, restarts); this copy saves reading 1.8 MB
   * per 100 batches back through the Redis connection. Bounded by CHUNK_CACHE_BYTES; a chunk
   * another process took is dropped after CHUNK_CACHE_MS.
   */
  readonly #cutChunks = new Map<string, { chunk: CutChunk; at: number }>();
  #cutBytes = 0;
  readonly #redis: Redis;
  #bulkConnection: Redis | undefined;
  readonly state: DeliveryRedis;
  readonly control: Queue;
  readonly #queues = new Map<string, Queue>();
  readonly #workers = new Map<string, Worker>();
  #controlWorker: Worker | undefined;
  readonly #payloads = new Map<string, Payload>();
  readonly #channels = new Map<string, Channel>();
  readonly #pacers = new Map<string, ChannelPacer>();
  #stopped = false;
  readonly #connections: Redis[] = [];
  /** Channels that saw a 429 lately (their back-off streak is reset on the next success). */
  readonly #recent429 = new Map<string, number>();
  /** Outcomes waiting to be settled in Redis, by delivery. */
  #pending = new Map<string, Pending[]>();
  #pendingCount = 0;
  #flushTimer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(opts: FanOutOptions) {
    this.#o = {
      multicastPerSecond: 200,
      headroom: 0.95,
      concurrency: 8,
      inFlight: 128,
      requestTimeoutMs: 20_000,
      maxAttempts: 8,
      retryBaseMs: 500,
      backoff429Ms: 250,
      max429: 200,
      lockDurationMs: 30_000,
      pageSize: 100_000,
      ...opts,
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

  /**
   * The connection for chunk values (megabytes each): on the shared connection they would hold up
   * the small, urgent commands queued behind them (send slots, settling).
   */
  #bulk(): Redis {
    return (this.#bulkConnection ??= this.#connection());
  }

  /** Starts the control worker and picks up deliveries left in flight or scheduled. */
  async start(): Promise<void> {
    this.#controlWorker = new Worker(CONTROL_QUEUE, (job) => this.#runStart(job), {
      connection: this.#connection(),
      prefix: PREFIX,
      concurrency: 4,
      lockDuration: this.#o.lockDurationMs,
      stalledInterval: Math.max(1000, Math.floor(this.#o.lockDurationMs / 2)),
      maxStalledCount: 100,
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
    for (const d of await this.#o.store.scheduled())
      await this.enqueueStart(d.tenant_id, d.delivery_id, Math.max(0, Number(d.scheduled_ms) - now));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const p of this.#pacers.values()) p.stop();
    await this.#controlWorker?.close();
    await Promise.all([...this.#workers.values()].map((w) => w.close()));
    await this.#flush();
    await Promise.all([...this.#queues.values()].map((q) => q.close()));
    await this.control.close();
    await this.#o.store.batchWriter.drain();
    for (const c of this.#channels.values()) c.http.close();
    for (const c of this.#connections) await c.quit().catch(() => {});
    await this.#redis.quit().catch(() => {});
  }

  /** Queues the start of a delivery after `delayMs` (0: now). Re-queuing a pending start is a no-op. */
  async enqueueStart(tenantId: string, id: string, delayMs: number): Promise<void> {
    await this.control.add(
      'start',
      { t: tenantId, d: id },
      {
        jobId: `start-${id}`,
        delay: Math.max(0, delayMs),
        removeOnComplete: true,
        removeOnFail: 1000,
        attempts: 5,
        backoff: { type: 'exponential', delay: 2000 },
      },
    );
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
    const w = new Worker<ChunkJob>(batchQueueName(tenantId), (job, token) => this.#runChunk(job, token), {
      connection: this.#connection(),
      prefix: PREFIX,
      concurrency: this.#o.concurrency,
      lockDuration: this.#o.lockDurationMs,
      stalledInterval: Math.max(1000, Math.floor(this.#o.lockDurationMs / 2)),
      maxStalledCount: 1000,
      removeOnComplete: { count: 0 },
      removeOnFail: { count: 10_000 },
    });
    w.on('error', (e) => this.#o.logger.warn({ err: e.message, tenantId }, 'delivery batch worker error'));
    w.on('failed', (job, err) => {
      if (!(err instanceof DelayedError))
        this.#o.logger.error({ err, tenantId, job: job?.id }, 'delivery chunk job failed');
    });
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
    if (d.sendMethod === 'broadcast') return this.#runBroadcast(d, startedAt);
    this.ensureWorker(tenantId);

    let prog = (await this.state.progress(id))!;
    // a restart: chunks whose jobs ended without settling every batch (a stop, a failure) go again
    if (prog.chunks > 0) await this.#requeueUnsettled(d);
    if (!prog.enumerated) {
      try {
        await this.#enumerate(d, prog);
      } catch (err) {
        this.#o.logger.error({ err, id }, 'audience enumeration failed');
        throw err;
      }
      prog = (await this.state.progress(id))!;
      await this.#o.store.put({
        ...d,
        status: 'sending',
        startedAt,
        targets: prog.targets,
        batches: prog.batches,
        updatedAt: Date.now(),
      });
    }
    if (prog.settled >= prog.batches) await this.finalize(tenantId, id);
  }

  async #enumerate(d: DeliveryRecord, prog: Progress): Promise<void> {
    const p = keys.progress(d.id);
    let cursor = prog.cursor;
    let chunkNo = prog.chunks;
    let nextBatch = prog.enqueued;
    // a crash between writing a page's chunks and queuing their jobs
    if (prog.pageChunk < chunkNo) await this.#queueChunks(d, prog.pageChunk, chunkNo);
    let limit = Math.min(this.#o.pageSize, FIRST_PAGE);
    let next = this.#page(d, cursor, limit);
    next.catch(() => {}); // awaited below; not an unhandled rejection if the loop stops first
    for (;;) {
      if (this.#stopped) throw new Error('stopping');
      const page = await next;
      // the next page is read while this one is cut and stored
      limit = Math.min(this.#o.pageSize, limit * PAGE_GROWTH);
      if (!page.done) {
        next = this.#page(d, page.upto, limit);
        next.catch(() => {});
      }
      if (page.count > 0) {
        const chunks: CutChunk[] = [];
        for (const [bucket, ids] of await this.#buckets(d, page, cursor)) {
          const last = chunks.at(-1);
          chunks.push(...cutChunks(ids, last ? last.first + last.batches : nextBatch, chunkNo + chunks.length, bucket));
        }
        const batches = chunks.reduce((n, c) => n + c.batches, 0);
        // The chunks first (a crash before the cursor moves re-cuts the same numbers), then the
        // cursor after them with their table; the jobs follow (re-queued after a crash).
        // each value written from its header and its lines as they are (no joined copy of the lines)
        const bulk = this.#bulk();
        await Promise.all(chunks.map((c) => setFromParts(bulk, keys.chunk(d.id, c.n), chunkParts(c), WEEK_S)));
        const now = Date.now();
        for (const [k, v] of this.#cutChunks) {
          if (now - v.at < CHUNK_CACHE_MS) break;
          this.#uncache(k);
        }
        for (const c of chunks) {
          if (this.#cutBytes + c.lines.length > CHUNK_CACHE_BYTES) break;
          this.#cutChunks.set(keys.chunk(d.id, c.n), { chunk: c, at: now });
          this.#cutBytes += c.lines.length;
        }
        const m = this.#redis.multi();
        m.hset(
          keys.chunks(d.id),
          Object.fromEntries(chunks.map((c) => [String(c.n), `${c.first}:${c.batches}`])),
        ).expire(keys.chunks(d.id), WEEK_S);
        m.hset(
          p,
          'cursor',
          page.upto,
          'pageChunk',
          String(chunkNo),
          'chunks',
          String(chunkNo + chunks.length),
          'enqueued',
          String(nextBatch + batches),
        ).hincrby(p, 'targets', page.count);
        await m.exec();
        await this.#queueChunks(d, chunkNo, chunkNo + chunks.length);
        chunkNo += chunks.length;
        nextBatch += batches;
      } else if (page.upto !== cursor) {
        await this.#redis.hset(p, 'cursor', page.upto);
      }
      cursor = page.upto;
      if (page.done) break;
    }
    await this.#redis.hset(p, 'batches', String(nextBatch), 'enumerated', '1', 'pageChunk', String(chunkNo));
  }

  /** Takes a chunk out of the in-memory copies (see #cutChunks). */
  #uncache(key: string): CutChunk | undefined {
    const hit = this.#cutChunks.get(key);
    if (!hit) return undefined;
    this.#cutChunks.delete(key);
    this.#cutBytes -= hit.chunk.lines.length;
    return hit.chunk;
  }

  async #queueChunks(d: DeliveryRecord, from: number, to: number): Promise<void> {
    const jobs = [];
    for (let n = from; n < to; n++) {
      jobs.push({
        name: 'c',
        data: { d: d.id, t: d.tenantId, c: n } satisfies ChunkJob,
        opts: { jobId: `${d.id}-c${n}`, attempts: 10, backoff: { type: 'exponential', delay: 1000 } },
      });
    }
    const queue = this.#queue(d.tenantId);
    for (let i = 0; i < jobs.length; i += 500) await queue.addBulk(jobs.slice(i, i + 500));
  }

  /** After a restart: queues again every chunk with unsettled batches whose job is gone or failed. */
  async #requeueUnsettled(d: DeliveryRecord): Promise<void> {
    const meta = await this.#redis.hgetall(keys.chunks(d.id));
    const settled = new Set(await this.#redis.hkeys(keys.settled(d.id)));
    const queue = this.#queue(d.tenantId);
    for (const [n, v] of Object.entries(meta)) {
      const [first, count] = v.split(':').map(Number) as [number, number];
      let open = false;
      for (let b = first; b < first + count && !open; b++) open = !settled.has(String(b));
      if (!open) continue;
      const job = await queue.getJob(`${d.id}-c${n}`);
      if (job) {
        const state = await job.getState();
        if (state !== 'failed' && state !== 'completed') continue;
        await job.remove().catch(() => {});
      }
      await this.#queueChunks(d, Number(n), Number(n) + 1);
    }
  }

  /**
   * The page's user ids grouped by click bucket (one group, undefined, when links are not
   * tracked), with a redirect token per (link, bucket) stored before any batch that uses it.
   */
  async #buckets(d: DeliveryRecord, page: Page, after: string): Promise<Map<string | undefined, Buffer>> {
    if (d.links.length === 0) return new Map([[undefined, page.lines]]);
    const groups = new Map<string, string[]>();
    const userIds = idsOfLines(page.lines);
    if (!d.clickBucket) groups.set('', userIds);
    else {
      const item = d.clickBucket === 'age' ? 'birth_year' : d.clickBucket;
      const rows = await this.#o.store.rows<{ user_id: string; values: string[] }>('delivery.bucket_attrs', {
        tenant: d.tenantId,
        item,
        after,
        upto: page.upto,
      });
      const byUser = new Map(rows.map((r) => [r.user_id, r.values]));
      for (const u of userIds) {
        const k = bucketOf(d.clickBucket, byUser.get(u));
        let g = groups.get(k);
        if (!g) groups.set(k, (g = []));
        g.push(u);
      }
    }
    await this.#linkTokens(d, [...groups.keys()]);
    return new Map([...groups].map(([k, v]) => [k, batchLines(v)]));
  }

  async #linkTokens(d: DeliveryRecord, buckets: string[]): Promise<void> {
    const fresh: Array<{
      token: string;
      tenant_id: string;
      delivery_id: string;
      link_no: number;
      bucket: string;
      url: string;
    }> = [];
    for (const bucket of buckets) {
      for (let n = 0; n < d.links.length; n++) {
        const token = randomBytes(12).toString('base64url');
        if ((await this.#redis.hsetnx(keys.links(d.id), `${n}|${bucket}`, token)) === 1) {
          fresh.push({ token, tenant_id: d.tenantId, delivery_id: d.id, link_no: n, bucket, url: d.links[n]! });
        }
      }
    }
    await this.#o.store.putLinks(fresh);
  }

  /** Messages with tracked links replaced by their redirect URLs for this bucket. */
  async #messagesFor(id: string, payload: Payload, bucket: string | undefined): Promise<DeliveryMessage[]> {
    if (payload.links.length === 0 || bucket === undefined) return payload.messages;
    const tokens = await this.#redis.hgetall(keys.links(id));
    const base = (this.#o.publicUrl?.() ?? '').replace(/\/$/, '');
    return payload.messages.map((m) =>
      m.type === 'text'
        ? {
            ...m,
            text: m.text.replace(
              /\{\{link:(\d+)\}\}/g,
              (_, n: string) => `${base}/r/${tokens[`${n}|${bucket}`] ?? ''}`,
            ),
          }
        : m,
    );
  }

  /** The multicast body after `to`'s ids, serialised once per (delivery, bucket). */
  async #tail(id: string, payload: Payload, bucket: string | undefined): Promise<Buffer> {
    const cacheKey = `${id}|${bucket ?? '-'}`;
    const hit = this.#tails.get(cacheKey);
    if (hit) return hit;
    const messages = await this.#messagesFor(id, payload, bucket);
    const tail = multicastTail({
      messages: messages as messagingApi.Message[],
      notificationDisabled: payload.notificationDisabled,
      customAggregationUnits: [payload.unit],
    });
    if (this.#tails.size > 1000) this.#tails.clear();
    this.#tails.set(cacheKey, tail);
    return tail;
  }

  /** The next page of the audience after the cursor `after`. */
  async #page(d: DeliveryRecord, after: string, limit: number): Promise<Page> {
    const a: Audience = d.audience;
    if (a.type === 'test') {
      const ids = (await this.#o.store.testDevices(d.tenantId))
        .map((x) => x.userId)
        .filter((u) => u > after)
        .sort();
      return { lines: batchLines(ids), count: ids.length, upto: ids.at(-1) ?? after, done: true };
    }
    if (a.type === 'all') {
      const lines = await readBatchLines(this.#o.ch, 'delivery.audience_page', { tenant: d.tenantId, after, limit });
      const { count, last } = summarize(lines);
      return { lines, count, upto: last ?? after, done: count < limit };
    }
    // a segment: a window of `limit` friends, then those of them the segment selects
    const w = (
      await this.#o.store.rows<{ n: string; upto: string }>('delivery.audience_window', {
        tenant: d.tenantId,
        after,
        limit,
      })
    )[0];
    const n = Number(w?.n ?? 0);
    if (n === 0) return { lines: Buffer.alloc(0), count: 0, upto: after, done: true };
    const c = compileCondition(a.condition, { range: true });
    const lines = await readBatchLines(
      this.#o.ch,
      'delivery.audience_segment_range',
      { tenant: d.tenantId, after, upto: w!.upto, ...c.params },
      c.sql,
    );
    return { lines, count: summarize(lines).count, upto: w!.upto, done: n < limit };
  }

  async #savePayload(d: DeliveryRecord): Promise<Payload> {
    const payload: Payload = {
      tenantId: d.tenantId,
      messages: d.messages,
      notificationDisabled: d.notificationDisabled,
      unit: d.aggregationUnit,
      links: d.links,
    };
    await this.#redis.set(keys.payload(d.id), JSON.stringify(payload), 'EX', WEEK_S);
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

  /** The tenant's channel: clients (refreshed each minute, for rotated tokens), pacer and in-flight bound. */
  async #channel(tenantId: string): Promise<Channel> {
    const c = this.#channels.get(tenantId);
    if (c && Date.now() - c.at < 60_000) return c;
    const creds = await this.#o.tenants.credentials(tenantId);
    const baseURL = lineBaseUrl(creds, this.#o.endpoints());
    const channel = creds.channelId || tenantId;
    const key = `${baseURL}|${creds.channelAccessToken}`;
    if (c && c.key === key && c.channel === channel) {
      c.at = Date.now();
      return c;
    }
    c?.http.close();
    let pacer = this.#pacers.get(channel);
    if (!pacer) {
      pacer = new ChannelPacer(
        this.state,
        channel,
        () => this.#rate(tenantId) * this.#o.headroom,
        (err) => this.#o.logger.warn({ err, channel }, 'could not reserve send slots'),
      );
      this.#pacers.set(channel, pacer);
    }
    const fresh: Channel = {
      key,
      channel,
      pacer,
      at: Date.now(),
      messaging: lineClients(creds, this.#o.endpoints()).messaging,
      http: new MulticastHttp(baseURL, creds.channelAccessToken, { maxSockets: this.#o.inFlight }),
      inFlight: c?.inFlight ?? new Semaphore(this.#o.inFlight),
    };
    this.#channels.set(tenantId, fresh);
    return fresh;
  }

  #rate(tenantId: string): number {
    const r = this.#o.multicastPerSecond;
    return typeof r === 'function' ? r(tenantId) : r;
  }

  // ---------------------------------------------------------------- chunks and batches

  async #runChunk(job: Job<ChunkJob>, token?: string): Promise<void> {
    const { d: id, t: tenantId, c } = job.data;
    const key = keys.chunk(id, c);
    const cut = this.#uncache(key);
    const raw = cut ? undefined : await this.#bulk().getBuffer(key);
    if (!cut && !raw) {
      this.#o.logger.warn({ id, chunk: c }, 'chunk gone (delivery finished or expired)');
      return;
    }
    const chunk = cut ? parseLines(cut.lines, cut.first, cut.bucket) : parseChunk(raw!);
    const numbers = chunk.counts.map((_, i) => chunk.first + i);
    const settled = await this.state.settledAmong(id, numbers);
    const open = numbers.map((_, i) => i).filter((i) => !settled[i]);
    if (open.length === 0) return;
    const payload = await this.#payload(tenantId, id);
    const tail = await this.#tail(id, payload, chunk.bucket);
    let channel: Channel;
    try {
      channel = await this.#channel(tenantId);
    } catch (err) {
      await Promise.all(
        open.map((i) =>
          this.#settle({
            ...this.#outcome(tenantId, id, chunk.first + i, chunk.counts[i]!),
            reason: (err as Error).message,
          }),
        ),
      );
      return;
    }
    const results = await Promise.all(
      open.map((i) => this.#sendBatch(channel, tenantId, id, chunk.first + i, chunk.counts[i]!, chunk.lines[i]!, tail)),
    );
    if (results.includes('stopped')) {
      // the process is stopping: the chunk goes back to the queue, its unsettled batches are sent after a restart
      if (token) await job.moveToDelayed(Date.now() + 1000, token);
      throw new DelayedError();
    }
  }

  #outcome(tenantId: string, id: string, b: number, recipients: number): BatchOutcome {
    return {
      tenant_id: tenantId,
      delivery_id: id,
      batch_no: b,
      recipients,
      status: 'failed',
      http_status: 0,
      request_id: '',
      retry_key: batchRetryKey(id, b),
      attempts: 0,
      reason: '',
      settled_at: '',
    };
  }

  async #sendBatch(
    channel: Channel,
    tenantId: string,
    id: string,
    b: number,
    recipients: number,
    to: Buffer,
    tail: Buffer,
  ): Promise<'settled' | 'stopped'> {
    const outcome = this.#outcome(tenantId, id, b, recipients);
    const parts = [MULTICAST_HEAD, to, tail];
    const counts: AttemptCounts = { strikes429: 0, transient: 0 };
    for (;;) {
      if (this.#stopped) return 'stopped';
      // a connection first, then the send slot: a request that holds a slot leaves at once (one
      // that waited for a connection after its slot would leave bunched with later ones, and LINE
      // counts requests as they arrive)
      await channel.inFlight.acquire();
      if (this.#stopped) {
        channel.inFlight.release();
        return 'stopped';
      }
      await channel.pacer.acquire();
      if (this.#stopped) {
        // a stopping pacer lets every waiter go at once: none of them may be sent
        channel.inFlight.release();
        return 'stopped';
      }
      outcome.attempts++;
      let failure: unknown;
      try {
        const res = await channel.http.send(parts, outcome.retry_key, this.#o.requestTimeoutMs);
        outcome.status = 'accepted';
        outcome.http_status = res.status;
        outcome.request_id = res.requestId;
      } catch (err) {
        failure = err;
      } finally {
        channel.inFlight.release();
      }
      if (failure === undefined) break;
      // the request's slot is free again while this batch waits for its retry
      if ((await this.#judge(failure, outcome, channel, counts)) === 'done') break;
    }
    await this.#accepted(outcome, channel.channel);
    await this.#settle(outcome);
    return 'settled';
  }

  /**
   * Acts on LINE's answer to a failed attempt (judgeFailure decides what it means): 'done' (accepted
   * after all — a 409 —, or failed for good), 'retry' (a 429: the channel has backed off) or
   * 'retry-later' (a 5xx / timeout: this batch has waited its backoff).
   */
  async #judge(
    err: unknown,
    outcome: BatchOutcome,
    channel: Channel | undefined,
    counts: AttemptCounts,
  ): Promise<'done' | 'retry' | 'retry-later'> {
    if (isRateLimited(err)) counts.strikes429++;
    else if (isTransient(err)) counts.transient++;
    const v = judgeFailure(err, counts, {
      requestTimeoutMs: this.#o.requestTimeoutMs,
      maxAttempts: this.#o.maxAttempts,
      max429: this.#o.max429,
      retryBaseMs: this.#o.retryBaseMs,
    });
    outcome.http_status = v.httpStatus;
    switch (v.kind) {
      case 'accepted':
        outcome.status = 'accepted';
        outcome.request_id = v.requestId;
        return 'done';
      case 'failed':
        outcome.reason = v.reason;
        return 'done';
      case 'retry-channel':
        outcome.reason = v.reason;
        if (channel) {
          this.#recent429.set(channel.channel, Date.now());
          await this.state.backoff(channel.channel, this.#o.backoff429Ms, 10_000);
          channel.pacer.reset();
        } else {
          await sleep(Math.min(10_000, this.#o.backoff429Ms * 2 ** Math.min(6, counts.strikes429 - 1)));
        }
        return 'retry';
      case 'retry-later':
        outcome.reason = v.reason;
        await sleep(v.waitMs);
        return 'retry-later';
    }
  }

  async #accepted(outcome: BatchOutcome, channel: string): Promise<void> {
    if (outcome.status !== 'accepted') return;
    outcome.reason = '';
    const last429 = this.#recent429.get(channel);
    if (last429 !== undefined) {
      this.#recent429.delete(channel);
      if (Date.now() - last429 < 10_000) await this.state.clearBackoff(channel);
    }
  }

  // ---------------------------------------------------------------- broadcast

  /**
   * "All friends" by broadcast: one request (retry key of batch 0), every friend of the account;
   * targets are the friends Tayori knows of. A restart sends it again with the same key (409).
   */
  async #runBroadcast(d: DeliveryRecord, startedAt: number): Promise<void> {
    const p = keys.progress(d.id);
    let prog = (await this.state.progress(d.id))!;
    if (!prog.enumerated) {
      const targets = Number(
        (await this.#o.store.rows<{ n: string }>('delivery.audience_count_all', { tenant: d.tenantId }))[0]?.n ?? 0,
      );
      await this.#redis.hset(p, 'targets', String(targets), 'batches', '1', 'enqueued', '1', 'enumerated', '1');
      prog = (await this.state.progress(d.id))!;
      await this.#o.store.put({ ...d, status: 'sending', startedAt, targets, batches: 1, updatedAt: Date.now() });
    }
    if (!(await this.state.settledAmong(d.id, [0]))[0]) {
      const outcome = this.#outcome(d.tenantId, d.id, 0, prog.targets);
      let messages = d.messages;
      if (d.links.length) {
        await this.#linkTokens(d, ['']);
        messages = await this.#messagesFor(d.id, await this.#payload(d.tenantId, d.id), '');
      }
      const counts: AttemptCounts = { strikes429: 0, transient: 0 };
      for (;;) {
        if (this.#stopped) throw new Error('stopping; the broadcast is sent again (same retry key) after a restart');
        outcome.attempts++;
        try {
          const { messaging } = lineClients(await this.#o.tenants.credentials(d.tenantId), this.#o.endpoints());
          const res = await withTimeout(
            messaging.broadcastWithHttpInfo(
              { messages: messages as messagingApi.Message[], notificationDisabled: d.notificationDisabled },
              outcome.retry_key,
            ),
            this.#o.requestTimeoutMs,
          );
          outcome.status = 'accepted';
          outcome.http_status = res.httpResponse.status;
          outcome.request_id = res.httpResponse.headers.get('x-line-request-id') ?? '';
          break;
        } catch (err) {
          if ((await this.#judge(err, outcome, undefined, counts)) === 'done') break;
        }
      }
      if (outcome.status === 'accepted') outcome.reason = '';
      await this.#settle(outcome);
    }
    await this.finalize(d.tenantId, d.id);
  }

  // ---------------------------------------------------------------- outcomes

  /**
   * Settles an outcome: counted in Redis (once) together with the others that arrive within 25 ms,
   * then appended to ClickHouse through the group-commit buffer without waiting (a row lost to a
   * crash is written from Redis when the delivery is finalized). Resolves once it is counted.
   */
  #settle(outcome: BatchOutcome): Promise<void> {
    outcome.settled_at = settledAt(Date.now());
    return new Promise<void>((resolve, reject) => {
      let list = this.#pending.get(outcome.delivery_id);
      if (!list) this.#pending.set(outcome.delivery_id, (list = []));
      list.push({ outcome, resolve, reject });
      this.#pendingCount++;
      if (this.#pendingCount >= 512) void this.#flush();
      else this.#flushTimer ??= setTimeout(() => void this.#flush(), 25);
    });
  }

  #flush(): Promise<void> {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    const groups = this.#pending;
    if (groups.size === 0) return this.#flushing;
    this.#pending = new Map();
    this.#pendingCount = 0;
    // one flush at a time, in order
    this.#flushing = this.#flushing.then(async () => {
      for (const [id, items] of groups) {
        const outcomes = items.map((x) => x.outcome);
        try {
          const complete = await this.state.settle(
            id,
            outcomes.map((o) => ({
              batch: o.batch_no,
              accepted: o.status === 'accepted',
              recipients: o.recipients,
              record: JSON.stringify(o),
            })),
          );
          this.#o.store.batchWriter
            .write(outcomes)
            .catch((err: unknown) =>
              this.#o.logger.warn({ err, id }, 'batch outcomes not written yet (written when the delivery finishes)'),
            );
          for (const x of items) x.resolve();
          if (complete)
            await this.finalize(outcomes[0]!.tenant_id, id).catch((err: unknown) =>
              this.#o.logger.error({ err, id }, 'could not finalize the delivery'),
            );
        } catch (err) {
          for (const x of items) x.reject(err);
        }
      }
    });
    return this.#flushing;
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
    let requestId = d.requestId;
    if (d.sendMethod === 'broadcast') {
      const first = (await this.state.settledRecords(id))['0'];
      requestId = first ? String((JSON.parse(first) as BatchOutcome).request_id ?? '') : '';
    }
    const final: DeliveryRecord = {
      ...d,
      status,
      targets: prog.targets,
      batches: prog.batches,
      accepted: prog.accepted,
      failed: prog.failed,
      requestId,
      startedAt: d.startedAt ?? prog.startedAt,
      finishedAt: Date.now(),
      updatedAt: Date.now(),
      error: status === 'failed' ? 'すべてのバッチが LINE に受け付けられませんでした' : '',
    };
    await this.#o.store.put(final);
    await this.state.setState(id, status);
    // work in flight is over: the record of it is in ClickHouse; Redis keeps it a week for the live view
    const m = this.#redis
      .multi()
      .expire(keys.progress(id), WEEK_S)
      .expire(keys.settled(id), WEEK_S)
      .expire(keys.links(id), WEEK_S);
    // the chunks themselves are not needed any more
    for (let n = 0; n < prog.chunks; n++) {
      m.unlink(keys.chunk(id, n));
      this.#uncache(keys.chunk(id, n));
    }
    await m.exec();
    this.#o.onFinished?.(final);
    if (final.kind === 'normal' && final.accepted > 0 && this.#o.trackDelivery) {
      const tracked =
        final.sendMethod === 'broadcast'
          ? final.requestId
            ? { kind: 'request_id' as const, key: final.requestId }
            : undefined
          : { kind: 'aggregation_unit' as const, key: final.aggregationUnit };
      if (tracked) {
        await this.#o
          .trackDelivery({ tenantId, ...tracked, sentAt: final.startedAt ?? Date.now() })
          .catch((err: unknown) =>
            this.#o.logger.warn({ err, id }, 'could not register the delivery for Insight polling'),
          );
      }
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new SdkTimeout('timeout')), ms))),
  ]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** chDateTime of the last ms asked for: batches settle a few per ms at 2,000/s. */
let lastSettled: [number, string] = [NaN, ''];
function settledAt(ms: number): string {
  if (lastSettled[0] !== ms) lastSettled = [ms, chDateTime(ms)];
  return lastSettled[1];
}
