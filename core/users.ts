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
import type { ClickHouseClient } from './clickhouse.ts';
import { AppError } from './errors.ts';
import { sql } from './sql.ts';
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

interface Row {
  username: string;
  user_id: string;
  display_name: string;
  role: Role;
  tenant_id: string;
  permissions: string[];
  password_hash: string;
  disabled: number;
  created_ms: string | number;
  updated_ms: string | number;
}

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

/** Staff accounts in ClickHouse (staff_users), with argon2id passwords. */
export class StaffStore {
  #writes: Promise<unknown> = Promise.resolve();
  #cache = new Map<string, { at: number; row: Row | undefined }>();
  #dummyHash: Promise<string> | undefined;

  constructor(
    private readonly ch: ClickHouseClient,
    /** Whether a tenant exists and is a municipality (checked when a municipality account is made). */
    private readonly tenantKind: (id: string) => Promise<'prefecture' | 'municipality' | undefined>,
  ) {}

  async list(): Promise<StaffUser[]> {
    const rs = await this.ch.query({ query: sql('users.list'), format: 'JSONEachRow' });
    return (await rs.json<Row>()).map(toUser);
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
      this.#cache.set(username, { at: Date.now(), row });
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
    const hash = await argon2.hash(v.password, HASH_OPTIONS);
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

  async setPassword(username: string, password: string): Promise<StaffUser> {
    const hash = await argon2.hash(passwordSchema.parse(password), HASH_OPTIONS);
    return this.#update(username, (r) => ({ ...r, password_hash: hash }));
  }

  async setDisabled(username: string, disabled: boolean): Promise<StaffUser> {
    return this.#update(username, (r) => ({ ...r, disabled: disabled ? 1 : 0 }));
  }

  /**
   * The account when the password matches; undefined otherwise. An unknown or disabled account
   * costs the same hash as a known one, so timing does not tell which usernames exist.
   */
  async verify(username: string, password: string): Promise<StaffUser | undefined> {
    const name = username.trim().toLowerCase();
    const row = /^[a-z0-9][a-z0-9._-]{2,31}$/.test(name) ? await this.#row(name) : undefined;
    if (!row || Number(row.disabled) === 1) {
      this.#dummyHash ??= argon2.hash(randomBytes(16).toString('hex'), HASH_OPTIONS);
      await argon2.verify(await this.#dummyHash, password).catch(() => false);
      return undefined;
    }
    const ok = await argon2.verify(row.password_hash, password).catch(() => false);
    return ok ? toUser(row) : undefined;
  }

  /** A personal API token for scripts; only its hash is stored. Returns the token (shown once). */
  async createApiToken(username: string, label = ''): Promise<string> {
    await this.require(username);
    const token = `tyr_${randomBytes(24).toString('base64url')}`;
    await this.ch.insert({
      table: 'staff_api_tokens',
      values: [
        {
          token_hash: sha256(token),
          username,
          label,
          created_at: chDateTime(Date.now()),
          version: nextVersion(),
          is_deleted: 0,
        },
      ],
      format: 'JSONEachRow',
    });
    return token;
  }

  /** The active account an API token belongs to. */
  async apiTokenOwner(token: string): Promise<StaffUser | undefined> {
    const key = `token:${sha256(token)}`;
    const hit = this.#tokenCache.get(key);
    let username: string | undefined;
    if (hit && Date.now() - hit.at < CACHE_MS) username = hit.username;
    else {
      const rs = await this.ch.query({
        query: sql('users.token_owner'),
        query_params: { hash: sha256(token) },
        format: 'JSONEachRow',
      });
      username = (await rs.json<{ username: string }>())[0]?.username;
      this.#tokenCache.set(key, { at: Date.now(), username });
    }
    return username ? this.active(username) : undefined;
  }
  #tokenCache = new Map<string, { at: number; username: string | undefined }>();

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
    const rs = await this.ch.query({ query: sql('users.get'), query_params: { username }, format: 'JSONEachRow' });
    return (await rs.json<Row>())[0];
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
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#writes.then(fn, fn);
    this.#writes = run.catch(() => {});
    return run;
  }
}

function defaultsFor(role: Role): Permission[] {
  return [...ROLE_DEFAULTS[role]];
}

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
