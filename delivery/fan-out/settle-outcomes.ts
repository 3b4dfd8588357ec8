/**
 * Settling batch outcomes: counted in Redis once, in groups (one script call per delivery for the
 * outcomes that arrive within 25 ms, or at once from 512), then appended to ClickHouse through the
 * group-commit writer; the group that completes a delivery finalizes it.
 */
import type { Logger } from '../../core/logger.ts';
import { chDateTime } from '../../core/time.ts';
import { batchRetryKey } from '../ids.ts';
import type { DeliveryRedis } from '../redis-state.ts';
import type { BatchOutcome, DeliveryStore } from '../store.ts';

/** A batch's outcome before its first attempt: failed, no answer yet, its retry key. */
export function blankOutcome(tenantId: string, id: string, b: number, recipients: number): BatchOutcome {
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

interface Pending {
  outcome: BatchOutcome;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export interface OutcomeSettlerDeps {
  state: Pick<DeliveryRedis, 'settle'>;
  store: { batchWriter: Pick<DeliveryStore['batchWriter'], 'write'> };
  logger: Pick<Logger, 'warn' | 'error'>;
  /** Called when a group completes a delivery (every batch settled). */
  finalizer: { finalize(tenantId: string, id: string): Promise<void> };
}

export class OutcomeSettler {
  readonly #d: OutcomeSettlerDeps;
  /** Outcomes waiting to be settled in Redis, by delivery. */
  #pending = new Map<string, Pending[]>();
  #pendingCount = 0;
  #flushTimer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(deps: OutcomeSettlerDeps) {
    this.#d = deps;
  }

  /**
   * Settles an outcome: counted in Redis (once) together with the others that arrive within 25 ms,
   * then appended to ClickHouse through the group-commit buffer without waiting (a row lost to a
   * crash is written from Redis when the delivery is finalized). Resolves once it is counted.
   */
  settle(outcome: BatchOutcome): Promise<void> {
    outcome.settled_at = settledAt(Date.now());
    return new Promise<void>((resolve, reject) => {
      let list = this.#pending.get(outcome.delivery_id);
      if (!list) this.#pending.set(outcome.delivery_id, (list = []));
      list.push({ outcome, resolve, reject });
      this.#pendingCount++;
      if (this.#pendingCount >= 512) void this.flush();
      else this.#flushTimer ??= setTimeout(() => void this.flush(), 25);
    });
  }

  flush(): Promise<void> {
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
          const complete = await this.#d.state.settle(
            id,
            outcomes.map((o) => ({
              batch: o.batch_no,
              accepted: o.status === 'accepted',
              recipients: o.recipients,
              record: JSON.stringify(o),
            })),
          );
          this.#d.store.batchWriter
            .write(outcomes)
            .catch((err: unknown) =>
              this.#d.logger.warn({ err, id }, 'batch outcomes not written yet (written when the delivery finishes)'),
            );
          for (const x of items) x.resolve();
          if (complete)
            await this.#d.finalizer
              .finalize(outcomes[0]!.tenant_id, id)
              .catch((err: unknown) => this.#d.logger.error({ err, id }, 'could not finalize the delivery'));
        } catch (err) {
          for (const x of items) x.reject(err);
        }
      }
    });
    return this.#flushing;
  }
}

/** chDateTime of the last ms asked for: batches settle a few per ms at 2,000/s. */
let lastSettled: [number, string] = [NaN, ''];
function settledAt(ms: number): string {
  if (lastSettled[0] !== ms) lastSettled = [ms, chDateTime(ms)];
  return lastSettled[1];
}
