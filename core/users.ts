import { createHash, randomBytes, randomUUID } from 'node:crypto';
import argon2 from 'argon2';
import {
  effectivePermissions,
  PERMISSIONS,
  ROLE_DEFAULTS,
  ROLES,
  type Permission,
  type Role,
  type StaffIdentity,
} from './auth.ts';
import { type ClickHouseClient, query } from './clickhouse.ts';
import { AppError } from './errors.ts';
import { chDateTime, nextVersion } from './time.ts';
import { z } from './zod.ts';

export const usernameSchema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(
    /^[a-z0-9][a-z0-9._-]{2,31}$/,
    'ユーザー名は英小文字・数字・「.」「_」「-」の 3〜32 文字で、英数字から始めてください',
  );

export const passwordSchema = z
  .string()
  .min(10, 'パスワードは 10 文字以上にしてください')
  .max(200, 'パスワードは 200 文字以内にしてください');

export const roleSchema = z.enum(ROLES, { message: `役割は ${ROLES.join(' / ')} のいずれかです` });
export const permissionSchema = z.enum(PERMISSIONS, { message: `権限は ${PERMISSIONS.join(' / ')} のいずれかです` });

export const staffInputSchema = z
  .object({
    username: usernameSchema,
    displayName: z.string().trim().max(60, '表示名は 60 文字以内です').default(''),
    role: roleSchema,
    tenantId: z
      .string()
      .regex(/^\d{5}$/, 'テナントは地方公共団体コード (5 桁、例: 24201) で指定してください')
      .nullable()
      .default(null),
    permissions: z.array(permissionSchema).optional(),
    password: passwordSchema,
  })
  .superRefine((v, ctx) => {
    if (v.role === 'municipality' && !v.tenantId) {
      ctx.addIssue({
        code: 'custom',
        path: ['tenantId'],
        message: '市町のアカウントには担当テナント (--tenant) が必要です',
      });
    }
    if (v.role !== 'municipality' && v.tenantId) {
      ctx.addIssue({
        code: 'custom',
        path: ['tenantId'],
        message: 'テナントを指定できるのは市町のアカウントだけです (県・受託者・管理者はすべてのテナントを扱います)',
      });
    }
  });
export type StaffInput = z.input<typeof staffInputSchema>;

export const permissionsInputSchema = z.object({ permissions: z.array(permissionSchema) });

/** What the API and CLI show: never the password hash. */
export interface StaffUser extends StaffIdentity {
  disabled: boolean;
  createdAt: string;
  updatedAt: string;
}

// 64-bit integers (epoch ms) come bare from chDB and quoted from a server: coerced.
const userRow = z.object({
  username: z.string(),
  user_id: z.string(),
  display_name: z.string(),
  role: roleSchema,
  tenant_id: z.string(),
  permissions: z.array(z.string()),
  password_hash: z.string(),
  disabled: z.coerce.number(),
  created_ms: z.coerce.number(),
  updated_ms: z.coerce.number(),
});
type Row = z.output<typeof userRow>;

// OWASP's argon2id baseline (19 MiB, 2 passes) keeps sign-in fast on a small shared machine.
const HASH_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

const toUser = (r: Row): StaffUser => ({
  userId: r.user_id,
  username: r.username,
  displayName: r.display_name || r.username,
  role: r.role,
  tenantId: r.tenant_id || null,
  permissions: effectivePermissions(r.role, r.permissions),
  disabled: Number(r.disabled) === 1,
  createdAt: new Date(Number(r.created_ms)).toISOString(),
  updatedAt: new Date(Number(r.updated_ms)).toISOString(),
});

const CACHE_MS = 5_000;
/** Entries each lookup cache holds at most (the oldest go first). */
const CACHE_MAX = 2_000;

/** A Map that keeps at most `max` entries, dropping the oldest. */
function putBounded<K, V>(m: Map<K, V>, k: K, v: V, max = CACHE_MAX): void {
  m.delete(k);
  while (m.size >= max) m.delete(m.keys().next().value as K);
  m.set(k, v);
}

