/**
 * The award guards in Redis: what makes each award happen exactly once per rule, with its caps,
 * under retries, double taps and concurrency — rebuilt from ClickHouse, which stays the truth.
 *
 * Per tenant, everything lives under an epoch (`tayori:mileage:{<tenant>}:<epoch>:…`): one hash per
 * participant and programme (`e:<entry id>` → points for each entry, `d:<activity>:<day>` and
 * `p:<activity>` award counts for the caps, `b` the balance, `c` the card issued), a hash of member
 * serials and the serial counter. The epoch key `tayori:mileage:{<tenant>}:epoch` names the current
 * epoch; every script first checks it. An epoch is made by reading the tenant's ledger, balances
 * (the rollup), cards and members from ClickHouse; until it exists no award passes, so guards lost
 * with Redis (restarted empty, flushed) never let a second award through: the next award finds the
 * epoch key missing and the guards are rebuilt from the ledger first.
 *
 * The balance the resident is shown is the hash's `b`: counted by the award script with the award
 * itself (HINCRBY), set from the balances rollup on a rebuild.
 *
 * Before rebuilding, this process waits for its own awards in flight (their rows are then in the
 * event log, or undone), then for the event log to be shipped (beforeRebuild: every acknowledged
 * row is then in ClickHouse), so the rebuild sees every row it must; if the log cannot be shipped
 * (ClickHouse away), the rebuild fails and awards answer 503 until it can.
 *
 * Crash window: a process that dies after an award's guard is set and before its row is stored leaves
 * a guard without a row (the resident would be told "already awarded" — a missed award, never a
 * double one). `start()` drops every mileage key, so the first award after a start rebuilds from the
 * ledger and the guard is gone. With several processes on one Redis, a process that starts would
 * drop the epoch under the others' awards in flight: the suite runs one process per data directory.
 *
 * Member numbers: a first award's number is stored in its ledger row and its member row (one
 * append to the event log); a rebuild reads the numbers of both tables after the log is shipped, so
 * a serial is never given twice. A process that dies between giving a number and appending its row
 * loses that number unused (it was never shown); after the restart it may be given to someone else.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ClickHouseClient } from '../core/clickhouse.ts';
import { unavailableError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Redis } from '../core/redis.ts';
import { z } from '../core/zod.ts';
import { keysetBatches } from './keyset-rows.ts';

export const KEY_PREFIX = 'tayori:mileage:';
const epochKey = (tenantId: string) => `${KEY_PREFIX}{${tenantId}}:epoch`;
const lockKey = (tenantId: string) => `${KEY_PREFIX}{${tenantId}}:rebuild`;
const base = (tenantId: string, epoch: string) => `${KEY_PREFIX}{${tenantId}}:${epoch}:`;
export const userKey = (tenantId: string, epoch: string, programmeId: string, userId: string) =>
  `${base(tenantId, epoch)}u:${programmeId}:${userId}`;
const membersKey = (tenantId: string, epoch: string) => `${base(tenantId, epoch)}members`;
const serialKey = (tenantId: string, epoch: string) => `${base(tenantId, epoch)}serial`;

/** Returned by a step whose epoch is gone: the caller refreshes (or rebuilds) and tries again. */
export const STALE = Symbol('stale epoch');

/** An award, with the participant's member serial (given here on a first award): one round trip. */
const AWARD = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {-2, 0, 0, 0} end
local s = redis.call('HGET', KEYS[3], ARGV[8])
local created = 0
if not s then
  s = redis.call('INCR', KEYS[4])
  redis.call('HSET', KEYS[3], ARGV[8], s)
  created = 1
end
s = tonumber(s)
local b = tonumber(redis.call('HGET', KEYS[2], 'b') or '0')
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return {0, b, s, created} end
local dcap = tonumber(ARGV[5])
if dcap > 0 and tonumber(redis.call('HGET', KEYS[2], ARGV[4]) or '0') >= dcap then return {-3, b, s, created} end
local pcap = tonumber(ARGV[7])
if pcap > 0 and tonumber(redis.call('HGET', KEYS[2], ARGV[6]) or '0') >= pcap then return {-4, b, s, created} end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
if ARGV[4] ~= '' then redis.call('HINCRBY', KEYS[2], ARGV[4], 1) end
if ARGV[6] ~= '' then redis.call('HINCRBY', KEYS[2], ARGV[6], 1) end
return {1, redis.call('HINCRBY', KEYS[2], 'b', ARGV[3]), s, created}
`;

const UNDO = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('HDEL', KEYS[2], ARGV[2]) == 0 then return 0 end
if ARGV[4] ~= '' then redis.call('HINCRBY', KEYS[2], ARGV[4], -1) end
if ARGV[6] ~= '' then redis.call('HINCRBY', KEYS[2], ARGV[6], -1) end
redis.call('HINCRBY', KEYS[2], 'b', -tonumber(ARGV[3]))
return 1
`;

