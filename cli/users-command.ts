import type { Command } from 'commander';
import { AuditLog } from '../core/audit.ts';
import { PERMISSION_LABELS, PERMISSIONS, ROLE_LABELS, ROLES, type Permission } from '../core/auth.ts';
import { openClickHouse, query } from '../core/clickhouse.ts';
import type { Config } from '../core/config.ts';
import { AppError } from '../core/errors.ts';
import { migrate } from '../core/migrations.ts';
import { StaffStore, TOKEN_DEFAULT_DAYS, type ApiTokenInfo, type StaffInput, type StaffUser } from '../core/users.ts';
import { table } from './output.ts';
import { readSecretLine } from './stdin.ts';
import { callSuite, withGateway as withSuiteGateway, type SuiteState } from './suite-state.ts';
import { tokyoMinute } from '../core/time.ts';
import { z } from '../core/zod.ts';

/** The same operations whether the suite is running (through its API) or not (directly). */
interface UsersGateway {
  list(): Promise<StaffUser[]>;
  add(input: StaffInput): Promise<StaffUser>;
  setPermissions(username: string, permissions: Permission[]): Promise<StaffUser>;
  setPassword(username: string, password: string): Promise<StaffUser>;
  setDisabled(username: string, disabled: boolean): Promise<StaffUser>;
  createToken(username: string, label: string, days?: number): Promise<{ token: string } & ApiTokenInfo>;
  listTokens(username?: string): Promise<ApiTokenInfo[]>;
  revokeToken(username: string, id: string): Promise<ApiTokenInfo>;
  close(): Promise<void>;
}

/** The one column of tenants.get the direct gateway needs. */
const tenantKindRow = z.object({ kind: z.enum(['prefecture', 'municipality']) });

async function directGateway(config: Config): Promise<UsersGateway> {
  const ch = await openClickHouse(config.clickhouse);
  try {
    await migrate(ch);
  } catch (e) {
    await ch.close();
    throw e;
  }
  // Only the tenant's kind is needed (no secrets, so no key file).
  const tenantKind = async (id: string) => {
    return (await query(ch, 'tenants.get', { id }, tenantKindRow))[0]?.kind;
  };
  const store = new StaffStore(ch, tenantKind);
  const audit = new AuditLog(ch);
  const record = (action: string, u: StaffUser, detail: Record<string, unknown> = {}) =>
    audit.record({
      action,
      actor: { kind: 'operator' },
      tenantId: u.tenantId,
      target: u.username,
      detail: { ...detail, via: 'cli' },
    });
  return {
    list: () => store.list(),
    add: async (i) => {
      const u = await store.add(i);
      await record('user_added', u, { role: u.role, permissions: u.permissions });
      return u;
    },
    setPermissions: async (n, p) => {
      const u = await store.setPermissions(n, p);
      await record('user_permissions_changed', u, { permissions: u.permissions });
      return u;
    },
    setPassword: async (n, p) => {
      const u = await store.setPassword(n, p);
      await record('user_password_changed', u);
      return u;
    },
    setDisabled: async (n, d) => {
      const u = await store.setDisabled(n, d);
      await record(d ? 'user_disabled' : 'user_enabled', u);
      return u;
    },
    createToken: async (n, label, days) => {
      const { token, info } = await store.createApiToken(n, { label, days });
      await record('api_token_created', await store.require(n), { id: info.id, label, expiresAt: info.expiresAt });
      return { token, ...info };
    },
    listTokens: (n) => store.listTokens(n),
    revokeToken: async (n, id) => {
      const info = await store.revokeToken(id, n);
      await record('api_token_revoked', await store.require(n), { id: info.id, label: info.label });
      return info;
    },
    close: () => ch.close(),
  };
}

