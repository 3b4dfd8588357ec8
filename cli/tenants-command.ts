import type { Command } from 'commander';
import { AuditLog } from '../core/audit.ts';
import { openClickHouse } from '../core/clickhouse.ts';
import type { Config } from '../core/config.ts';
import { loadSecretBox } from '../core/crypto.ts';
import { migrate } from '../core/migrations.ts';
import { AppError } from '../core/errors.ts';
import type { LiffSetupInput } from '../core/resident/index.ts';
import {
  TenantStore,
  type CredentialsInput,
  type LiffSettingsInput,
  type Tenant,
  type TenantInput,
} from '../core/tenants.ts';
import { registerEraseCommand } from './erase-command.ts';
import { table } from './output.ts';
import { readStdin } from './stdin.ts';
import { callSuite, withGateway as withSuiteGateway, type SuiteState } from './suite-state.ts';

/** The same operations whether the suite is running (through its API) or not (directly). */
interface TenantsGateway {
  list(): Promise<Tenant[]>;
  add(input: TenantInput): Promise<Tenant>;
  setCredentials(id: string, input: CredentialsInput): Promise<Tenant>;
  setAutoReply(id: string, text: string): Promise<Tenant>;
  setLiff(id: string, input: LiffSettingsInput): Promise<Tenant>;
  /** Creates the tenant's LIFF app through LINE's LIFF server API (the secret is not stored). */
  createLiffApp(id: string, input: LiffSetupInput): Promise<Tenant>;
  close(): Promise<void>;
}

async function directGateway(config: Config): Promise<TenantsGateway> {
  const box = loadSecretBox(config);
  const ch = await openClickHouse(config.clickhouse);
  await migrate(ch);
  const store = new TenantStore(ch, box);
  // the same audit records as the API writes (there, the suite writes them)
  const audit = new AuditLog(ch);
  const record = (action: string, id: string, detail: Record<string, unknown> = {}) =>
    audit.record({ action, actor: { kind: 'operator' }, tenantId: id, target: id, detail: { ...detail, via: 'cli' } });
  return {
    list: () => store.list(),
    add: async (i) => {
      const t = await store.add(i);
      await record('tenant_added', t.id, { name: t.name, kind: t.kind, channelId: t.channelId });
      return t;
    },
    setCredentials: async (id, i) => {
      const t = await store.setCredentials(id, i);
      await record('tenant_credentials_changed', t.id, { fields: Object.keys(i).sort() });
      return t;
    },
    setAutoReply: async (id, text) => {
      const t = await store.setAutoReply(id, { text });
      await record('tenant_auto_reply_changed', t.id);
      return t;
    },
    setLiff: async (id, i) => {
      const t = await store.setLiff(id, i);
      await record('tenant_liff_changed', t.id, { liffChannelId: t.liffChannelId, liffId: t.liffId });
      return t;
    },
    createLiffApp: async (id, i) => {
      if (!config.publicUrl) {
        throw new AppError(
          'public_url_missing',
          'LIFF アプリのエンドポイント URL に使う公開 URL (TAYORI_PUBLIC_URL、https) を設定するか、スイートを起動してから実行してください',
          400,
        );
      }
      // without a running suite there is no sandbox: only tenants on LINE itself (the resident
      // frame's module loaded only here: every other tenants command starts without it)
      const { setUpLiffApp } = await import('../core/resident/index.ts');
      const r = await setUpLiffApp({
        tenants: store,
        tenantId: id,
        input: i,
        endpoints: { line: config.lineApiBaseUrl },
        publicUrl: config.publicUrl,
      });
      await record('tenant_liff_changed', r.tenant.id, {
        liffChannelId: r.tenant.liffChannelId,
        liffId: r.liffId,
        created: r.created,
      });
      return r.tenant;
    },
    close: () => ch.close(),
  };
}

