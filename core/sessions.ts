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
 * Failed sign-ins counted in Redis per username and per address (the socket's, or the one a trusted
 * proxy reports: TAYORI_TRUST_PROXY). Past the limit, each further failure locks sign-in for that
 * username or address for a growing while (base, 2×, 4× … up to `maxLockMs`); a lock always
 * expires, so an attacker can slow an account down but never shut it out for good. The counts
 * themselves lapse after `windowMs` without failures; a successful sign-in clears the username's.
 */
export class LoginThrottle {
  constructor(
    private readonly redis: Redis,
    private readonly opts: {
      perUser?: number;
      perIp?: number;
      windowMs?: number;
      baseLockMs?: number;
      maxLockMs?: number;
      prefix?: string;
    } = {},
  ) {}

  get windowMs(): number {
    return this.opts.windowMs ?? 60 * 60_000;
  }
  #keys(username: string, ip: string) {
    const p = `${this.opts.prefix ?? 'tayori:'}login-`;
    const u = `user:${username.trim().toLowerCase()}`;
    const i = `ip:${ip}`;
    return { userFails: `${p}fail:${u}`, ipFails: `${p}fail:${i}`, userLock: `${p}lock:${u}`, ipLock: `${p}lock:${i}` };
  }

  /** 429 while this username or address is locked. */
  async check(username: string, ip: string): Promise<void> {
    const k = this.#keys(username, ip);
    const [u, i] = await this.redis
      .multi()
      .pttl(k.userLock)
      .pttl(k.ipLock)
      .exec()
      .then((r) => r ?? []);
    const ttl = Math.max(Number(u?.[1] ?? -2), Number(i?.[1] ?? -2));
    if (ttl > 0) {
      const seconds = Math.ceil(ttl / 1000);
      throw new AppError(
        'too_many_attempts',
        seconds < 60
          ? `サインインの失敗が続いたため、約 ${seconds} 秒間サインインできません。しばらくしてからもう一度お試しください`
          : `サインインの失敗が続いたため、約 ${Math.ceil(seconds / 60)} 分間サインインできません。しばらくしてからもう一度お試しください`,
        429,
        { retryAfterSeconds: seconds },
      );
    }
  }

  async failed(username: string, ip: string): Promise<void> {
    const k = this.#keys(username, ip);
    const r = await this.redis
      .multi()
      .incr(k.userFails)
      .pexpire(k.userFails, this.windowMs)
      .incr(k.ipFails)
      .pexpire(k.ipFails, this.windowMs)
      .exec();
    const userCount = Number(r?.[0]?.[1] ?? 0);
    const ipCount = Number(r?.[2]?.[1] ?? 0);
    const m = this.redis.multi();
    const over = [
      [k.userLock, userCount - (this.opts.perUser ?? 5)],
      [k.ipLock, ipCount - (this.opts.perIp ?? 30)],
    ] as const;
    let locks = 0;
    for (const [key, n] of over) {
      if (n < 0) continue;
      m.set(key, '1', 'PX', this.lockMs(n));
      locks++;
    }
    if (locks) await m.exec();
  }

  /** How long the n-th failure past the limit (0-based) locks sign-in. */
  lockMs(n: number): number {
    const base = this.opts.baseLockMs ?? 30_000;
    return Math.min(base * 2 ** Math.min(n, 20), this.opts.maxLockMs ?? 15 * 60_000);
  }

  async succeeded(username: string): Promise<void> {
    const k = this.#keys(username, '');
    await this.redis.del(k.userFails, k.userLock);
  }
}
