import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from './config.ts';
import { AppError } from './errors.ts';

/** Encrypts secrets at rest with AES-256-GCM. Each value is bound to its context (AAD). */
export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('secret key must be 32 bytes');
    this.#key = key;
  }

  encrypt(plaintext: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `v1:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
  }

  /**
   * A 32-byte key for one purpose (`info`, e.g. `mileage-session-code:24201`), derived from the
   * suite's key with HKDF-SHA256: the same across restarts, a different key for each purpose.
   */
  deriveKey(info: string): Uint8Array {
    return new Uint8Array(hkdfSync('sha256', this.#key, 'tayori', info, 32));
  }

  decrypt(sealed: string, context: string): string {
    if (!sealed.startsWith('v1:')) throw new AppError('secret_corrupt', '暗号化された値の形式が不正です', 500);
    const raw = Buffer.from(sealed.slice(3), 'base64');
    if (raw.length < 28) throw new AppError('secret_corrupt', '暗号化された値の形式が不正です', 500);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, 12));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      throw new AppError('secret_tampered', '暗号化された値を復号できません (鍵が違うか、値が改ざんされています)', 500);
    }
  }
}

/** Parses a key given as 64 hex characters or base64 of 32 bytes. */
export function parseSecretKey(text: string, source: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (key.length !== 32 || (!/^[0-9a-fA-F]{64}$/.test(t) && !/^[A-Za-z0-9+/]{43}=?$/.test(t))) {
    throw new AppError(
      'secret_key_invalid',
      `${source}: 32 バイトの鍵を 16 進 64 文字または base64 で指定してください (生成例: openssl rand -base64 32)`,
      500,
    );
  }
  return key;
}

/**
 * Loads the key from TAYORI_SECRET_KEY or the key file. With `create`, a missing key file is
 * made (mode 0600) — the demo does this; production sets the variable.
 */
export function loadSecretBox(config: Config, opts: { create?: boolean } = {}): SecretBox {
  const sk = config.secretKey;
  if (sk.kind === 'env') return new SecretBox(parseSecretKey(sk.value, 'TAYORI_SECRET_KEY'));
  if (!fs.existsSync(sk.path)) {
    if (!opts.create) {
      throw new AppError(
        'secret_key_missing',
        `暗号鍵がありません: ${sk.path} (TAYORI_SECRET_KEY を設定するか、npm run demo で作成してください)`,
        500,
      );
    }
    fs.mkdirSync(path.dirname(sk.path), { recursive: true });
    fs.writeFileSync(sk.path, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  }
  return new SecretBox(parseSecretKey(fs.readFileSync(sk.path, 'utf8'), sk.path));
}

/**
 * Per-tenant keys for one purpose (`${purpose}:${tenantId}`), derived from the suite's key and
 * cached: what a capability signs or pseudonymises with, the same across restarts.
 */
export function tenantKeys(box: SecretBox | undefined, purpose: string, who: string): (tenantId: string) => Uint8Array {
  if (!box) throw new Error(`${who}: box or keys is required`);
  const cache = new Map<string, Uint8Array>();
  return (tenantId) => {
    let k = cache.get(tenantId);
    if (!k) cache.set(tenantId, (k = box.deriveKey(`${purpose}:${tenantId}`)));
    return k;
  };
}
