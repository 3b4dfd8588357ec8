/**
 * LINE's per-channel, per-endpoint rate limits as exact sliding windows: a request is allowed
 * when fewer than `limit` requests were allowed in the preceding `windowMs`. Each window is a
 * ring buffer of the last `limit` allowed timestamps. Rejected requests do not count.
 */
import type { RateLimits } from '../world.ts';

const PER_HOUR_OPERATIONS = new Set([
  'narrowcast',
  'broadcast',
  'getNumberOfMessageDeliveries',
  'getNumberOfFollowers',
  'getFriendsDemographics',
  'getMessageEvent',
  'getStatisticsPerUnit',
]);

/** 100 requests per hour (LINE's table; the Official Account Manager's own are not counted). */
const RICH_MENU_PER_HOUR_OPERATIONS = new Set([
  'createRichMenu',
  'deleteRichMenu',
  'deleteRichMenuAlias',
  'getRichMenuBatchProgress',
]);

export interface WindowRule {
  limit: number;
  windowMs: number;
}

export function ruleFor(operationId: string, limits: RateLimits): WindowRule {
  if (operationId === 'multicast') return { limit: limits.multicastPerSecond, windowMs: 1000 };
  if (PER_HOUR_OPERATIONS.has(operationId)) return { limit: limits.perHourEndpoints, windowMs: 3_600_000 };
  if (RICH_MENU_PER_HOUR_OPERATIONS.has(operationId))
    return { limit: limits.richMenuPerHour ?? 100, windowMs: 3_600_000 };
  if (operationId === 'richMenuBatch') return { limit: 3, windowMs: 3_600_000 };
  return { limit: limits.defaultPerSecond, windowMs: 1000 };
}

export class SlidingWindow {
  private readonly stamps: Float64Array;
  private next = 0;
  private filled = 0;

  constructor(readonly rule: WindowRule) {
    this.stamps = new Float64Array(rule.limit);
  }

  /** Takes one slot at `now` if the window has room; false when the limit is reached. */
  tryTake(now: number): boolean {
    if (this.filled === this.rule.limit) {
      // The oldest of the last `limit` allowed requests sits at `next`.
      if (now - this.stamps[this.next]! < this.rule.windowMs) return false;
    } else {
      this.filled++;
    }
    this.stamps[this.next] = now;
    this.next = (this.next + 1) % this.rule.limit;
    return true;
  }
}

export class RateLimiter {
  private readonly windows = new Map<string, SlidingWindow>();

  constructor(
    private readonly limits: RateLimits,
    private readonly clock: () => number = Date.now,
  ) {}

  /** True if the request may proceed (and counts it). */
  allow(channelId: string, operationId: string): boolean {
    const key = `${channelId}\u0000${operationId}`;
    let w = this.windows.get(key);
    if (!w) {
      w = new SlidingWindow(ruleFor(operationId, this.limits));
      this.windows.set(key, w);
    }
    return w.tryTake(this.clock());
  }

  reset(): void {
    this.windows.clear();
  }
}
