/**
 * Per-tenant data keys for personal fields (envelope encryption):
 *
 *   const keys = new DataKeys({ dir: dataKeysDir(config.dataDir), provider: new SuiteKeyProvider(box) });
 *   const sealed = keys.encrypt('24201', '山田 花子');        // base64 (AES-256-GCM, random IV, tenant id as AAD)
 *   keys.decrypt('24201', sealed);                            // '山田 花子'
 *   keys.destroy('24201');                                    // logical erasure: every sealed value of the tenant is unreadable for good
 *
 * Each tenant has one random 256-bit data key, stored only wrapped (AES-256-GCM) by a key-encryption
 * key (KEK) that a `KeyProvider` holds. The default provider (`SuiteKeyProvider`) derives the KEK from
 * the suite's key (TAYORI_SECRET_KEY or the key file, core/crypto.ts); a cloud KMS (AWS KMS, Google
 * Cloud KMS, Azure Key Vault) replaces it by implementing the same three calls with its
 * Encrypt/Decrypt API and the KMS key's id — the KEK then never leaves the KMS.
 *
 * Where the wrapped keys live: one small file per tenant under the data directory
 * (`<dataDir>/data-keys/<tenantId>.json`, mode 0600), not a ClickHouse table, because
 *  - destroying a key must really remove it: a ReplacingMergeTree row stays in old parts until a merge
 *    (and in backups of the table), whereas the file is overwritten, synced and unlinked;
 *  - the benefit card must keep working while ClickHouse or Redis is down, and decrypting needs the key.
 * Back up the directory with the data it protects (a lost key file is an erased tenant).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { SecretBox } from './crypto.ts';
import { shredFile, syncDir } from './durable-files.ts';
import { AppError } from './errors.ts';

/** Holds the key-encryption key. Implementations must be safe to call concurrently. */
export interface KeyProvider {
  /** A short name written beside each wrapped key (e.g. `suite`, `aws-kms:arn:…`). */
  readonly id: string;
  /** Encrypts a data key; `context` (the tenant id) must be given again to unwrap. */
  wrap(dataKey: Uint8Array, context: string): Promise<string> | string;
  unwrap(wrapped: string, context: string): Promise<Uint8Array> | Uint8Array;
  /** A fingerprint of the KEK itself (never the key), to say which KEK wrapped a data key. */
  fingerprint(): string;
}

const SEALED_VERSION = 1;
/** version (1) + key generation (4) + IV (12) + tag (16) */
const HEADER_BYTES = 1 + 4 + 12 + 16;

/** The default KEK: derived from the suite's key with HKDF (purpose `data-key-encryption`). */
export class SuiteKeyProvider implements KeyProvider {
  readonly id = 'suite';
  readonly #kek: Buffer;

  constructor(box: SecretBox) {
    this.#kek = Buffer.from(box.deriveKey('data-key-encryption'));
  }

  wrap(dataKey: Uint8Array, context: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.#kek, iv);
    c.setAAD(Buffer.from(`data-key:${context}`, 'utf8'));
    const body = Buffer.concat([c.update(dataKey), c.final()]);
    return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64');
  }

