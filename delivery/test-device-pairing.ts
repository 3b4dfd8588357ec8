/**
 * Test devices registered by QR code: staff show a one-time code on 配信設定 (valid PAIRING_MINUTES,
 * for one tenant); a staff member scans it with LINE, the LIFF page confirms, and the LIFF ID
 * token's user becomes a test device. The code carries a random token; Redis keeps only its
 * SHA-256 (as a hash with the tenant, who made it, the expiry and, once used, who used it), kept a
 * day past the expiry so a late scan is told "expired" or "used" rather than "unknown".
 */
import { createHash, randomBytes } from 'node:crypto';
import QRCode from 'qrcode';
import type { AuditContext, AuditLog } from '../core/audit.ts';
import { AppError } from '../core/errors.ts';
import type { Redis } from '../core/redis.ts';
import type { DeliveryStore } from './store.ts';

export const PAIRING_MINUTES = 10;
const KEEP_AFTER_EXPIRY_S = 86_400;
export const PAIRING_TOKEN = /^[A-Za-z0-9_-]{43}$/;
const key = (id: string) => `tayori:delivery:test-device-pairing:${id}`;
/** The pairing's id: what staff poll by; never the token itself. */
export const pairingIdOf = (token: string) => createHash('sha256').update(token).digest('hex').slice(0, 32);

export type PairingStatus = 'waiting' | 'used' | 'expired';

export interface Pairing {
  pairingId: string;
  status: PairingStatus;
  expiresAt: string;
  /** Once used: the device registered. */
  device?: { userId: string; label: string };
}

// KEYS[1] the pairing; ARGV tenant, now (ms), userId, label → 'ok' | 'missing' | 'used' | 'expired'
const CLAIM = `
local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then return 'missing' end
local r = {}
for i = 1, #h, 2 do r[h[i]] = h[i + 1] end
if r.tenantId ~= ARGV[1] then return 'missing' end
if r.usedAt then return 'used' end
if tonumber(r.expiresAt) <= tonumber(ARGV[2]) then return 'expired' end
redis.call('HSET', KEYS[1], 'usedAt', ARGV[2], 'userId', ARGV[3], 'label', ARGV[4])
return 'ok'`;

const refusals = {
  missing: () =>
    new AppError(
      'pairing_not_found',
      'この QR コードは無効です。配信設定の画面で新しい QR コードを表示して、もう一度読み取ってください',
      404,
    ),
  expired: () =>
    new AppError(
      'pairing_expired',
      `この QR コードは有効期限 (${PAIRING_MINUTES} 分) が切れています。配信設定の画面で新しい QR コードを表示してください`,
      410,
    ),
  used: () =>
    new AppError(
      'pairing_used',
      'この QR コードはすでに使われています (1 回だけ使えます)。配信設定の画面で新しい QR コードを表示してください',
      409,
    ),
};

export class TestDevicePairings {
  constructor(
    private readonly d: {
      redis: Redis;
      store: DeliveryStore;
      audit: AuditLog;
      now?: () => number;
    },
  ) {}

  #now(): number {
    return this.d.now?.() ?? Date.now();
  }

  /** A new one-time code for `tenantId`; `urlOf(token)` is the LIFF URL the QR code opens. */
  async create(
    tenantId: string,
    by: AuditContext,
    urlOf: (token: string) => string | undefined,
  ): Promise<Pairing & { url: string; qr: string }> {
    const token = randomBytes(32).toString('base64url');
    const url = urlOf(`test-device/${token}`);
    if (!url)
      throw new AppError(
        'liff_not_configured',
        'この団体の LINE ミニアプリ (LIFF) が未設定のため、QR コードでは登録できません。ユーザー ID を入力して登録してください',
        409,
      );
    const id = pairingIdOf(token);
    const expiresAt = this.#now() + PAIRING_MINUTES * 60_000;
    await this.d.audit.by(by, {
      action: 'test_device_pairing_created',
      tenantId,
      target: id,
      detail: { expiresAt: new Date(expiresAt).toISOString() },
    });
    const creator = by.actor.kind === 'staff' ? by.actor.username : 'operator';
    // one script, not MULTI: a queued transaction would wait for a Redis that is down instead of failing (503)
    await this.d.redis.eval(
      "redis.call('HSET', KEYS[1], unpack(ARGV, 2)); return redis.call('EXPIRE', KEYS[1], ARGV[1])",
      1,
      key(id),
      String(PAIRING_MINUTES * 60 + KEEP_AFTER_EXPIRY_S),
      'tenantId',
      tenantId,
      'createdBy',
      creator,
      'createdAt',
      String(this.#now()),
      'expiresAt',
      String(expiresAt),
    );
    const qr = await QRCode.toDataURL(url, { errorCorrectionLevel: 'M', margin: 4, width: 320 });
    return { pairingId: id, status: 'waiting', expiresAt: new Date(expiresAt).toISOString(), url, qr };
  }

  async #read(id: string): Promise<Record<string, string> | undefined> {
    const h = await this.d.redis.hgetall(key(id));
    return Object.keys(h).length ? h : undefined;
  }

  /** Staff poll a code they showed: waiting, used (with the device) or expired. */
  async status(tenantId: string, pairingId: string): Promise<Pairing> {
    const h = /^[0-9a-f]{32}$/.test(pairingId) ? await this.#read(pairingId) : undefined;
    if (!h || h.tenantId !== tenantId) throw refusals.missing();
    const expiresAt = new Date(Number(h.expiresAt)).toISOString();
    if (h.usedAt)
      return { pairingId, status: 'used', expiresAt, device: { userId: h.userId ?? '', label: h.label ?? '' } };
    return { pairingId, status: Number(h.expiresAt) <= this.#now() ? 'expired' : 'waiting', expiresAt };
  }

  /** What the LIFF page shows before the staff member confirms; refuses a code that cannot be used. */
  async check(tenantId: string, token: string): Promise<{ expiresAt: string }> {
    const h = PAIRING_TOKEN.test(token) ? await this.#read(pairingIdOf(token)) : undefined;
    if (!h || h.tenantId !== tenantId) throw refusals.missing();
    if (h.usedAt) throw refusals.used();
    if (Number(h.expiresAt) <= this.#now()) throw refusals.expired();
    return { expiresAt: new Date(Number(h.expiresAt)).toISOString() };
  }

  /**
   * Uses the code once (atomically) for the verified LINE user: audited, then stored as a test
   * device. If the record or the device cannot be written, the code is given back unused.
   */
  async claim(
    tenantId: string,
    token: string,
    userId: string,
    label: string,
    from: { ip?: string; userAgent?: string },
  ): Promise<{ userId: string; label: string }> {
    if (!PAIRING_TOKEN.test(token)) throw refusals.missing();
    const id = pairingIdOf(token);
    const outcome = String(await this.d.redis.eval(CLAIM, 1, key(id), tenantId, String(this.#now()), userId, label));
    if (outcome !== 'ok') throw (refusals[outcome as keyof typeof refusals] ?? refusals.missing)();
    try {
      const h = (await this.#read(id)) ?? {};
      await this.d.audit.record({
        action: 'test_device_added',
        tenantId,
        target: userId,
        username: h.createdBy ?? '',
        detail: { via: 'qr', pairingId: id, label },
        ip: from.ip,
        userAgent: from.userAgent,
      });
      await this.d.store.putTestDevice(tenantId, userId, label);
    } catch (err) {
      await this.d.redis.hdel(key(id), 'usedAt', 'userId', 'label').catch(() => undefined);
      throw err;
    }
    return { userId, label };
  }
}
