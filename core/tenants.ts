import { z } from './zod.ts';
import { type ClickHouseClient, query } from './clickhouse.ts';
import type { SecretBox } from './crypto.ts';
import { AppError } from './errors.ts';
import { chDateTime, nextVersion } from './time.ts';

export const tenantIdSchema = z
  .string()
  .regex(/^\d{5}$/, '地方公共団体コード (5 桁の数字、例: 24201) で指定してください');
const channelIdSchema = z.string().regex(/^\d{1,20}$/, 'チャネル ID は数字で指定してください');
const botUserIdSchema = z.string().regex(/^U[0-9a-f]{32}$/, 'ボットのユーザー ID は U で始まる 33 文字です');

export const tenantInputSchema = z.object({
  id: tenantIdSchema,
  name: z.string().trim().min(1, '名称を入力してください').max(60, '名称は 60 文字以内です'),
  nameKana: z.string().trim().max(120, 'よみがなは 120 文字以内です').default(''),
  kind: z.enum(['prefecture', 'municipality'], { message: '種別は prefecture (県) か municipality (市町) です' }),
  population: z
    .number({ error: '人口は数値で指定してください' })
    .int('人口は整数です')
    .min(0, '人口は 0 以上です')
    .max(50_000_000, '人口が大きすぎます')
    .nullable()
    .default(null),
  channelId: channelIdSchema.or(z.literal('')).default(''),
  botUserId: botUserIdSchema.or(z.literal('')).default(''),
});
export type TenantInput = z.input<typeof tenantInputSchema>;

export const credentialsInputSchema = z.object({
  channelId: channelIdSchema.optional(),
  botUserId: botUserIdSchema.optional(),
  channelSecret: z.string().trim().min(1, 'チャネルシークレットを入力してください').max(200),
  channelAccessToken: z.string().trim().min(1, 'チャネルアクセストークンを入力してください').max(2000),
  /** Where the tenant's LINE calls go: LINE itself, or the local sandbox. */
  lineApi: z.enum(['line', 'sandbox']).default('line'),
});
export type CredentialsInput = z.input<typeof credentialsInputSchema>;

export type LineApi = 'line' | 'sandbox';

/** A LIFF app id as LINE issues it: the Login channel id, a hyphen, 8 letters or digits. */
export const liffIdSchema = z
  .string()
  .trim()
  .regex(/^\d{1,20}-[A-Za-z0-9]{8}$/, 'LIFF ID は「チャネル ID-8 文字の英数字」の形式です (例: 1234567890-AbCdEfGh)');

/** The residents' pages inside LINE: the LINE Login channel (ID token audience) and the LIFF app. */
export const liffSettingsSchema = z
  .object({
    liffChannelId: z
      .string()
      .trim()
      .regex(/^\d{1,20}$/, 'LINE ログインチャネルの ID は数字で指定してください')
      .or(z.literal('')),
    liffId: liffIdSchema.or(z.literal('')),
  })
  .refine((s) => s.liffId === '' || s.liffChannelId !== '', {
    message: 'LIFF ID を設定するには LINE ログインチャネルの ID も指定してください',
    path: ['liffChannelId'],
  })
  .refine((s) => s.liffId === '' || s.liffId.startsWith(`${s.liffChannelId}-`), {
    message: 'LIFF ID がこの LINE ログインチャネルのものではありません (LIFF ID はチャネル ID で始まります)',
    path: ['liffId'],
  });
export type LiffSettingsInput = z.input<typeof liffSettingsSchema>;

/** What the API and CLI show: never a secret. */
export interface Tenant {
  id: string;
  name: string;
  nameKana: string;
  kind: 'prefecture' | 'municipality';
  population: number | null;
  channelId: string;
  botUserId: string;
  lineApi: LineApi;
  hasCredentials: boolean;
  /** What a resident who sends a message gets back (empty: the default text). */
  autoReplyText: string;
  /** The LINE Login channel whose ID tokens residents' pages accept (empty: not set). */
  liffChannelId: string;
  /** The LIFF app residents open inside LINE (empty: not set). */
  liffId: string;
  createdAt: string;
  updatedAt: string;
}