/**
 * At most `max` argon2 computations at once (each takes ~19 MiB and a core for tens of ms); up to
 * `queue` more wait their turn, past that the caller gets 503 rather than the machine swapping.
 */
export class HashGate {
  #running = 0;
  readonly #waiting: Array<() => void> = [];
  constructor(readonly opts: { max?: number; queue?: number } = {}) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#running >= (this.opts.max ?? 2)) {
      if (this.#waiting.length >= (this.opts.queue ?? 32)) {
        throw new AppError('busy', 'サインインの処理が混み合っています。しばらくしてからもう一度お試しください', 503);
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else this.#running++;
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }

  get running(): number {
    return this.#running;
  }
  get waiting(): number {
    return this.#waiting.length;
  }
}

/** API tokens live 90 days unless made with another lifetime (1–730 days). */
export const TOKEN_DEFAULT_DAYS = 90;
export const tokenDaysSchema = z.coerce
  .number({ error: '有効期間は日数 (整数) で指定してください' })
  .int('有効期間は日数 (整数) で指定してください')
  .min(1, '有効期間は 1 日以上にしてください')
  .max(730, '有効期間は 730 日以内にしてください');

/** What the API, the CLI and the admin page show of a token: never the token or its whole hash. */
export interface ApiTokenInfo {
  /** The first 12 hex digits of the token's SHA-256: what `revoke` takes. */
  id: string;
  username: string;
  label: string;
  createdAt: string;
  expiresAt: string;
  expired: boolean;
}

const tokenRow = z.object({
  token_hash: z.string(),
  username: z.string(),
  label: z.string(),
  created_ms: z.coerce.number(),
  expires_ms: z.coerce.number(),
});
type TokenRow = z.output<typeof tokenRow>;

const tokenOwnerRow = z.object({ username: z.string(), expires_ms: z.coerce.number() });

/** Staff accounts in ClickHouse (staff_users), with argon2id passwords. */
export class StaffStore {
  #writes: Promise<unknown> = Promise.resolve();
  #cache = new Map<string, { at: number; row: Row | undefined }>();
  #dummyHash: Promise<string> | undefined;

  constructor(
    private readonly ch: ClickHouseClient,
    /** Whether a tenant exists and is a municipality (checked when a municipality account is made). */
    private readonly tenantKind: (id: string) => Promise<'prefecture' | 'municipality' | undefined>,
    /** argon2's concurrency cap (shared by sign-in and password changes). */
    readonly hashGate = new HashGate(),
  ) {}

