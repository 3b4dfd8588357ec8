/**
 * The fan-out's queues: `tayori-delivery-control` (start jobs; delayed for scheduled deliveries) and
 * one `tayori-delivery-batches-<tenantId>` per tenant, so a 2M-recipient delivery on one account
 * never holds up another account's batches.
 */
import { Queue } from 'bullmq';
import type { Redis } from '../../core/redis.ts';

export const PREFIX = 'tayori';
export const CONTROL_QUEUE = 'tayori-delivery-control';
export const batchQueueName = (tenantId: string) => `tayori-delivery-batches-${tenantId}`;

/** A send job: one chunk (delivery, tenant, chunk number). */
export interface ChunkJob {
  d: string;
  t: string;
  c: number;
}

/** The per-tenant batch queues, opened on first use over the shared connection. */
export class BatchQueues {
  readonly #redis: Redis;
  readonly #queues = new Map<string, Queue>();
  readonly #onError: (err: Error, tenantId: string) => void;

  /** `onError`: a queue's connection errors (without a listener BullMQ prints them raw to stderr). */
  constructor(redis: Redis, onError: (err: Error, tenantId: string) => void) {
    this.#redis = redis;
    this.#onError = onError;
  }

  queue(tenantId: string): Queue {
    let q = this.#queues.get(tenantId);
    if (!q) {
      q = new Queue(batchQueueName(tenantId), { connection: this.#redis, prefix: PREFIX });
      q.on('error', (err) => this.#onError(err, tenantId));
      this.#queues.set(tenantId, q);
    }
    return q;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((q) => q.close()));
  }
}
