/**
 * Work in flight in Redis: a delivery's live progress, which batches are settled, its audience cut
 * into chunks of batches, its enumeration cursor, and per-channel pacing. Every change that must
 * happen once (a batch counted, a state moved) is one Lua script, so retries and concurrent
 * workers never count twice; outcomes are settled in groups (one script call for many batches).
 */
import type { Redis } from '../core/redis.ts';

const P = 'tayori:delivery';
export const keys = {
  progress: (id: string) => `${P}:${id}`,
  settled: (id: string) => `${P}:${id}:settled`,
  payload: (id: string) => `${P}:${id}:payload`,
  links: (id: string) => `${P}:${id}:links`,
  /** Chunk n of the audience: a header line, then one line per batch (its quoted, comma-separated user ids). */
  chunk: (id: string, n: number) => `${P}:${id}:c:${n}`,
  /** Chunk number → "firstBatch:batches" (which chunks hold which batches, for a restart). */
  chunks: (id: string) => `${P}:${id}:chunks`,
  pace: (channel: string) => `${P}:pace:${channel}`,
  strikes: (channel: string) => `${P}:pace429:${channel}`,
  paused: (channel: string) => `${P}:paused:${channel}`,
};

/** Progress hash fields. */
export interface Progress {
  state: string;
  targets: number;
  batches: number;
  enumerated: boolean;
  enqueued: number;
  settled: number;
  accepted: number;
  failed: number;
  acceptedBatches: number;
  failedBatches: number;
  cursor: string;
  /** Chunks written so far, and the first chunk of the last page written (its jobs may be missing after a crash). */
  chunks: number;
  pageChunk: number;
  startedAt: number | null;
}

/** Settles a group of batches: ARGV = (batch, 'a' | 'f', recipients, record) × n; each counts once. */
const SETTLE = `
local a, f, ab, fb, n = 0, 0, 0, 0, 0
for i = 1, #ARGV, 4 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 3]) == 1 then
    n = n + 1
    if ARGV[i + 1] == 'a' then
      a = a + tonumber(ARGV[i + 2])
      ab = ab + 1
    else
      f = f + tonumber(ARGV[i + 2])
      fb = fb + 1
    end
  end
end
if n > 0 then
  redis.call('HINCRBY', KEYS[2], 'accepted', a)
  redis.call('HINCRBY', KEYS[2], 'acceptedBatches', ab)
  redis.call('HINCRBY', KEYS[2], 'failed', f)
  redis.call('HINCRBY', KEYS[2], 'failedBatches', fb)
  redis.call('HINCRBY', KEYS[2], 'settled', n)
end
return redis.call('HMGET', KEYS[2], 'settled', 'batches', 'enumerated')
`;

const CAS = `
local cur = redis.call('HGET', KEYS[1], 'state') or ''
for i = 2, #ARGV do
  if cur == ARGV[i] then
    redis.call('HSET', KEYS[1], 'state', ARGV[1])
    return {1, cur}
  end
end
return {0, cur}
`;

/**
 * Reserves the channel's next ARGV[2] send slots, ARGV[1] µs apart (a virtual schedule shared by
 * every worker process); returns how many µs from now the first one is.
 */
const RESERVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
redis.call('SET', KEYS[1], string.format('%.0f', tat + tonumber(ARGV[1]) * tonumber(ARGV[2])), 'PX', 600000)
return tat - now
`;

/**
 * After a 429: pauses the channel (every worker's next slot moves past the pause), doubling while
 * 429s keep coming after pauses. 429s that arrive during a pause (requests already in flight when
 * it began) do not lengthen it.
 */
const BACKOFF = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local paused = tonumber(redis.call('GET', KEYS[3]) or '0')
if paused > now then return paused - now end
local n = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
local back = math.min(tonumber(ARGV[1]) * math.pow(2, n - 1), tonumber(ARGV[2])) * 1000
redis.call('SET', KEYS[3], string.format('%.0f', now + back), 'PX', math.ceil(back / 1000) + 1)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now + back then tat = now + back end
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', 600000)
return back
`;

type Scripted = Redis & {
  tayoriSettle(
    settled: string,
    progress: string,
    ...args: string[]
  ): Promise<[string | null, string | null, string | null]>;
  tayoriCas(progress: string, ...args: string[]): Promise<[number, string]>;
  tayoriReserve(pace: string, intervalUs: string, slots: string): Promise<number>;
  tayoriBackoff(
    pace: string,
    strikes: string,
    paused: string,
    baseMs: string,
    maxMs: string,
    windowMs: string,
  ): Promise<number>;
};