  unwrap(wrapped: string, context: string): Uint8Array {
    const raw = Buffer.from(wrapped, 'base64');
    try {
      const d = createDecipheriv('aes-256-gcm', this.#kek, raw.subarray(0, 12));
      d.setAAD(Buffer.from(`data-key:${context}`, 'utf8'));
      d.setAuthTag(raw.subarray(12, 28));
      return new Uint8Array(Buffer.concat([d.update(raw.subarray(28)), d.final()]));
    } catch {
      throw new AppError('data_key_unwrap_failed', 'データ鍵を復号できません (鍵暗号化鍵が違います)', 500);
    }
  }

  fingerprint(): string {
    return fingerprintOf(this.#kek, 'kek');
  }
}

/** SHA-256 over a purpose and the key, first 16 bytes in hex, grouped: `ab12cd34-…`. */
export function fingerprintOf(key: Uint8Array, purpose: string): string {
  const h = createHash('sha256').update(`tayori-${purpose}-fingerprint\0`).update(key).digest('hex').slice(0, 32);
  return h.match(/.{8}/g)!.join('-');
}

interface KeyFile {
  tenantId: string;
  generation: number;
  provider: string;
  kekFingerprint: string;
  fingerprint: string;
  wrapped: string;
  createdAt: string;
}

/** What destroying a tenant's data key did (for the erasure certificate). */
export interface DestroyedKey {
  tenantId: string;
  /** The destroyed key's fingerprint (undefined: the tenant had no key). */
  fingerprint?: string;
  generation?: number;
  createdAt?: string;
  kekFingerprint?: string;
  provider?: string;
  destroyedAt: string;
}

export const dataKeysDir = (dataDir: string) => path.join(dataDir, 'data-keys');

/** The file a tenant's wrapped data key is kept in (in dataKeysDir, and in a backup's copy of it). */
export const dataKeyFileName = (tenantId: string) => {
  if (!/^[0-9A-Za-z_-]{1,64}$/.test(tenantId)) throw new AppError('tenant_invalid', 'テナント ID が不正です', 400);
  return `${tenantId}.json`;
};

export class DataKeys {
  readonly #dir: string;
  readonly #provider: KeyProvider;
  /** Unwrapped keys in memory, by tenant. */
  readonly #keys = new Map<string, { key: Buffer; generation: number; fingerprint: string }>();

  constructor(opts: { dir: string; provider: KeyProvider }) {
    this.#dir = opts.dir;
    this.#provider = opts.provider;
    fs.mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
  }

  get provider(): KeyProvider {
    return this.#provider;
  }

  /** The tenant's key fingerprint, if it has a key. */
  fingerprint(tenantId: string): string | undefined {
    return this.#readFile(tenantId)?.fingerprint;
  }

  /** Seals a text for the tenant (its key made on first use). */
  encrypt(tenantId: string, plaintext: string): string {
    const k = this.#key(tenantId, true)!;
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', k.key, iv);
    c.setAAD(Buffer.from(tenantId, 'utf8'));
    const body = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
    const head = Buffer.alloc(5);
    head.writeUInt8(SEALED_VERSION, 0);
    head.writeUInt32BE(k.generation, 1);
    return Buffer.concat([head, iv, c.getAuthTag(), body]).toString('base64');
  }

  /** Opens a sealed text; 410 data_key_destroyed when the tenant's key is gone, 500 when tampered. */
  decrypt(tenantId: string, sealed: string): string {
    const raw = Buffer.from(sealed, 'base64');
    if (raw.length < HEADER_BYTES || raw.readUInt8(0) !== SEALED_VERSION) {
      throw new AppError('sealed_corrupt', '暗号化されたデータの形式が不正です', 500);
    }
    const k = this.#key(tenantId, false);
    if (!k || k.generation !== raw.readUInt32BE(1)) throw destroyedError();
    try {
      const d = createDecipheriv('aes-256-gcm', k.key, raw.subarray(5, 17));
      d.setAAD(Buffer.from(tenantId, 'utf8'));
      d.setAuthTag(raw.subarray(17, 33));
      return Buffer.concat([d.update(raw.subarray(33)), d.final()]).toString('utf8');
    } catch {
      throw new AppError('sealed_tampered', '暗号化されたデータを復号できません (改ざんまたは別の鍵)', 500);
    }
  }

  /**
   * Destroys the tenant's data key: the file is overwritten with zeros, synced and removed, and the
   * key dropped from memory. A later encrypt makes a new key (next generation); nothing sealed
   * before can be opened again.
   */
  destroy(tenantId: string): DestroyedKey {
    const file = path.join(this.#dir, dataKeyFileName(tenantId));
    const kf = this.#readFile(tenantId);
    const cached = this.#keys.get(tenantId);
    cached?.key.fill(0);
    this.#keys.delete(tenantId);
    if (kf) {
      shredFile(file);
      // the next key's generation follows this one, so an old value never meets a new key
      fs.writeFileSync(path.join(this.#dir, `${tenantId}.generation`), String(kf.generation));
    }
    const destroyedAt = new Date().toISOString();
    return kf
      ? {
          tenantId,
          fingerprint: kf.fingerprint,
          generation: kf.generation,
          createdAt: kf.createdAt,
          kekFingerprint: kf.kekFingerprint,
          provider: kf.provider,
          destroyedAt,
        }
      : { tenantId, destroyedAt };
  }

  #key(tenantId: string, create: boolean) {
    const hit = this.#keys.get(tenantId);
    if (hit) return hit;
    let kf = this.#readFile(tenantId);
    if (!kf) {
      if (!create) return undefined;
      kf = this.#create(tenantId);
    }
    const unwrapped = this.#provider.unwrap(kf.wrapped, tenantId);
    if (unwrapped instanceof Promise) throw new Error('DataKeys: an async KeyProvider needs preload()');
    const k = { key: Buffer.from(unwrapped), generation: kf.generation, fingerprint: kf.fingerprint };
    this.#keys.set(tenantId, k);
    return k;
  }

  /** Unwraps the tenant's key ahead of use (for a KeyProvider whose unwrap is asynchronous, e.g. a KMS). */
  async preload(tenantId: string): Promise<void> {
    if (this.#keys.has(tenantId)) return;
    const kf = this.#readFile(tenantId);
    if (!kf) return;
    const key = Buffer.from(await this.#provider.unwrap(kf.wrapped, tenantId));
    this.#keys.set(tenantId, { key, generation: kf.generation, fingerprint: kf.fingerprint });
  }

  #create(tenantId: string): KeyFile {
    const key = randomBytes(32);
    const wrapped = this.#provider.wrap(key, tenantId);
    if (typeof wrapped !== 'string') throw new Error('DataKeys: an async KeyProvider needs keys made ahead');
    let previous = 0;
    try {
      previous = Number(fs.readFileSync(path.join(this.#dir, `${tenantId}.generation`), 'utf8')) || 0;
    } catch {}
    const kf: KeyFile = {
      tenantId,
      generation: previous + 1,
      provider: this.#provider.id,
      kekFingerprint: this.#provider.fingerprint(),
      fingerprint: fingerprintOf(key, 'data-key'),
      wrapped,
      createdAt: new Date().toISOString(),
    };
    const file = path.join(this.#dir, dataKeyFileName(tenantId));
    const tmp = `${file}.${process.pid}.tmp`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, JSON.stringify(kf));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    try {
      // never replace a key another process made meanwhile
      fs.linkSync(tmp, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      fs.unlinkSync(tmp);
    }
    syncDir(this.#dir);
    key.fill(0);
    return this.#readFile(tenantId)!;
  }

  #readFile(tenantId: string): KeyFile | undefined {
    try {
      return JSON.parse(fs.readFileSync(path.join(this.#dir, dataKeyFileName(tenantId)), 'utf8')) as KeyFile;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }
}

const destroyedError = () =>
  new AppError('data_key_destroyed', 'このデータの暗号鍵は消去されています (データは復元できません)', 410);
