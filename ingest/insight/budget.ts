import { randomUUID } from 'node:crypto';
import type { Redis } from '../../core/redis.ts';

/**
 * LINE allows 60 requests per hour per channel on the Insight endpoints. The budget is a sliding
 * log in Redis (one sorted set of call times per channel), shared by every process and every
 * Insight call of the channel. A 429 from LINE pauses the channel as a whole.
 */
export interface BudgetOptions {
  /** Calls allowed per window. Default 60. */
  limit?: number;
  /** Window length. Default one hour. */
  windowMs?: number;
  /**
   * Added to the window so that calls LINE counts by their arrival time stay inside its limit
   * even when an earlier call took longer to arrive. Default 5 s.
   */
  marginMs?: number;
  /** Key prefix in Redis. */
  prefix?: string;
}

/** KEYS[1] call log, KEYS[2] pause; ARGV now, window, limit, member. 0 = granted, else retry-at ms. */
const TAKE = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then return paused end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tonumber(oldest[2]) + window + 1
`;

/** KEYS[1] pause; ARGV until, ttl. Only ever moves the pause later. */
const PAUSE = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return 0
`;

type BudgetRedis = Redis & {
  insightBudgetTake(
    log: string,
    pause: string,
    now: number,
    window: number,
    limit: number,
    member: string,
  ): Promise<number>;
  insightBudgetPause(pause: string, until: number, ttl: number): Promise<number>;
};

export class InsightBudget {
  readonly limit: number;
  readonly windowMs: number;
  readonly #redis: BudgetRedis;
  readonly #prefix: string;
  readonly #effectiveWindow: number;

  constructor(redis: Redis, opts: BudgetOptions = {}) {
    this.limit = opts.limit ?? 60;
    this.windowMs = opts.windowMs ?? 3_600_000;
    this.#effectiveWindow = this.windowMs + (opts.marginMs ?? 5000);
    this.#prefix = opts.prefix ?? 'tayori';
    if (!('insightBudgetTake' in redis)) {
      redis.defineCommand('insightBudgetTake', { numberOfKeys: 2, lua: TAKE });
      redis.defineCommand('insightBudgetPause', { numberOfKeys: 1, lua: PAUSE });
    }
    this.#redis = redis as BudgetRedis;
  }

  #keys(channel: string): [string, string] {
    return [`${this.#prefix}:insight-budget:{${channel}}:log`, `${this.#prefix}:insight-budget:{${channel}}:pause`];
  }

  /**
   * Takes one call from the channel's budget. Returns 0 when granted, otherwise the epoch ms at
   * which a call may be tried again.
   */
  async take(channel: string, now = Date.now()): Promise<number> {
    const [log, pause] = this.#keys(channel);
    return Number(
      await this.#redis.insightBudgetTake(log, pause, now, this.#effectiveWindow, this.limit, `${now}-${randomUUID()}`),
    );
  }

  /** LINE answered 429: no call for this channel until `until`. */
  async pause(channel: string, until: number, now = Date.now()): Promise<void> {
    const [, pause] = this.#keys(channel);
    await this.#redis.insightBudgetPause(pause, until, Math.max(1, until - now));
  }

  /** Calls counted in the current window (for status output). */
  async used(channel: string, now = Date.now()): Promise<number> {
    const [log] = this.#keys(channel);
    return this.#redis.zcount(log, `(${now - this.#effectiveWindow}`, '+inf');
  }
}