const FLAG = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -2 end
if ARGV[3] == '1' then return redis.call('HSETNX', KEYS[2], ARGV[2], '1') end
return redis.call('HDEL', KEYS[2], ARGV[2])
`;

const MEMBER = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {-2, 0} end
local s = redis.call('HGET', KEYS[2], ARGV[2])
if s then return {0, tonumber(s)} end
local n = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[2], ARGV[2], n)
return {1, n}
`;

const MEMBER_UNDO = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('HGET', KEYS[2], ARGV[2]) == ARGV[3] then return redis.call('HDEL', KEYS[2], ARGV[2]) end
return 0
`;

const READ = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
return redis.call('HGET', KEYS[2], ARGV[2]) or ''
`;

const READ_MANY = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
return redis.call('HMGET', KEYS[2], unpack(ARGV, 2))
`;

const guardRow = z.object({
  programme_id: z.string(),
  user_id: z.string(),
  entry_id: z.string(),
  activity_id: z.string(),
  kind: z.string(),
  activity_on: z.string(),
});
const balanceRow = z.object({ programme_id: z.string(), user_id: z.string(), points: z.coerce.number() });
const cardRow = z.object({ programme_id: z.string(), user_id: z.string() });
const memberRow = z.object({ user_id: z.string(), member_no: z.string() });

/** What an award asks the guard for. */
export interface GuardAward {
  programmeId: string;
  userId: string;
  entryId: string;
  points: number;
  /** The activity whose caps count (''/0: none, e.g. a correction). */
  activityId: string;
  activityOn: string;
  dailyCap: number;
  periodCap: number;
}

export type GuardOutcome = {
  kind: 'awarded' | 'already' | 'daily_cap' | 'period_cap';
  balance: number;
  /** The participant's member serial; `memberCreated` when this call gave it. */
  serial: number;
  memberCreated: boolean;
};

/** The hash fields an award touches: its entry, its day's and its period's counters. */
export function awardFields(a: GuardAward): { entry: string; daily: string; period: string } {
  const counted = a.activityId !== '';
  return {
    entry: `e:${a.entryId}`,
    daily: counted ? `d:${a.activityId}:${a.activityOn.replaceAll('-', '')}` : '',
    period: counted ? `p:${a.activityId}` : '',
  };
}

/** Runs Lua by its SHA, loading it on first use. */
class Script {
  readonly sha: string;
  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }
  async run(redis: Redis, keys: string[], args: Array<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (e) {
      if (!String((e as Error).message).startsWith('NOSCRIPT')) throw e;
      return redis.eval(this.lua, keys.length, ...keys, ...args);
    }
  }
}
const scripts = {
  award: new Script(AWARD),
  undo: new Script(UNDO),
  flag: new Script(FLAG),
  member: new Script(MEMBER),
  memberUndo: new Script(MEMBER_UNDO),
  read: new Script(READ),
  readMany: new Script(READ_MANY),
};

/** Commands queued on one Redis pipeline, sent (and awaited) every PIPELINE commands: bounded memory. */
class PipelineWriter {
  static readonly PIPELINE = 1_000;
  #pipe: ReturnType<Redis['pipeline']>;
  #queued = 0;

  constructor(private readonly redis: Redis) {
    this.#pipe = redis.pipeline();
  }

  async hset(key: string, fields: Record<string, string | number>): Promise<void> {
    if (Object.keys(fields).length === 0) return;
    this.#pipe.hset(key, fields);
    if (++this.#queued >= PipelineWriter.PIPELINE) await this.flush();
  }

  async set(key: string, value: string): Promise<void> {
    this.#pipe.set(key, value);
    if (++this.#queued >= PipelineWriter.PIPELINE) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#queued === 0) return;
    const pipe = this.#pipe;
    this.#pipe = this.redis.pipeline();
    this.#queued = 0;
    for (const [err] of (await pipe.exec()) ?? []) if (err) throw err;
  }
}

export class AwardGuards {
  readonly #epochs = new Map<string, string>();
  readonly #rebuilds = new Map<string, Promise<string>>();
  readonly #inFlight = new Map<string, Set<Promise<unknown>>>();
  /** Rebuilds done (for tests and figures). */
  readonly stats = { rebuilds: 0 };
  /** Waited for before a rebuild reads ClickHouse: rows acknowledged but not yet there (the event log's). */
  beforeRebuild?: () => Promise<void>;
  /** Rows a rebuild reads from ClickHouse per query (what bounds its memory on the embedded engine). */
  rebuildPageRows = 50_000;

  constructor(
    private readonly ch: ClickHouseClient,
    private readonly redis: Redis,
    private readonly logger?: Logger,
  ) {}

  /** Start-up repair: drops every mileage key, so each tenant's guards are rebuilt from ClickHouse. */
  async start(): Promise<void> {
    this.#epochs.clear();
    await this.#unlinkMatching(`${KEY_PREFIX}*`, () => true);
  }

  /** Drops a tenant's guards (e.g. after rows were written to the ledger directly): the next award rebuilds them. */
  async invalidate(tenantId: string): Promise<void> {
    this.#epochs.delete(tenantId);
    await this.redis.del(epochKey(tenantId));
  }

  /**
   * Runs `step` with the tenant's current epoch; a step that answers STALE (the epoch changed or is
   * gone) runs again once the epoch is refreshed or rebuilt. Steps are counted in flight, so a
   * rebuild waits for them.
   */
  async run<T>(tenantId: string, step: (epoch: string) => Promise<T | typeof STALE>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const epoch = await this.#epoch(tenantId);
      const running = step(epoch);
      const set = this.#inFlight.get(tenantId) ?? new Set();
      this.#inFlight.set(tenantId, set);
      set.add(running);
      let r: T | typeof STALE;
      try {
        r = await running;
      } finally {
        set.delete(running);
      }
      if (r !== STALE) return r;
      if (attempt >= 5) throw new Error(`mileage guards for ${tenantId}: the epoch keeps changing`);
      await this.#refresh(tenantId, epoch);
    }
  }

  async award(tenantId: string, epoch: string, a: GuardAward): Promise<GuardOutcome | typeof STALE> {
    const f = awardFields(a);
    const [code, balance, serial, created] = (await scripts.award.run(
      this.redis,
      [
        epochKey(tenantId),
        userKey(tenantId, epoch, a.programmeId, a.userId),
        membersKey(tenantId, epoch),
        serialKey(tenantId, epoch),
      ],
      [epoch, f.entry, a.points, f.daily, a.dailyCap, f.period, a.periodCap, a.userId],
    )) as [number, number, number, number];
    if (code === -2) return STALE;
    const kind = code === 0 ? 'already' : code === -3 ? 'daily_cap' : code === -4 ? 'period_cap' : 'awarded';
    return { kind, balance, serial, memberCreated: created === 1 };
  }

  /** Takes back an award whose row was not stored (false: the epoch is gone, nothing to undo). */
  async undo(tenantId: string, epoch: string, a: GuardAward): Promise<boolean> {
    const f = awardFields(a);
    const n = await scripts.undo.run(
      this.redis,
      [epochKey(tenantId), userKey(tenantId, epoch, a.programmeId, a.userId)],
      [epoch, f.entry, a.points, f.daily, '', f.period],
    );
    return n === 1;
  }

  /** Sets (once: true when this call set it) or clears a participant's flag, e.g. `c` (card issued). */
  async flag(
    tenantId: string,
    epoch: string,
    programmeId: string,
    userId: string,
    field: string,
    on: boolean,
  ): Promise<boolean | typeof STALE> {
    const n = await scripts.flag.run(
      this.redis,
      [epochKey(tenantId), userKey(tenantId, epoch, programmeId, userId)],
      [epoch, field, on ? '1' : '0'],
    );
    return n === -2 ? STALE : n === 1;
  }

  /** A participant's member serial, allocated on first call (created: true), unique per tenant. */
  async member(
    tenantId: string,
    epoch: string,
    userId: string,
  ): Promise<{ serial: number; created: boolean } | typeof STALE> {
    const [code, serial] = (await scripts.member.run(
      this.redis,
      [epochKey(tenantId), membersKey(tenantId, epoch), serialKey(tenantId, epoch)],
      [epoch, userId],
    )) as [number, number];
    return code === -2 ? STALE : { serial, created: code === 1 };
  }

  async memberUndo(tenantId: string, epoch: string, userId: string, serial: number): Promise<void> {
    await scripts.memberUndo.run(
      this.redis,
      [epochKey(tenantId), membersKey(tenantId, epoch)],
      [epoch, userId, String(serial)],
    );
  }

  /** A participant's member serial if they have one ('' otherwise). */
  async memberSerial(tenantId: string, epoch: string, userId: string): Promise<string | typeof STALE> {
    const v = await scripts.read.run(this.redis, [epochKey(tenantId), membersKey(tenantId, epoch)], [epoch, userId]);
    return v === null ? STALE : String(v);
  }

  /** A participant's balance as the guards count it (every acknowledged award, at once). */
  balance(tenantId: string, programmeId: string, userId: string): Promise<number> {
    return this.run(tenantId, async (epoch) => {
      const v = await this.counts(tenantId, epoch, programmeId, userId, ['b']);
      return v === STALE ? STALE : v[0]!;
    });
  }

  /** Fields of a participant's hash (counters, flags), 0 for those not set. */
  async counts(
    tenantId: string,
    epoch: string,
    programmeId: string,
    userId: string,
    fields: string[],
  ): Promise<number[] | typeof STALE> {
    const v = await scripts.readMany.run(
      this.redis,
      [epochKey(tenantId), userKey(tenantId, epoch, programmeId, userId)],
      [epoch, ...fields],
    );
    return v === null ? STALE : (v as Array<string | null>).map((x) => Number(x ?? 0));
  }

  async #epoch(tenantId: string): Promise<string> {
    const pending = this.#rebuilds.get(tenantId);
    if (pending) return pending;
    const cached = this.#epochs.get(tenantId);
    if (cached) return cached;
    const stored = await this.redis.get(epochKey(tenantId));
    if (stored) {
      this.#epochs.set(tenantId, stored);
      return stored;
    }
    return this.#rebuild(tenantId);
  }

  async #refresh(tenantId: string, stale: string): Promise<void> {
    if (this.#rebuilds.has(tenantId)) return;
    if (this.#epochs.get(tenantId) !== stale) return;
    this.#epochs.delete(tenantId);
    const stored = await this.redis.get(epochKey(tenantId));
    if (stored && stored !== stale) this.#epochs.set(tenantId, stored);
  }

  #rebuild(tenantId: string): Promise<string> {
    const existing = this.#rebuilds.get(tenantId);
    if (existing) return existing;
    const p = this.#doRebuild(tenantId).finally(() => this.#rebuilds.delete(tenantId));
    this.#rebuilds.set(tenantId, p);
    return p;
  }

  async #doRebuild(tenantId: string): Promise<string> {
    // this process's awards in flight finish first: their rows are then stored or undone; so do
    // member rows written after their awards (a number must not be given twice)
    await Promise.allSettled([...(this.#inFlight.get(tenantId) ?? [])]);
    try {
      await this.beforeRebuild?.();
    } catch (err) {
      // rebuilding without rows acknowledged to residents could award twice: not now
      throw unavailableError('clickhouse', err);
    }
    const lock = randomBytes(8).toString('hex');
    const deadline = Date.now() + 120_000;
    while ((await this.redis.set(lockKey(tenantId), lock, 'PX', 60_000, 'NX')) !== 'OK') {
      // another process rebuilds: wait for its epoch
      const stored = await this.redis.get(epochKey(tenantId));
      if (stored) {
        this.#epochs.set(tenantId, stored);
        return stored;
      }
      if (Date.now() > deadline) throw new Error(`mileage guards for ${tenantId}: rebuild lock held too long`);
      await new Promise((r) => setTimeout(r, 50));
    }
    try {
      const stored = await this.redis.get(epochKey(tenantId));
      if (stored) {
        this.#epochs.set(tenantId, stored);
        return stored;
      }
      const epoch = `${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
      await this.#load(tenantId, epoch);
      await this.redis.set(epochKey(tenantId), epoch);
      this.#epochs.set(tenantId, epoch);
      this.stats.rebuilds++;
      // the old epochs' keys go in the background
      void this.#unlinkMatching(
        `${KEY_PREFIX}{${tenantId}}:*`,
        (k) => !k.startsWith(base(tenantId, epoch)) && k !== epochKey(tenantId) && k !== lockKey(tenantId),
      ).catch((err: unknown) => this.logger?.warn({ err, tenantId }, 'old mileage guard keys not removed'));
      return epoch;
    } finally {
      const script = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
      await this.redis.eval(script, 1, lockKey(tenantId), lock).catch(() => {});
    }
  }

  /**
   * Writes the tenant's guards for a new epoch from ClickHouse (ledger, balances rollup, cards,
   * members), in bounded memory: each table is read in pages of `rebuildPageRows` rows, streamed,
   * and written to Redis in pipelines of at most PIPELINE commands, awaited before reading on. The
   * ledger comes in its table's order, so a participant's fields are gathered and written at once.
   */
  async #load(tenantId: string, epoch: string): Promise<void> {
    const pipe = new PipelineWriter(this.redis);
    const params = { tenant: tenantId };
    const pageRows = this.rebuildPageRows;
    const byParticipant = { after_programme: '', after_user: '' };
    const participantAfter = (r: { programme_id: string; user_id: string }) => ({
      after_programme: r.programme_id,
      after_user: r.user_id,
    });

    let key = '';
    let fields: Record<string, number> = {};
    for await (const batch of keysetBatches(this.ch, {
      name: 'mileage.ledger_guards',
      params,
      row: guardRow,
      first: { ...byParticipant, after_entry: '' },
      after: (r) => ({ ...participantAfter(r), after_entry: r.entry_id }),
      pageRows,
    })) {
      for (const e of batch) {
        const k = userKey(tenantId, epoch, e.programme_id, e.user_id);
        if (k !== key) {
          if (key) await pipe.hset(key, fields);
          key = k;
          fields = {};
        }
        fields[`e:${e.entry_id}`] = 1;
        if (e.kind !== 'correction' && e.activity_id) {
          const f = awardFields({
            programmeId: e.programme_id,
            userId: e.user_id,
            entryId: e.entry_id,
            points: 0,
            activityId: e.activity_id,
            activityOn: e.activity_on,
            dailyCap: 0,
            periodCap: 0,
          });
          fields[f.daily] = (fields[f.daily] ?? 0) + 1;
          fields[f.period] = (fields[f.period] ?? 0) + 1;
        }
      }
    }
    if (key) await pipe.hset(key, fields);

    const perParticipant = { params, first: byParticipant, after: participantAfter, pageRows };
    for await (const batch of keysetBatches(this.ch, {
      name: 'mileage.balances_of_tenant',
      row: balanceRow,
      ...perParticipant,
    })) {
      for (const b of batch) await pipe.hset(userKey(tenantId, epoch, b.programme_id, b.user_id), { b: b.points });
    }
    for await (const batch of keysetBatches(this.ch, {
      name: 'mileage.cards_of_tenant',
      row: cardRow,
      ...perParticipant,
    })) {
      for (const c of batch) await pipe.hset(userKey(tenantId, epoch, c.programme_id, c.user_id), { c: 1 });
    }

    let maxSerial = 0;
    for await (const batch of keysetBatches(this.ch, {
      name: 'mileage.members_of_tenant',
      params,
      row: memberRow,
      first: { after_user: '' },
      after: (r) => ({ after_user: r.user_id }),
      pageRows,
    })) {
      const serials: Record<string, string> = {};
      for (const m of batch) {
        const serial = Number(m.member_no.split('-')[1] ?? 0);
        if (serial > maxSerial) maxSerial = serial;
        serials[m.user_id] = String(serial);
      }
      await pipe.hset(membersKey(tenantId, epoch), serials);
    }
    await pipe.set(serialKey(tenantId, epoch), String(maxSerial));
    await pipe.flush();
  }

  async #unlinkMatching(pattern: string, remove: (key: string) => boolean): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      const gone = keys.filter(remove);
      if (gone.length) await this.redis.unlink(...gone);
    } while (cursor !== '0');
  }
}
