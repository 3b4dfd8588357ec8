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
 *
 * This class is the wiring: queues, workers, start and stop, a delivery's start and a chunk's job,
 * the payload cache. The steps live in fan-out/, one module each:
 *   audience-page.ts    the next page of the audience (test devices, all friends, a segment window)
 *   tracked-links.ts    click buckets, redirect tokens, the multicast body after `to` per bucket
 *   enumerate.ts        pages cut into chunks, stored, queued; re-queued after a restart
 *   chunk-cache.ts      cut chunks kept in memory until this process's worker takes them
 *   channels.ts         per-tenant LINE clients, pacers and in-flight bounds
 *   send-batch.ts       one batch sent, LINE's answer (../line-answer.ts) acted on
 *   settle-outcomes.ts  outcomes counted in groups, appended to ClickHouse
 *   finalize.ts         the final record once every batch is settled
 *   broadcast.ts        "all friends" as one broadcast
 */
import { DelayedError, type Job, Queue, Worker } from 'bullmq';
import type { Redis } from '../core/redis.ts';
import { skippedOf } from './audience.ts';
import { BATCH_SIZE, CHUNK_BATCHES, parseChunk, parseLines } from './audience-batches.ts';
import { runBroadcast } from './fan-out/broadcast.ts';
import { type Channel, Channels } from './fan-out/channels.ts';
import { CutChunkCache } from './fan-out/chunk-cache.ts';
import { RedisConnections } from './fan-out/connections.ts';
import { AudienceEnumerator } from './fan-out/enumerate.ts';
import { Finalizer } from './fan-out/finalize.ts';
import {
  type FanOutConfig,
  type FanOutOptions,
  type Payload,
  type RunState,
  WEEK_S,
  withDefaults,
} from './fan-out/options.ts';
import { BatchQueues, batchQueueName, CONTROL_QUEUE, type ChunkJob, PREFIX } from './fan-out/queues.ts';
import { BatchSender } from './fan-out/send-batch.ts';
import { blankOutcome, OutcomeSettler } from './fan-out/settle-outcomes.ts';
import { TrackedLinks } from './fan-out/tracked-links.ts';
import { DeliveryRedis, keys } from './redis-state.ts';
import type { DeliveryRecord } from './store.ts';

export { BATCH_SIZE, CHUNK_BATCHES };
export type { FanOutOptions };
export { bucketOf } from './fan-out/tracked-links.ts';

export class FanOut {
  readonly #o: FanOutConfig;
  readonly #run: RunState = { stopped: false };
  readonly #connections: RedisConnections;
  readonly #redis: Redis;
  readonly state: DeliveryRedis;
  readonly #work: DeliveryRedis;
  readonly control: Queue;
  readonly #queues: BatchQueues;
  readonly #workers = new Map<string, Worker>();
  #controlWorker: Worker | undefined;
  readonly #payloads = new Map<string, Payload>();
  readonly #cut = new CutChunkCache();
  readonly #channels: Channels;
  readonly #links: TrackedLinks;
  readonly #enumerator: AudienceEnumerator;
  readonly #settler: OutcomeSettler;
  readonly #finalizer: Finalizer;
  readonly #sender: BatchSender;