/** For the code that talks to LINE on the tenant's behalf; never logged or returned. */
export interface TenantCredentials {
  tenantId: string;
  channelId: string;
  botUserId: string;
  channelSecret: string;
  channelAccessToken: string;
  lineApi: LineApi;
}

const rowSchema = z.object({
  tenant_id: z.string(),
  name: z.string(),
  name_kana: z.string(),
  kind: z.enum(['prefecture', 'municipality']),
  population: z.number().nullable(),
  channel_id: z.string(),
  bot_user_id: z.string(),
  channel_secret_enc: z.string(),
  channel_access_token_enc: z.string(),
  line_api: z.enum(['line', 'sandbox']),
  auto_reply_text: z.string(),
  liff_channel_id: z.string(),
  liff_id: z.string(),
  created_ms: z.coerce.number(),
  updated_ms: z.coerce.number(),
});
type Row = z.infer<typeof rowSchema>;

const secretContext = (id: string, field: string) => `tenant:${id}:${field}`;

export const autoReplyInputSchema = z.object({
  text: z.string().trim().max(500, '自動応答文は 500 文字以内です'),
});

export class TenantStore {
  #writes: Promise<unknown> = Promise.resolve();
  #listeners: Array<(id: string) => void> = [];

  /** Called after a tenant is added or changed in this process. */
  onChange(fn: (id: string) => void): void {
    this.#listeners.push(fn);
  }

  constructor(
    /** The store's ClickHouse (also where changes to tenants are audited). */
    readonly ch: ClickHouseClient,
    private readonly box: SecretBox,
  ) {}

  async list(): Promise<Tenant[]> {
    return (await query(this.ch, 'tenants.list', {}, rowSchema)).map(toTenant);
  }

  async get(id: string): Promise<Tenant | undefined> {
    const row = await this.#row(id);
    return row && toTenant(row);
  }

  async require(id: string): Promise<Tenant> {
    const t = await this.get(id);
    if (!t) throw new AppError('tenant_not_found', `テナント ${id} は登録されていません`, 404);
    return t;
  }