  #hash(password: string): Promise<string> {
    return this.hashGate.run(() => argon2.hash(password, HASH_OPTIONS));
  }
  #verifyHash(hash: string, password: string): Promise<boolean> {
    return this.hashGate.run(() => argon2.verify(hash, password).catch(() => false));
  }

  async list(): Promise<StaffUser[]> {
    return (await query(this.ch, 'users.list', {}, userRow)).map(toUser);
  }

  async get(username: string): Promise<StaffUser | undefined> {
    const row = await this.#row(username);
    return row && toUser(row);
  }

  async require(username: string): Promise<StaffUser> {
    const u = await this.get(username);
    if (!u) throw new AppError('user_not_found', `ユーザー ${username} は登録されていません`, 404);
    return u;
  }

  /** An account that may sign in (exists, not disabled), cached for a few seconds. */
  async active(username: string): Promise<StaffUser | undefined> {
    const hit = this.#cache.get(username);
    let row: Row | undefined;
    if (hit && Date.now() - hit.at < CACHE_MS) row = hit.row;
    else {
      row = await this.#row(username);
      putBounded(this.#cache, username, { at: Date.now(), row });
    }
    if (!row || Number(row.disabled) === 1) return undefined;
    return toUser(row);
  }

  async add(input: StaffInput): Promise<StaffUser> {
    const v = staffInputSchema.parse(input);
    if (v.tenantId) {
      const kind = await this.tenantKind(v.tenantId);
      if (!kind) throw new AppError('tenant_not_found', `テナント ${v.tenantId} は登録されていません`, 404);
    }
    const hash = await this.#hash(v.password);
    return this.#serial(async () => {
      if (await this.#row(v.username))
        throw new AppError('user_exists', `ユーザー ${v.username} は既に登録されています`, 409);
      const now = Date.now();
      const row: Row = {
        username: v.username,
        user_id: randomUUID(),
        display_name: v.displayName,
        role: v.role,
        tenant_id: v.tenantId ?? '',
        permissions: effectivePermissions(v.role, v.permissions ?? defaultsFor(v.role)),
        password_hash: hash,
        disabled: 0,
        created_ms: now,
        updated_ms: now,
      };
      await this.#write(row);
      return toUser(row);
    });
  }

  async setPermissions(username: string, permissions: Permission[]): Promise<StaffUser> {
    return this.#update(username, (r) => ({ ...r, permissions: effectivePermissions(r.role, permissions) }));
  }

  /** A new password; every API token of the account is revoked with it. */
  async setPassword(username: string, password: string): Promise<StaffUser> {
    const hash = await this.#hash(passwordSchema.parse(password));
    const user = await this.#update(username, (r) => ({ ...r, password_hash: hash }));
    await this.revokeAllTokens(user.username);
    return user;
  }

  /** Disabling an account also revokes every API token it has. */
  async setDisabled(username: string, disabled: boolean): Promise<StaffUser> {
    const user = await this.#update(username, (r) => ({ ...r, disabled: disabled ? 1 : 0 }));
    if (disabled) await this.revokeAllTokens(user.username);
    return user;
  }

  /** Whether this is the account's current password (changing one's own password asks for it). */
  async checkPassword(username: string, password: string): Promise<boolean> {
    const row = await this.#row(username);
    if (!row) return false;
    return this.#verifyHash(row.password_hash, password);
  }

  /**
   * The account when the password matches; undefined otherwise. An unknown or disabled account
   * costs the same hash as a known one, so timing does not tell which usernames exist.
   */
  async verify(username: string, password: string): Promise<StaffUser | undefined> {
    const name = username.trim().toLowerCase();
    const row = /^[a-z0-9][a-z0-9._-]{2,31}$/.test(name) ? await this.#row(name) : undefined;
    if (!row || Number(row.disabled) === 1) {
      this.#dummyHash ??= this.#hash(randomBytes(16).toString('hex'));
      await this.#verifyHash(await this.#dummyHash, password);
      return undefined;
    }
    const ok = await this.#verifyHash(row.password_hash, password);
    return ok ? toUser(row) : undefined;
  }

  /**
   * A personal API token for scripts, valid for `days` (default 90); only its hash is stored.
   * Returns the token (shown once) and what the lists show of it.
   */
  async createApiToken(
    username: string,
    opts: { label?: string; days?: number } = {},
  ): Promise<{ token: string; info: ApiTokenInfo }> {
    await this.require(username);
    const days = tokenDaysSchema.parse(opts.days ?? TOKEN_DEFAULT_DAYS);
    const token = `tyr_${randomBytes(24).toString('base64url')}`;
    const now = Date.now();
    const row: TokenRow = {
      token_hash: sha256(token),
      username,
      label: (opts.label ?? '').slice(0, 60),
      created_ms: now,
      expires_ms: now + days * 86_400_000,
    };
    await this.#writeToken(row, false);
    return { token, info: toTokenInfo(row) };
  }

  /** Tokens not revoked (expired ones included, marked), of one account or of every account. */
  async listTokens(username?: string): Promise<ApiTokenInfo[]> {
    return (await this.#tokenRows(username ?? '')).map(toTokenInfo);
  }

  /** Revokes a token by its id (of this account, when given); 404 when there is none. */
  async revokeToken(id: string, username?: string): Promise<ApiTokenInfo> {
    const clean = id.trim().toLowerCase();
    if (!/^[0-9a-f]{12,64}$/.test(clean))
      throw new AppError('invalid_token_id', 'トークン ID は一覧に表示される 12 桁の英数字です', 400);
    const row = (await this.#tokenRows(username ?? '')).find((r) => r.token_hash.startsWith(clean));
    if (!row) throw new AppError('token_not_found', `トークン ${clean} は見つかりません (失効済みかもしれません)`, 404);
    await this.#writeToken(row, true);
    return toTokenInfo(row);
  }

  /** Revokes every token of an account; returns how many. */
  async revokeAllTokens(username: string): Promise<number> {
    const rows = await this.#tokenRows(username);
    for (const r of rows) await this.#writeToken(r, true);
    for (const [k, v] of this.#tokenCache) if (v.username === username) this.#tokenCache.delete(k);
    return rows.length;
  }

  /**
   * The active account an unexpired, unrevoked API token belongs to (`cachedOnly`: only from the
   * cache, for an address whose lookups are rate-limited).
   */
  async apiTokenOwner(token: string, opts: { cachedOnly?: boolean } = {}): Promise<StaffUser | undefined> {
    const hash = sha256(token);
    const hit = this.#tokenCache.get(hash);
    let entry: { at: number; username: string | undefined; expiresMs: number };
    if (hit && Date.now() - hit.at < CACHE_MS) entry = hit;
    else if (opts.cachedOnly) return undefined;
    else {
      const r = (await query(this.ch, 'users.token_owner', { hash }, tokenOwnerRow))[0];
      entry = { at: Date.now(), username: r?.username, expiresMs: r?.expires_ms ?? 0 };
      putBounded(this.#tokenCache, hash, entry);
    }
    if (!entry.username || entry.expiresMs <= Date.now()) return undefined;
    return this.active(entry.username);
  }
  #tokenCache = new Map<string, { at: number; username: string | undefined; expiresMs: number }>();

  async #tokenRows(username: string): Promise<TokenRow[]> {
    return query(this.ch, 'users.tokens', { username }, tokenRow);
  }

  async #writeToken(r: TokenRow, revoked: boolean): Promise<void> {
    await this.ch.insert({
      table: 'staff_api_tokens',
      values: [
        {
          token_hash: r.token_hash,
          username: r.username,
          label: r.label,
          created_at: chDateTime(Number(r.created_ms)),
          expires_at: chDateTime(Number(r.expires_ms)),
          version: nextVersion(),
          is_deleted: revoked ? 1 : 0,
        },
      ],
      format: 'JSONEachRow',
    });
    this.#tokenCache.delete(r.token_hash);
  }

  async #update(username: string, change: (r: Row) => Row): Promise<StaffUser> {
    return this.#serial(async () => {
      const row = await this.#row(username);
      if (!row) throw new AppError('user_not_found', `ユーザー ${username} は登録されていません`, 404);
      const next = { ...change(row), updated_ms: Date.now() };
      await this.#write(next);
      return toUser(next);
    });
  }

  async #row(username: string): Promise<Row | undefined> {
    return (await query(this.ch, 'users.get', { username }, userRow))[0];
  }

  async #write(r: Row): Promise<void> {
    await this.ch.insert({
      table: 'staff_users',
      values: [
        {
          username: r.username,
          user_id: r.user_id,
          display_name: r.display_name,
          role: r.role,
          tenant_id: r.tenant_id,
          permissions: r.permissions,
          password_hash: r.password_hash,
          disabled: r.disabled,
          created_at: chDateTime(Number(r.created_ms)),
          updated_at: chDateTime(Number(r.updated_ms)),
          version: nextVersion(),
          is_deleted: 0,
        },
      ],
      format: 'JSONEachRow',
    });
    this.#cache.delete(r.username);
    for (const [k, v] of this.#tokenCache) if (v.username === r.username) this.#tokenCache.delete(k);
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#writes.then(fn, fn);
    this.#writes = run.catch(() => {});
    return run;
  }
}

function toTokenInfo(r: TokenRow): ApiTokenInfo {
  const expires = Number(r.expires_ms);
  return {
    id: r.token_hash.slice(0, 12),
    username: r.username,
    label: r.label,
    createdAt: new Date(Number(r.created_ms)).toISOString(),
    expiresAt: new Date(expires).toISOString(),
    expired: expires <= Date.now(),
  };
}

function defaultsFor(role: Role): Permission[] {
  return [...ROLE_DEFAULTS[role]];
}

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
