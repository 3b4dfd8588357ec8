/**
 * Finalising a delivery once every batch is settled: the outcome rows ClickHouse lacks written from
 * Redis, the final record, the work in Redis set to expire, and the delivery registered for Insight.
 */
import type { Redis } from '../../core/redis.ts';
import { skippedOf } from '../audience.ts';
import { type DeliveryRedis, keys } from '../redis-state.ts';
import type { BatchOutcome, DeliveryRecord } from '../store.ts';
import type { CutChunkCache } from './chunk-cache.ts';
import { type FanOutConfig, WEEK_S } from './options.ts';

export class Finalizer {
  readonly #o: FanOutConfig;
  readonly #state: DeliveryRedis;
  readonly #redis: Redis;
  readonly #cut: CutChunkCache;

  constructor(o: FanOutConfig, state: DeliveryRedis, redis: Redis, cut: CutChunkCache) {
    this.#o = o;
    this.#state = state;
    this.#redis = redis;
    this.#cut = cut;
  }

  /** Writes the outcome rows ClickHouse does not have yet (after a crash, or a full buffer). */
  async #reconcileOutcomes(tenantId: string, id: string): Promise<void> {
    await this.#o.store.batchWriter.drain();
    const stored = new Set((await this.#o.store.batches(tenantId, id)).map((r) => Number(r.batch_no)));
    const missing: BatchOutcome[] = [];
    for (const [b, v] of Object.entries(await this.#state.settledRecords(id))) {
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
    const prog = await this.#state.progress(id);
    if (!prog || !prog.enumerated || prog.settled < prog.batches) return;
    const d = await this.#o.store.get(tenantId, id);
    if (!d || d.status === 'done' || d.status === 'failed' || d.status === 'cancelled') return;
    await this.#reconcileOutcomes(tenantId, id);
    const status = prog.batches > 0 && prog.acceptedBatches === 0 ? 'failed' : 'done';
    let requestId = d.requestId;
    if (d.sendMethod === 'broadcast') {
      const first = (await this.#state.settledRecords(id))['0'];
      requestId = first ? String((JSON.parse(first) as BatchOutcome).request_id ?? '') : '';
    }
    const final: DeliveryRecord = {
      ...d,
      status,
      targets: prog.targets,
      skipped: skippedOf(d.audience, prog.targets),
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
    await this.#state.setState(id, status);
    // work in flight is over: the record of it is in ClickHouse; Redis keeps it a week for the live view
    const m = this.#redis
      .multi()
      .expire(keys.progress(id), WEEK_S)
      .expire(keys.settled(id), WEEK_S)
      .expire(keys.links(id), WEEK_S);
    // the chunks themselves are not needed any more
    for (let n = 0; n < prog.chunks; n++) {
      m.unlink(keys.chunk(id, n));
      this.#cut.take(keys.chunk(id, n));
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
