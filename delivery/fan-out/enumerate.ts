/**
 * Enumerating the audience: read in user_id order (keyset pages, so a restart resumes at the
 * cursor), cut once into chunks of up to CHUNK_BATCHES batches, each stored in Redis and queued as
 * one small send job on its tenant's queue.
 */
import { setFromParts } from '../../core/redis.ts';
import { BATCH_SIZE, chunkParts, type CutChunk, cutChunks } from '../audience-batches.ts';
import { keys, type Progress } from '../redis-state.ts';
import type { DeliveryRecord } from '../store.ts';
import { readAudiencePage } from './audience-page.ts';
import type { CutChunkCache } from './chunk-cache.ts';
import type { RedisConnections } from './connections.ts';
import { type FanOutConfig, type RunState, WEEK_S } from './options.ts';
import type { BatchQueues, ChunkJob } from './queues.ts';
import type { TrackedLinks } from './tracked-links.ts';

/** The first page is small, so the first batches go out while the rest is read. */
const FIRST_PAGE = 2 * BATCH_SIZE;
/**
 * Each page is at most this many times the one before: the next page is read while this one is
 * sent, and reading it should take less time than sending this one.
 */
const PAGE_GROWTH = 4;

export class AudienceEnumerator {
  readonly #o: FanOutConfig;
  readonly #redis: RedisConnections;
  readonly #queues: BatchQueues;
  readonly #links: TrackedLinks;
  readonly #cut: CutChunkCache;
  readonly #run: RunState;

  constructor(
    o: FanOutConfig,
    redis: RedisConnections,
    queues: BatchQueues,
    links: TrackedLinks,
    cut: CutChunkCache,
    run: RunState,
  ) {
    this.#o = o;
    this.#redis = redis;
    this.#queues = queues;
    this.#links = links;
    this.#cut = cut;
    this.#run = run;
  }

  async enumerate(d: DeliveryRecord, prog: Progress): Promise<void> {
    const redis = this.#redis.main;
    const p = keys.progress(d.id);
    let cursor = prog.cursor;
    let chunkNo = prog.chunks;
    let nextBatch = prog.enqueued;
    // a crash between writing a page's chunks and queuing their jobs
    if (prog.pageChunk < chunkNo) await this.queueChunks(d, prog.pageChunk, chunkNo);
    let limit = Math.min(this.#o.pageSize, FIRST_PAGE);
    let next = readAudiencePage(this.#o, d, cursor, limit);
    next.catch(() => {}); // awaited below; not an unhandled rejection if the loop stops first
    for (;;) {
      if (this.#run.stopped) throw new Error('stopping');
      const page = await next;
      // the next page is read while this one is cut and stored
      limit = Math.min(this.#o.pageSize, limit * PAGE_GROWTH);
      if (!page.done) {
        next = readAudiencePage(this.#o, d, page.upto, limit);
        next.catch(() => {});
      }
      if (page.count > 0) {
        const chunks: CutChunk[] = [];
        for (const [bucket, ids] of await this.#links.buckets(d, page, cursor)) {
          const last = chunks.at(-1);
          chunks.push(...cutChunks(ids, last ? last.first + last.batches : nextBatch, chunkNo + chunks.length, bucket));
        }
        const batches = chunks.reduce((n, c) => n + c.batches, 0);
        // The chunks first (a crash before the cursor moves re-cuts the same numbers), then the
        // cursor after them with their table; the jobs follow (re-queued after a crash).
        // each value written from its header and its lines as they are (no joined copy of the lines)
        const bulk = this.#redis.bulk();
        await Promise.all(chunks.map((c) => setFromParts(bulk, keys.chunk(d.id, c.n), chunkParts(c), WEEK_S)));
        const now = Date.now();
        this.#cut.expire(now);
        for (const c of chunks) {
          if (!this.#cut.fits(c)) break;
          this.#cut.add(keys.chunk(d.id, c.n), c, now);
        }
        const m = redis.multi();
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
        await this.queueChunks(d, chunkNo, chunkNo + chunks.length);
        chunkNo += chunks.length;
        nextBatch += batches;
      } else if (page.upto !== cursor) {
        await redis.hset(p, 'cursor', page.upto);
      }
      cursor = page.upto;
      if (page.done) break;
    }
    await redis.hset(p, 'batches', String(nextBatch), 'enumerated', '1', 'pageChunk', String(chunkNo));
  }

  async queueChunks(d: DeliveryRecord, from: number, to: number): Promise<void> {
    const jobs = [];
    for (let n = from; n < to; n++) {
      jobs.push({
        name: 'c',
        data: { d: d.id, t: d.tenantId, c: n } satisfies ChunkJob,
        opts: { jobId: `${d.id}-c${n}`, attempts: 10, backoff: { type: 'exponential', delay: 1000 } },
      });
    }
    const queue = this.#queues.queue(d.tenantId);
    for (let i = 0; i < jobs.length; i += 500) await queue.addBulk(jobs.slice(i, i + 500));
  }

  /** After a restart: queues again every chunk with unsettled batches whose job is gone or failed. */
  async requeueUnsettled(d: DeliveryRecord): Promise<void> {
    const redis = this.#redis.main;
    const meta = await redis.hgetall(keys.chunks(d.id));
    const settled = new Set(await redis.hkeys(keys.settled(d.id)));
    const queue = this.#queues.queue(d.tenantId);
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
      await this.queueChunks(d, Number(n), Number(n) + 1);
    }
  }
}