  constructor(opts: FanOutOptions) {
    this.#o = withDefaults(opts);
    this.#connections = new RedisConnections(opts.redisUrl, opts.logger);
    this.#redis = this.#connections.main;
    // requests (the service) fail fast while Redis is down; the workers' steps wait for it
    this.state = new DeliveryRedis(this.#connections.requests);
    this.#work = new DeliveryRedis(this.#redis);
    this.control = new Queue(CONTROL_QUEUE, { connection: this.#connections.requests, prefix: PREFIX });
    // without a listener BullMQ prints each error to stderr (raw, past the logger) while Redis is down
    this.control.on('error', (e) => opts.logger.warn({ err: e.message }, 'delivery control queue error'));
    this.#queues = new BatchQueues(this.#redis, (err, tenantId) =>
      opts.logger.warn({ err: err.message, tenantId }, 'delivery batch queue error'),
    );
    this.#channels = new Channels(this.#o, this.#work);
    this.#links = new TrackedLinks({ redis: this.#redis, store: this.#o.store, publicUrl: this.#o.publicUrl });
    this.#enumerator = new AudienceEnumerator(
      this.#o,
      this.#connections,
      this.#queues,
      this.#links,
      this.#cut,
      this.#run,
    );
    this.#finalizer = new Finalizer(this.#o, this.#work, this.#redis, this.#cut);
    this.#settler = new OutcomeSettler({
      state: this.#work,
      store: this.#o.store,
      logger: this.#o.logger,
      finalizer: this.#finalizer,
    });
    this.#sender = new BatchSender(this.#o, this.#work, this.#run, this.#settler);
  }

  get redis(): Redis {
    return this.#redis;
  }

  /** The connection requests use: no offline queue, so a stopped Redis answers 503 at once. */
  get requestRedis(): Redis {
    return this.#connections.requests;
  }

  /** Starts the control worker and picks up deliveries left in flight or scheduled. */
  async start(): Promise<void> {
    this.#controlWorker = new Worker(CONTROL_QUEUE, (job) => this.#runStart(job), {
      connection: this.#connections.connection(),
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
    this.#run.stopped = true;
    this.#channels.stopPacers();
    await this.#controlWorker?.close();
    await Promise.all([...this.#workers.values()].map((w) => w.close()));
    await this.#settler.flush();
    await this.#queues.close();
    await this.control.close();
    await this.#o.store.batchWriter.drain();
    this.#channels.close();
    await this.#connections.quit();
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
    if (this.#workers.has(tenantId) || this.#run.stopped) return;
    const w = new Worker<ChunkJob>(batchQueueName(tenantId), (job, token) => this.#runChunk(job, token), {
      connection: this.#connections.connection(),
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

  /** Writes the final record once every batch is settled (idempotent). */
  finalize(tenantId: string, id: string): Promise<void> {
    return this.#finalizer.finalize(tenantId, id);
  }

  // ---------------------------------------------------------------- start: enumerate and queue

  async #runStart(job: Job): Promise<void> {
    const { t: tenantId, d: id } = job.data as { t: string; d: string };
    const d = await this.#o.store.get(tenantId, id);
    if (!d || !['scheduled', 'queued', 'sending'].includes(d.status)) return;
    // rescheduled to later: the newer start job takes it
    if (d.status === 'scheduled' && d.scheduledAt !== null && d.scheduledAt > Date.now() + 1000) return;
    const [moved, was] = await this.#work.cas(id, 'sending', ['', 'scheduled', 'queued', 'sending']);
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

    let prog = (await this.#work.progress(id))!;
    // a restart: chunks whose jobs ended without settling every batch (a stop, a failure) go again
    if (prog.chunks > 0) await this.#enumerator.requeueUnsettled(d);
    if (!prog.enumerated) {
      try {
        await this.#enumerator.enumerate(d, prog);
      } catch (err) {
        this.#o.logger.error({ err, id }, 'audience enumeration failed');
        throw err;
      }
      prog = (await this.#work.progress(id))!;
      await this.#o.store.put({
        ...d,
        status: 'sending',
        startedAt,
        targets: prog.targets,
        skipped: skippedOf(d.audience, prog.targets),
        batches: prog.batches,
        updatedAt: Date.now(),
      });
      // the last batch may have settled (and the record been finalized) while this one was written
      // over it: read again, so that a finished delivery is finalized after it (finalize is idempotent)
      prog = (await this.#work.progress(id))!;
    }
    if (prog.settled >= prog.batches) await this.finalize(tenantId, id);
  }

  #runBroadcast(d: DeliveryRecord, startedAt: number): Promise<void> {
    return runBroadcast(
      {
        o: this.#o,
        state: this.#work,
        redis: this.#redis,
        run: this.#run,
        links: this.#links,
        payload: (tenantId, id) => this.#payload(tenantId, id),
        sender: this.#sender,
        settler: this.#settler,
        finalizer: this.#finalizer,
      },
      d,
      startedAt,
    );
  }

  // ---------------------------------------------------------------- chunks and batches

  async #runChunk(job: Job<ChunkJob>, token?: string): Promise<void> {
    const { d: id, t: tenantId, c } = job.data;
    const key = keys.chunk(id, c);
    const cut = this.#cut.take(key);
    const raw = cut ? undefined : await this.#connections.bulk().getBuffer(key);
    if (!cut && !raw) {
      this.#o.logger.warn({ id, chunk: c }, 'chunk gone (delivery finished or expired)');
      return;
    }
    const chunk = cut ? parseLines(cut.lines, cut.first, cut.bucket) : parseChunk(raw!);
    const numbers = chunk.counts.map((_, i) => chunk.first + i);
    const settled = await this.#work.settledAmong(id, numbers);
    const open = numbers.map((_, i) => i).filter((i) => !settled[i]);
    if (open.length === 0) return;
    const payload = await this.#payload(tenantId, id);
    const tail = await this.#links.tail(id, payload, chunk.bucket);
    let channel: Channel;
    try {
      channel = await this.#channels.get(tenantId);
    } catch (err) {
      await Promise.all(
        open.map((i) =>
          this.#settler.settle({
            ...blankOutcome(tenantId, id, chunk.first + i, chunk.counts[i]!),
            reason: (err as Error).message,
          }),
        ),
      );
      return;
    }
    const results = await Promise.all(
      open.map((i) =>
        this.#sender.send(channel, tenantId, id, chunk.first + i, chunk.counts[i]!, chunk.lines[i]!, tail),
      ),
    );
    if (results.includes('stopped')) {
      // the process is stopping: the chunk goes back to the queue, its unsettled batches are sent after a restart
      if (token) await job.moveToDelayed(Date.now() + 1000, token);
      throw new DelayedError();
    }
  }

  // ---------------------------------------------------------------- payloads

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
}