export class DeliveryRedis {
  readonly r: Scripted;

  constructor(redis: Redis) {
    this.r = redis as Scripted;
    if (typeof this.r.tayoriSettle !== 'function') {
      redis.defineCommand('tayoriSettle', { numberOfKeys: 2, lua: SETTLE });
      redis.defineCommand('tayoriCas', { numberOfKeys: 1, lua: CAS });
      redis.defineCommand('tayoriReserve', { numberOfKeys: 1, lua: RESERVE });
      redis.defineCommand('tayoriBackoff', { numberOfKeys: 3, lua: BACKOFF });
    }
  }

  /**
   * Counts a group of one delivery's batch outcomes, each once, and keeps them (JSON) until the
   * delivery is finalized, so an outcome row that never reached ClickHouse can be written then;
   * returns whether the delivery may be complete now.
   */
  async settle(
    id: string,
    outcomes: ReadonlyArray<{ batch: number; accepted: boolean; recipients: number; record: string }>,
  ): Promise<boolean> {
    const args: string[] = [];
    for (const o of outcomes) args.push(String(o.batch), o.accepted ? 'a' : 'f', String(o.recipients), o.record);
    const [settled, batches, enumerated] = await this.r.tayoriSettle(keys.settled(id), keys.progress(id), ...args);
    return enumerated === '1' && Number(settled) >= Number(batches);
  }

  /** Which of these batches are settled already. */
  async settledAmong(id: string, batches: readonly number[]): Promise<boolean[]> {
    if (batches.length === 0) return [];
    const v = await this.r.hmget(keys.settled(id), ...batches.map(String));
    return v.map((x) => x !== null);
  }

  async settledRecords(id: string): Promise<Record<string, string>> {
    return this.r.hgetall(keys.settled(id));
  }

  async isSettled(id: string, batchNo: number): Promise<boolean> {
    return (await this.r.hexists(keys.settled(id), String(batchNo))) === 1;
  }

  /** Moves the state to `to` when it is one of `from` ('' = unknown); returns [moved, previous]. */
  async cas(id: string, to: string, from: string[]): Promise<[boolean, string]> {
    const [ok, cur] = await this.r.tayoriCas(keys.progress(id), to, ...from);
    return [ok === 1, cur];
  }

  async setState(id: string, state: string): Promise<void> {
    await this.r.hset(keys.progress(id), 'state', state);
  }

  async progress(id: string): Promise<Progress | undefined> {
    const h = await this.r.hgetall(keys.progress(id));
    if (!h || Object.keys(h).length === 0) return undefined;
    const n = (k: string) => Number(h[k] ?? 0);
    return {
      state: h.state ?? '',
      targets: n('targets'),
      batches: n('batches'),
      enumerated: h.enumerated === '1',
      enqueued: n('enqueued'),
      settled: n('settled'),
      accepted: n('accepted'),
      failed: n('failed'),
      acceptedBatches: n('acceptedBatches'),
      failedBatches: n('failedBatches'),
      cursor: h.cursor ?? '',
      chunks: n('chunks'),
      pageChunk: n('pageChunk'),
      startedAt: h.startedAt ? Number(h.startedAt) : null,
    };
  }

  /**
   * Reserves the channel's next `slots` send slots, spaced by intervalUs over every worker process;
   * returns how many µs from now the first one is.
   */
  async reserve(channel: string, intervalUs: number, slots: number): Promise<number> {
    return Number(
      await this.r.tayoriReserve(
        keys.pace(channel),
        String(Math.max(1, Math.round(intervalUs))),
        String(Math.max(1, slots)),
      ),
    );
  }

  /** Ends a 429 streak after a success (the next 429 backs off from the base again). */
  async clearBackoff(channel: string): Promise<void> {
    await this.r.del(keys.strikes(channel));
  }

  /** Backs the channel off after a 429 (every worker of the channel waits); returns the ms. */
  async backoff(channel: string, baseMs: number, maxMs: number): Promise<number> {
    return (
      Number(
        await this.r.tayoriBackoff(
          keys.pace(channel),
          keys.strikes(channel),
          keys.paused(channel),
          String(baseMs),
          String(maxMs),
          String(Math.max(2000, maxMs)),
        ),
      ) / 1000
    );
  }
}