function apiGateway(suite: SuiteState): UsersGateway {
  const call = <T>(method: string, path: string, body?: unknown) => callSuite<T>(suite, method, path, body);
  const u = (n: string) => `/api/v1/users/${encodeURIComponent(n)}`;
  return {
    list: async () => (await call<{ users: StaffUser[] }>('GET', '/api/v1/users')).users,
    add: (i) => call('POST', '/api/v1/users', i),
    setPermissions: (n, permissions) => call('PUT', `${u(n)}/permissions`, { permissions }),
    setPassword: (n, password) => call('PUT', `${u(n)}/password`, { password }),
    setDisabled: (n, disabled) => call('PUT', `${u(n)}/disabled`, { disabled }),
    createToken: (n, label, days) => call('POST', `${u(n)}/tokens`, { label, ...(days ? { days } : {}) }),
    listTokens: async (n) =>
      (await call<{ tokens: ApiTokenInfo[] }>('GET', n ? `${u(n)}/tokens` : '/api/v1/tokens')).tokens,
    revokeToken: async (n, id) =>
      (await call<{ revoked: ApiTokenInfo }>('DELETE', `${u(n)}/tokens/${encodeURIComponent(id)}`)).revoked,
    close: async () => {},
  };
}

/** Through the running suite's API, or directly on the data directory. */
function withGateway<T>(config: Config, fn: (g: UsersGateway) => Promise<T>): Promise<T> {
  return withSuiteGateway(config.dataDir, { api: apiGateway, direct: () => directGateway(config) }, fn);
}

/** The password: the first line of standard input (never argv, never echoed). */
const readPassword = () =>
  readSecretLine(
    'パスワード (10 文字以上) を入力して Enter、続けて Ctrl-D を押してください:',
    'パスワードを標準入力から渡してください (例: echo "…" | npx tayori users add …)',
  );

function parsePermissions(text: string | undefined): Permission[] | undefined {
  if (text === undefined) return undefined;
  const list = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const p of list) {
    if (!(PERMISSIONS as readonly string[]).includes(p)) {
      throw new AppError(
        'invalid_permission',
        `権限 ${p} はありません。使えるのは ${PERMISSIONS.join(', ')} です`,
        400,
      );
    }
  }
  return list as Permission[];
}

export function printUsers(list: StaffUser[]): string {
  return `${table(
    ['ユーザー名', '表示名', '役割', 'テナント', '権限', '状態'],
    list.map((u) => [
      u.username,
      u.displayName,
      ROLE_LABELS[u.role],
      u.tenantId ?? 'すべて',
      u.permissions.map((p) => PERMISSION_LABELS[p]).join('・') || '—',
      u.disabled ? '停止中' : '有効',
    ]),
  )}\n${list.length} 件`;
}

