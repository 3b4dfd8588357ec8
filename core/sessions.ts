import { createHash, randomBytes } from 'node:crypto';
import { AppError } from './errors.ts';
import type { Redis } from './redis.ts';

/**
 * Dashboard sessions in Redis (work in flight, never data of record): the cookie holds a random
 * token; Redis keeps only its SHA-256, so a Redis dump cannot be replayed as a cookie.
 * Sessions end after `idleMs` without use or `maxMs` after signing in, whichever comes first.
 */
export interface SessionRecord {
  username: string;
  userId: string;
  csrfToken: string;
  createdMs: number;
}

const hash = (s: string) => createHash('sha256').update(s).digest('hex');

export class SessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly opts: { idleMs?: number; maxMs?: number; prefix?: string } = {},
  ) {}

  get idleMs(): number {
    return this.opts.idleMs ?? 8 * 3_600_000;
  }
  get maxMs(): number {
    return this.opts.maxMs ?? 12 * 3_600_000;
  }
  #key(token: string): string {
    return `${this.opts.prefix ?? 'tayori:'}session:${hash(token)}`;
  }
  #userKey(userId: string): string {
    return `${this.opts.prefix ?? 'tayori:'}user-sessions:${userId}`;
  }

  /** A new session; returns the cookie token (shown to nobody else) and the record. */
  async create(username: string, userId: string): Promise<{ token: string; record: SessionRecord }> {
    const token = randomBytes(32).toString('base64url');
    const record: SessionRecord = {
      username,
      userId,
      csrfToken: randomBytes(24).toString('base64url'),
      createdMs: Date.now(),
    };
    await this.redis
      .multi()
      .set(this.#key(token), JSON.stringify(record), 'PX', this.idleMs)
      .sadd(this.#userKey(userId), hash(token))
      .pexpire(this.#userKey(userId), this.maxMs)
      .exec();
    return { token, record };
  }

  /** The live session behind a token (and its idle time renewed), or undefined. */
  async get(token: string): Promise<(SessionRecord & { sessionId: string }) | undefined> {
    const key = this.#key(token);
    const raw = await this.redis.get(key);
    if (!raw) return undefined;
    const record = JSON.parse(raw) as SessionRecord;
    const left = record.createdMs + this.maxMs - Date.now();
    if (left <= 0) {
      await this.redis.del(key);
      return undefined;
    }
    await this.redis.pexpire(key, Math.min(this.idleMs, left));
    return { ...record, sessionId: hash(token).slice(0, 16) };
  }

  async destroy(token: string): Promise<void> {
    await this.redis.del(this.#key(token));
  }

  /** Ends every session of an account (password changed, account disabled). */
  async destroyAllFor(userId: string): Promise<void> {
    const hashes = await this.redis.smembers(this.#userKey(userId));
    const prefix = `${this.opts.prefix ?? 'tayori:'}session:`;
    if (hashes.length) await this.redis.del(...hashes.map((h) => prefix + h));
    await this.redis.del(this.#userKey(userId));
  }
}

/**
 * Failed sign-ins counted in Redis per username and per address within a window. Past the limit,
 * sign-in is refused (429) until the window passes, even with the right password.
 */
export class LoginThrottle {
  constructor(
    private readonly redis: Redis,
    private readonly opts: { perUser?: number; perIp?: number; windowMs?: number; prefix?: string } = {},
  ) {}

  get windowMs(): number {
    return this.opts.windowMs ?? 15 * 60_000;
  }
  #keys(username: string, ip: string): [string, string] {
    const p = `${this.opts.prefix ?? 'tayori:'}login-fail:`;
    return [`${p}user:${username.trim().toLowerCase()}`, `${p}ip:${ip}`];
  }

  /** 429 when too many recent failures for this username or address. */
  async check(username: string, ip: string): Promise<void> {
    const [u, i] = this.#keys(username, ip);
    const [uc, ic] = await this.redis.mget(u, i);
    const overUser = Number(uc ?? 0) >= (this.opts.perUser ?? 5);
    const overIp = Number(ic ?? 0) >= (this.opts.perIp ?? 30);
    if (overUser || overIp) {
      const ttl = Math.max(await this.redis.pttl(overUser ? u : i), 1000);
      const minutes = Math.ceil(ttl / 60_000);
      throw new AppError(
        'too_many_attempts',
        `サインインの失敗が続いたため、一時的にサインインできません。約 ${minutes} 分後にもう一度お試しください`,
        429,
        {
          retryAfterSeconds: Math.ceil(ttl / 1000),
        },
      );
    }
  }

  async failed(username: string, ip: string): Promise<void> {
    const m = this.redis.multi();
    for (const k of this.#keys(username, ip)) m.incr(k).pexpire(k, this.windowMs, 'NX');
    await m.exec();
  }

  async succeeded(username: string): Promise<void> {
    await this.redis.del(this.#keys(username, '')[0]);
  }
}
