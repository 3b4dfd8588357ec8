/**
 * The mail intake's limits: how many mails one sender may send a tenant, and one tenant may receive,
 * in any hour — a sliding window (a sorted set of admitted mails' times per tenant and per sender,
 * trimmed to the last hour in one Lua script), so no sender gets twice its limit across a clock
 * hour. A refused mail is not counted (memory stays bounded under a bomb); the first refusal while a
 * window is full is told apart so that only it is recorded.
 */
import { createHash } from 'node:crypto';
import type { Redis } from '../../core/redis.ts';

export interface MailLimits {
  /** Mails one sender may send one tenant in an hour. */
  perSenderPerHour: number;
  /** Mails one tenant may receive in an hour. */
  perTenantPerHour: number;
}
export const DEFAULT_MAIL_LIMITS: MailLimits = { perSenderPerHour: 20, perTenantPerHour: 60 };

const WINDOW_MS = 3_600_000;

// KEYS: tenant window, sender window, tenant refusal mark, sender refusal mark
// ARGV: now (ms), window (ms), tenant limit, sender limit, member → {admitted 0|1, first refusal 0|1}
// Scores and marks hold the caller's clock; the keys' TTLs (a window) only clean up.
const ADMIT = `
local now, win = tonumber(ARGV[1]), tonumber(ARGV[2])
local limits = { tonumber(ARGV[3]), tonumber(ARGV[4]) }
local full, first = false, 0
for i = 1, 2 do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - win)
  if redis.call('ZCARD', KEYS[i]) >= limits[i] then
    full = true
    -- the mark holds until the oldest mail leaves the window (then one may be admitted again)
    if tonumber(redis.call('GET', KEYS[i + 2]) or '0') <= now then
      local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')[2]
      redis.call('SET', KEYS[i + 2], tostring((tonumber(oldest) or now) + win), 'PX', win)
      first = 1
    end
  end
end
if full then return { 0, first } end
for i = 1, 2 do
  redis.call('ZADD', KEYS[i], now, ARGV[5])
  redis.call('PEXPIRE', KEYS[i], win)
end
return { 1, 0 }`;

export class MailWindows {
  constructor(
    private readonly redis: Redis,
    private readonly limits: () => MailLimits,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Counts the mail (`id`) against the sender's and the tenant's last hour; ok false when either is full. */
  async admit(tenantId: string, sender: string, id: string): Promise<{ ok: boolean; first: boolean }> {
    const who = createHash('sha256').update(sender.toLowerCase()).digest('hex').slice(0, 24);
    const k = `tayori:delivery:mail:window:${tenantId}`;
    const { perTenantPerHour, perSenderPerHour } = this.limits();
    const [ok, first] = (await this.redis.eval(
      ADMIT,
      4,
      k,
      `${k}:${who}`,
      `${k}:full`,
      `${k}:${who}:full`,
      String(this.clock()),
      String(WINDOW_MS),
      String(perTenantPerHour),
      String(perSenderPerHour),
      id,
    )) as [number, number];
    return { ok: ok === 1, first: first === 1 };
  }
}
