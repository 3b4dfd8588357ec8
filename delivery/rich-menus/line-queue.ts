/**
 * LINE's rich menu calls of one tenant, one at a time, within LINE's limits: creating and deleting
 * menus and deleting aliases count against 100 an hour per channel, so those wait their turn here
 * instead of being sent; a 429 (or a connection failure, or a 5xx) is never a failure — the call is
 * tried again after a pause (doubling up to `maxRetryMs`) for as long as it takes, and the waiting
 * is reported (`onWait`) so staff see why a publication is not done yet. Any other answer throws.
 */
import { HTTPFetchError } from '@line/bot-sdk';
import { isConnectionError } from '../../core/errors.ts';

export const HOURLY_OPERATIONS = new Set(['createRichMenu', 'deleteRichMenu', 'deleteRichMenuAlias']);

export interface LineQueueOptions {
  /** Requests of HOURLY_OPERATIONS per hour and channel (LINE: 100). */
  perHour?: number;
  /** First pause after a 429 (ms; doubles). */
  retryMs?: number;
  maxRetryMs?: number;
  /** Real time for the hourly window (ms). */
  clock?: () => number;
}

export interface Waiting {
  operation: string;
  reason: 'rate_limited' | 'unreachable' | 'hourly_budget';
  status?: number;
  attempt: number;
}

export class LineQueue {
  readonly #tails = new Map<string, Promise<unknown>>();
  readonly #sent = new Map<string, number[]>();
  readonly #o: Required<LineQueueOptions>;
  #stopped = false;

  constructor(o: LineQueueOptions = {}) {
    this.#o = {
      perHour: o.perHour ?? 100,
      retryMs: o.retryMs ?? 1000,
      maxRetryMs: o.maxRetryMs ?? 60_000,
      clock: o.clock ?? Date.now,
    };
  }

  /** Runs `work` after the tenant's earlier work; its calls go through `call`. */
  run<T>(tenantId: string, work: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(tenantId) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(work);
    const tail = next.catch(() => undefined);
    this.#tails.set(tenantId, tail);
    void tail.then(() => {
      if (this.#tails.get(tenantId) === tail) this.#tails.delete(tenantId);
    });
    return next;
  }

  /** Resolves once every tenant's queued work is done. */
  async idle(): Promise<void> {
    while (this.#tails.size) await Promise.all([...this.#tails.values()]);
  }

  stop(): void {
    this.#stopped = true;
  }

  /** One LINE call, retried on 429 / unreachable / 5xx until it is answered otherwise. */
  async call<T>(
    tenantId: string,
    operation: string,
    fn: () => Promise<T>,
    onWait?: (w: Waiting) => void | Promise<void>,
  ): Promise<T> {
    let pause = this.#o.retryMs;
    for (let attempt = 1; ; attempt++) {
      if (this.#stopped) throw new Error('rich menu queue stopped');
      if (HOURLY_OPERATIONS.has(operation)) {
        const wait = this.#budget(tenantId, operation);
        if (wait > 0) {
          await onWait?.({ operation, reason: 'hourly_budget', attempt });
          await sleep(Math.min(wait, this.#o.maxRetryMs));
          attempt--;
          continue;
        }
      }
      try {
        return await fn();
      } catch (err) {
        const status = err instanceof HTTPFetchError ? err.status : undefined;
        const retry = status === 429 || (status !== undefined && status >= 500) || isConnectionError(err);
        if (!retry) throw err;
        await onWait?.({ operation, reason: status === 429 ? 'rate_limited' : 'unreachable', status, attempt });
        await sleep(pause);
        pause = Math.min(pause * 2, this.#o.maxRetryMs);
      }
    }
  }

  /** 0 when a call may go now (and counts it), else ms until the hour's oldest call leaves the window. */
  #budget(tenantId: string, operation: string): number {
    const key = `${tenantId}\u0000${operation}`;
    const now = this.#o.clock();
    const list = (this.#sent.get(key) ?? []).filter((t) => now - t < 3_600_000);
    if (list.length >= this.#o.perHour) {
      this.#sent.set(key, list);
      return 3_600_000 - (now - list[0]!);
    }
    list.push(now);
    this.#sent.set(key, list);
    return 0;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref?.());