function apiGateway(suite: SuiteState): TenantsGateway {
  const call = <T>(method: string, path: string, body?: unknown) => callSuite<T>(suite, method, path, body);
  return {
    list: async () => (await call<{ tenants: Tenant[] }>('GET', '/api/v1/tenants')).tenants,
    add: (i) => call('POST', '/api/v1/tenants', i),
    setCredentials: (id, i) => call('PUT', `/api/v1/tenants/${encodeURIComponent(id)}/credentials`, i),
    setAutoReply: (id, text) => call('PUT', `/api/v1/tenants/${encodeURIComponent(id)}/auto-reply`, { text }),
    setLiff: (id, i) => call('PUT', `/api/v1/tenants/${encodeURIComponent(id)}/liff`, i),
    createLiffApp: (id, i) => call('POST', `/api/v1/tenants/${encodeURIComponent(id)}/liff-app`, i),
    close: async () => {},
  };
}

/** Through the running suite's API, or directly on the data directory. */
function withGateway<T>(config: Config, fn: (g: TenantsGateway) => Promise<T>): Promise<T> {
  return withSuiteGateway(config.dataDir, { api: apiGateway, direct: () => directGateway(config) }, fn);
}

const kindLabel = { prefecture: '県', municipality: '市町' } as const;

export function printTenants(list: Tenant[]): string {
  return (
    table(
      ['コード', '名称', '種別', '人口', '接続先', 'チャネルID', 'チャネル情報', 'LIFF ID'],
      list.map((t) => [
        t.id,
        t.name,
        kindLabel[t.kind],
        t.population === null ? '—' : t.population.toLocaleString('ja-JP'),
        t.lineApi === 'sandbox' ? 'サンドボックス' : 'LINE',
        t.channelId || '—',
        t.hasCredentials ? '設定済み' : '未設定',
        t.liffId || '未設定',
      ]),
      [3],
    ) + `\n${list.length} 件`
  );
}

/** Parses "secret\ntoken" (or JSON {channelSecret, channelAccessToken}) read from stdin. */
export function parseCredentialsText(text: string): { channelSecret: string; channelAccessToken: string } {
  const t = text.trim();
  if (t.startsWith('{')) {
    const j = JSON.parse(t) as { channelSecret?: string; channelAccessToken?: string };
    return { channelSecret: j.channelSecret ?? '', channelAccessToken: j.channelAccessToken ?? '' };
  }
  const [channelSecret = '', channelAccessToken = ''] = t
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  return { channelSecret, channelAccessToken };
}