export function registerUsersCommand(program: Command, config: () => Config): void {
  const users = program.command('users').description('ダッシュボードにサインインする職員アカウントの管理');

  users
    .command('add')
    .description('職員アカウントを登録します。パスワードは標準入力の 1 行目から読みます')
    .requiredOption('--username <name>', 'ユーザー名 (英小文字・数字・. _ -、3〜32 文字)')
    .requiredOption('--role <role>', `役割: ${ROLES.map((r) => `${r} (${ROLE_LABELS[r]})`).join(', ')}`)
    .option('--tenant <code>', '市町アカウントの担当テナント (地方公共団体コード、例: 24201)')
    .option('--name <display>', '表示名')
    .option('--permissions <list>', `権限 (カンマ区切り): ${PERMISSIONS.join(', ')}。省略時は役割の既定`)
    .action(async (o: { username: string; role: string; tenant?: string; name?: string; permissions?: string }) => {
      const password = await readPassword();
      const u = await withGateway(config(), (g) =>
        g.add({
          username: o.username,
          role: o.role as 'admin',
          tenantId: o.tenant ?? null,
          displayName: o.name,
          permissions: parsePermissions(o.permissions),
          password,
        }),
      );
      console.log(
        `ユーザー ${u.username} (${ROLE_LABELS[u.role]}${u.tenantId ? `、テナント ${u.tenantId}` : ''}) を登録しました。権限: ${u.permissions.map((p) => PERMISSION_LABELS[p]).join('・') || 'なし'}`,
      );
    });

  users
    .command('list')
    .description('職員アカウントを表示します')
    .option('--json', 'JSON で出力します')
    .action(async (o: { json?: boolean }) => {
      const list = await withGateway(config(), (g) => g.list());
      console.log(o.json ? JSON.stringify(list, null, 2) : printUsers(list));
    });

  users
    .command('set-permissions')
    .description('権限を設定します (役割で許されない権限は付きません)')
    .requiredOption('--username <name>', 'ユーザー名')
    .requiredOption('--permissions <list>', `権限 (カンマ区切り、空で全部外す): ${PERMISSIONS.join(', ')}`)
    .action(async (o: { username: string; permissions: string }) => {
      const u = await withGateway(config(), (g) => g.setPermissions(o.username, parsePermissions(o.permissions) ?? []));
      console.log(
        `ユーザー ${u.username} の権限: ${u.permissions.map((p) => PERMISSION_LABELS[p]).join('・') || 'なし'}`,
      );
    });

  users
    .command('set-password')
    .description('パスワードを変更します (標準入力の 1 行目)。その人のサインイン中のセッションは終了します')
    .requiredOption('--username <name>', 'ユーザー名')
    .action(async (o: { username: string }) => {
      const password = await readPassword();
      const u = await withGateway(config(), (g) => g.setPassword(o.username, password));
      console.log(`ユーザー ${u.username} のパスワードを変更しました`);
    });

  for (const [name, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    users
      .command(name)
      .description(
        disabled ? 'アカウントを停止します (サインイン中のセッションも終了します)' : '停止したアカウントを再開します',
      )
      .requiredOption('--username <name>', 'ユーザー名')
      .action(async (o: { username: string }) => {
        const u = await withGateway(config(), (g) => g.setDisabled(o.username, disabled));
        console.log(`ユーザー ${u.username} を${disabled ? '停止' : '再開'}しました`);
      });
  }

  users
    .command('create-token')
    .description(`スクリプト用の API トークンを発行します (表示は一度だけ。有効期間は既定で ${TOKEN_DEFAULT_DAYS} 日)`)
    .requiredOption('--username <name>', 'ユーザー名')
    .option('--label <label>', '用途のメモ', '')
    .option('--days <n>', `有効期間 (日数、1〜730。既定 ${TOKEN_DEFAULT_DAYS})`)
    .action(async (o: { username: string; label: string; days?: string }) => {
      const days = o.days === undefined ? undefined : Number(o.days);
      if (days !== undefined && !(Number.isInteger(days) && days >= 1 && days <= 730))
        throw new AppError('invalid_days', '--days は 1〜730 の整数で指定してください', 400);
      const t = await withGateway(config(), (g) => g.createToken(o.username, o.label, days));
      console.log(t.token);
      console.error(
        `このトークンは今回だけ表示されます (ID ${t.id}、有効期限 ${t.expiresAt.slice(0, 10)})。Authorization: Bearer <トークン> で API を呼び出せます`,
      );
    });

  const tokens = users.command('tokens').description('API トークンの一覧と失効');
  tokens
    .command('list')
    .description('失効していない API トークンを表示します (トークン自体は表示しません)')
    .option('--username <name>', 'このユーザーのトークンだけ')
    .option('--json', 'JSON で出力します')
    .action(async (o: { username?: string; json?: boolean }) => {
      const list = await withGateway(config(), (g) => g.listTokens(o.username));
      console.log(o.json ? JSON.stringify(list, null, 2) : printTokens(list));
    });
  tokens
    .command('revoke')
    .description('API トークンを失効させます (ID は tokens list で確認できます)')
    .requiredOption('--username <name>', 'ユーザー名')
    .requiredOption('--id <id>', 'トークン ID (12 桁)')
    .action(async (o: { username: string; id: string }) => {
      const t = await withGateway(config(), (g) => g.revokeToken(o.username, o.id));
      console.log(`ユーザー ${t.username} のトークン ${t.id}${t.label ? ` (${t.label})` : ''} を失効させました`);
    });
}

export function printTokens(list: ApiTokenInfo[]): string {
  const day = (iso: string) => tokyoMinute(Date.parse(iso));
  return `${table(
    ['ID', 'ユーザー名', '用途', '発行日時', '有効期限', '状態'],
    list.map((t) => [
      t.id,
      t.username,
      t.label || '—',
      day(t.createdAt),
      day(t.expiresAt),
      t.expired ? '期限切れ' : '有効',
    ]),
  )}\n${list.length} 件`;
}