  /** Adds a tenant; an id already registered is refused (409). */
  add(input: TenantInput): Promise<Tenant> {
    const t = tenantInputSchema.parse(input);
    return this.#serial(async () => {
      if (await this.#row(t.id)) throw new AppError('tenant_exists', `テナント ${t.id} は既に登録されています`, 409);
      const now = Date.now();
      const row: Row = {
        tenant_id: t.id,
        name: t.name,
        name_kana: t.nameKana,
        kind: t.kind,
        population: t.population,
        channel_id: t.channelId,
        bot_user_id: t.botUserId,
        channel_secret_enc: '',
        channel_access_token_enc: '',
        line_api: 'sandbox',
        auto_reply_text: '',
        liff_channel_id: '',
        liff_id: '',
        created_ms: now,
        updated_ms: now,
      };
      await this.#write(row);
      return toTenant(row);
    });
  }

  /** Stores a tenant's channel secret and access token, encrypted; switches it to LINE by default. */
  setCredentials(id: string, input: CredentialsInput): Promise<Tenant> {
    const c = credentialsInputSchema.parse(input);
    return this.#serial(async () => {
      const row = await this.#row(id);
      if (!row) throw new AppError('tenant_not_found', `テナント ${id} は登録されていません`, 404);
      const next: Row = {
        ...row,
        channel_id: c.channelId ?? row.channel_id,
        bot_user_id: c.botUserId ?? row.bot_user_id,
        channel_secret_enc: this.box.encrypt(c.channelSecret, secretContext(id, 'channel_secret')),
        channel_access_token_enc: this.box.encrypt(c.channelAccessToken, secretContext(id, 'channel_access_token')),
        line_api: c.lineApi,
        updated_ms: Date.now(),
      };
      await this.#write(next);
      return toTenant(next);
    });
  }

  /** Sets the automatic reply text (empty: back to the default). */
  setAutoReply(id: string, input: z.input<typeof autoReplyInputSchema>): Promise<Tenant> {
    const { text } = autoReplyInputSchema.parse(input);
    return this.#serial(async () => {
      const row = await this.#row(id);
      if (!row) throw new AppError('tenant_not_found', `テナント ${id} は登録されていません`, 404);
      const next: Row = { ...row, auto_reply_text: text, updated_ms: Date.now() };
      await this.#write(next);
      return toTenant(next);
    });
  }

  /** Sets the LINE Login channel and LIFF app of the residents' pages (empty strings: cleared). */
  setLiff(id: string, input: LiffSettingsInput): Promise<Tenant> {
    const l = liffSettingsSchema.parse(input);
    return this.#serial(async () => {
      const row = await this.#row(id);
      if (!row) throw new AppError('tenant_not_found', `テナント ${id} は登録されていません`, 404);
      const next: Row = { ...row, liff_channel_id: l.liffChannelId, liff_id: l.liffId, updated_ms: Date.now() };
      await this.#write(next);
      return toTenant(next);
    });
  }

  /** Decrypted credentials, for LINE clients only. */
  async credentials(id: string): Promise<TenantCredentials> {
    const row = await this.#row(id);
    if (!row) throw new AppError('tenant_not_found', `テナント ${id} は登録されていません`, 404);
    if (!row.channel_secret_enc || !row.channel_access_token_enc) {
      throw new AppError(
        'tenant_no_credentials',
        `テナント ${id} のチャネル情報 (シークレット・アクセストークン) が未設定です`,
        409,
      );
    }
    return {
      tenantId: id,
      channelId: row.channel_id,
      botUserId: row.bot_user_id,
      channelSecret: this.box.decrypt(row.channel_secret_enc, secretContext(id, 'channel_secret')),
      channelAccessToken: this.box.decrypt(row.channel_access_token_enc, secretContext(id, 'channel_access_token')),
      lineApi: row.line_api,
    };
  }

  async #row(id: string): Promise<Row | undefined> {
    return (await query(this.ch, 'tenants.get', { id }, rowSchema))[0];
  }

  async #write(row: Row): Promise<void> {
    await this.ch.insert({
      table: 'tenants',
      format: 'JSONEachRow',
      values: [
        {
          tenant_id: row.tenant_id,
          name: row.name,
          name_kana: row.name_kana,
          kind: row.kind,
          population: row.population,
          channel_id: row.channel_id,
          bot_user_id: row.bot_user_id,
          channel_secret_enc: row.channel_secret_enc,
          channel_access_token_enc: row.channel_access_token_enc,
          line_api: row.line_api,
          auto_reply_text: row.auto_reply_text,
          liff_channel_id: row.liff_channel_id,
          liff_id: row.liff_id,
          created_at: chDateTime(row.created_ms),
          updated_at: chDateTime(row.updated_ms),
          version: nextVersion(),
          is_deleted: 0,
        },
      ],
    });
    for (const fn of this.#listeners) fn(row.tenant_id);
  }

  /** Writes run one at a time, so a check-then-insert cannot race with another in this process. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#writes.then(fn, fn);
    this.#writes = p.catch(() => {});
    return p;
  }
}

function toTenant(r: Row): Tenant {
  return {
    id: r.tenant_id,
    name: r.name,
    nameKana: r.name_kana,
    kind: r.kind,
    population: r.population,
    channelId: r.channel_id,
    botUserId: r.bot_user_id,
    lineApi: r.line_api,
    hasCredentials: r.channel_secret_enc !== '' && r.channel_access_token_enc !== '',
    autoReplyText: r.auto_reply_text,
    liffChannelId: r.liff_channel_id,
    liffId: r.liff_id,
    createdAt: new Date(r.created_ms).toISOString(),
    updatedAt: new Date(r.updated_ms).toISOString(),
  };
}