export function registerTenantsCommand(program: Command, config: () => Config): void {
  const tenants = program
    .command('tenants')
    .description('テナント (LINE 公式アカウント) の一覧・登録・チャネル情報の設定');
  registerEraseCommand(tenants, config);

  tenants
    .command('list')
    .description('登録されているテナントを表示します (稼働中のスイートがあればその API を通します)')
    .option('--json', 'JSON で出力します')
    .action(async (o: { json?: boolean }) => {
      const list = await withGateway(config(), (g) => g.list());
      console.log(o.json ? JSON.stringify(list, null, 2) : printTenants(list));
    });

  tenants
    .command('add')
    .description('テナントを登録します')
    .requiredOption('--id <code>', '地方公共団体コード 5 桁 (例: 24201、県は 24000)')
    .requiredOption('--name <name>', '名称 (例: 津市)')
    .requiredOption('--kind <kind>', 'prefecture (県) または municipality (市町)')
    .option('--kana <kana>', 'よみがな')
    .option('--population <n>', '人口')
    .option('--channel-id <id>', 'LINE チャネル ID')
    .option('--bot-user-id <id>', 'ボットのユーザー ID (U で始まる 33 文字)')
    .action(
      async (o: {
        id: string;
        name: string;
        kind: string;
        kana?: string;
        population?: string;
        channelId?: string;
        botUserId?: string;
      }) => {
        const population = o.population === undefined ? null : Number(o.population);
        const t = await withGateway(config(), (g) =>
          g.add({
            id: o.id,
            name: o.name,
            kind: o.kind as 'municipality',
            nameKana: o.kana,
            population,
            channelId: o.channelId,
            botUserId: o.botUserId,
          }),
        );
        console.log(`テナント ${t.id} ${t.name} を登録しました`);
      },
    );

  tenants
    .command('set-credentials')
    .description(
      'チャネルシークレットとアクセストークンを標準入力から読み、暗号化して保存します (1 行目: シークレット、2 行目: トークン)',
    )
    .requiredOption('--id <code>', 'テナントの地方公共団体コード')
    .option('--channel-id <id>', 'LINE チャネル ID')
    .option('--bot-user-id <id>', 'ボットのユーザー ID')
    .option('--sandbox', '実際の LINE ではなくサンドボックスにつなぎます')
    .action(async (o: { id: string; channelId?: string; botUserId?: string; sandbox?: boolean }) => {
      const creds = parseCredentialsText(await readStdin());
      const t = await withGateway(config(), (g) =>
        g.setCredentials(o.id, {
          ...creds,
          channelId: o.channelId,
          botUserId: o.botUserId,
          lineApi: o.sandbox ? 'sandbox' : 'line',
        }),
      );
      console.log(
        `テナント ${t.id} ${t.name} のチャネル情報を保存しました (接続先: ${t.lineApi === 'line' ? 'LINE' : 'サンドボックス'})`,
      );
    });

  tenants
    .command('set-auto-reply')
    .description(
      '住民がメッセージを送ったときの自動応答文を設定します (1 人 1 日 1 回まで返信。空にすると既定の文に戻ります)',
    )
    .requiredOption('--id <code>', 'テナントの地方公共団体コード')
    .requiredOption('--text <text>', '自動応答文 (500 文字以内、空文字で既定の文)')
    .action(async (o: { id: string; text: string }) => {
      const t = await withGateway(config(), (g) => g.setAutoReply(o.id, o.text));
      console.log(
        `テナント ${t.id} ${t.name} の自動応答文を${t.autoReplyText ? '設定しました' : '既定の文に戻しました'}`,
      );
    });

  tenants
    .command('liff <tenantId>')
    .description(
      '住民向けページ (LIFF) の設定: LINE ログインチャネルと LIFF アプリ。--liff-id で既存の LIFF アプリを登録するか、' +
        '--create で LINE の LIFF サーバー API により作成します (エンドポイント: <公開URL>/liff/<コード>/)',
    )
    .requiredOption('--login-channel-id <id>', 'LINE ログインチャネルの ID (ID トークンの aud)')
    .option('--liff-id <id>', '既存の LIFF アプリの ID (例: 1234567890-AbCdEfGh)')
    .option('--create', 'LIFF アプリを作成します (LINE ログインチャネルのシークレットが必要、保存はしません)')
    .option(
      '--login-channel-secret <secret>',
      'LINE ログインチャネルのチャネルシークレット (--create のとき。省略すると標準入力から読みます)',
    )
    .action(
      async (
        tenantId: string,
        o: { loginChannelId: string; liffId?: string; create?: boolean; loginChannelSecret?: string },
      ) => {
        if (Boolean(o.liffId) === Boolean(o.create)) {
          throw new AppError('invalid_options', '--liff-id か --create のどちらか一方を指定してください', 400);
        }
        let t: Tenant;
        if (o.create) {
          const secret = o.loginChannelSecret ?? (await readStdin()).trim();
          t = await withGateway(config(), (g) =>
            g.createLiffApp(tenantId, { loginChannelId: o.loginChannelId, loginChannelSecret: secret }),
          );
        } else {
          t = await withGateway(config(), (g) =>
            g.setLiff(tenantId, { liffChannelId: o.loginChannelId, liffId: o.liffId ?? '' }),
          );
        }
        console.log(
          `テナント ${t.id} ${t.name} の LIFF を設定しました (LINE ログインチャネル ${t.liffChannelId}、LIFF ID ${t.liffId})`,
        );
      },
    );
}
