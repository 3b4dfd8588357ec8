import { isIP } from 'node:net';
import path from 'node:path';
import { z } from './zod.ts';

/** Whom X-Forwarded-For / -Proto are believed from: nobody (off), the nearest N hops, or these addresses. */
export type TrustProxy = false | number | string[];

/**
 * What fastify's `trustProxy` takes: a hop count becomes "the nearest N addresses" (fastify itself
 * ignores a bare number); addresses and CIDRs as they are.
 */
export function trustProxyOption(tp: TrustProxy): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof tp === 'number') return tp > 0 ? (_address, hop) => hop < tp : false;
  return tp;
}

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** An address or CIDR (192.0.2.0/24, 2001:db8::/32), or one of proxy-addr's names (loopback …). */
function isProxyAddress(s: string): boolean {
  if (PROXY_NAMES.has(s)) return true;
  const [addr = '', bits, ...rest] = s.split('/');
  const family = isIP(addr);
  if (!family || rest.length) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d+$/.test(bits) && n >= 0 && n <= (family === 4 ? 32 : 128);
}

const trustProxySchema = z
  .string()
  .default('off')
  .transform((raw, ctx): TrustProxy => {
    const v = raw.trim();
    if (v === '' || v === 'off' || v === 'false' || v === '0') return false;
    if (/^\d+$/.test(v)) return Number(v);
    const list = v
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
    const bad = list.find((x) => !isProxyAddress(x));
    if (bad || list.length === 0) {
      ctx.addIssue({
        code: 'custom',
        message: `off、プロキシの段数 (例: 1)、またはカンマ区切りのアドレス・CIDR (例: 10.0.0.0/8,127.0.0.1) で指定してください${bad ? ` (${bad} は読めません)` : ''}`,
      });
      return z.NEVER;
    }
    return list;
  });

/**
 * All configuration comes from the environment, validated once at start.
 * A bad value stops the process with one line naming the variable (ConfigError).
 */
const port = (fallback: number) =>
  z.coerce
    .number()
    .int('整数で指定してください')
    .min(0, '0〜65535 で指定してください')
    .max(65535, '0〜65535 で指定してください')
    .default(fallback);

const optionalString = z
  .string()
  .transform((s) => (s.trim() === '' ? undefined : s.trim()))
  .optional();

const envSchema = z.object({
  PORT: port(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  TAYORI_DATA_DIR: z.string().min(1).default('data'),
  TAYORI_REPORTS_DIR: optionalString.pipe(
    z
      .string()
      .refine((s) => !s.includes('\0'), '使えない文字 (NUL) が含まれています')
      .optional(),
  ),
  CLICKHOUSE_PATH: optionalString,
  CLICKHOUSE_URL: optionalString.pipe(z.url('URL の形式ではありません (例: http://127.0.0.1:8123)').optional()),
  CLICKHOUSE_USER: z.string().default('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'データベース名として使えない文字があります')
    .default('default'),
  REDIS_URL: optionalString.pipe(z.url('URL の形式ではありません (例: redis://127.0.0.1:6379)').optional()),
  REDIS_PORT: port(0),
  REDIS_SERVER_BIN: z.string().min(1).default('redis-server'),
  TAYORI_SECRET_KEY: optionalString,
  TAYORI_SECRET_KEY_FILE: optionalString,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TAYORI_SANDBOX: z.enum(['on', 'off']).default('on'),
  SANDBOX_PORT: port(0),
  LINE_API_BASE_URL: z.url('URL の形式ではありません').default('https://api.line.me'),
  TAYORI_PUBLIC_URL: optionalString.pipe(z.url('URL の形式ではありません').optional()),
  TAYORI_DEMO_RESIDENT_RATIO: z.coerce
    .number()
    .min(0, '0〜1 で指定してください')
    .max(1, '0〜1 で指定してください')
    .default(0.02),
  TAYORI_DEMO_SPEED: z.coerce.number().positive('正の数で指定してください').default(120000),
  TAYORI_DEMO_REGISTRATIONS: z.enum(['on', 'off']).default('on'),
  TAYORI_REPORTS_CATCH_UP: z.enum(['on', 'off']).default('on'),
  TAYORI_TRUST_PROXY: trustProxySchema,
  TAYORI_MAIL_INBOUND: z.enum(['on', 'off']).default('off'),
  TAYORI_MAIL_INBOUND_HOST: z.string().min(1).default('127.0.0.1'),
  TAYORI_MAIL_INBOUND_PORT: port(2525),
  TAYORI_MAIL_DOMAIN: z
    .string()
    .regex(/^[A-Za-z0-9.-]+$/, 'ドメイン名 (例: mail.tayori.example.jp) で指定してください')
    .default('localhost'),
  TAYORI_MAIL_SENDER_PER_HOUR: z.coerce
    .number()
    .int('整数で指定してください')
    .min(1, '1 以上で指定してください')
    .default(20),
  TAYORI_MAIL_TENANT_PER_HOUR: z.coerce
    .number()
    .int('整数で指定してください')
    .min(1, '1 以上で指定してください')
    .default(60),
  TAYORI_SMTP_URL: optionalString.pipe(z.url('URL の形式ではありません (例: smtp://mail.example.jp:587)').optional()),
  TAYORI_MAIL_FROM: optionalString,
  TAYORI_ALERT_TO: optionalString,
  TAYORI_METRICS_TOKEN: optionalString,
  TAYORI_BACKUP_DIR: optionalString,
  TAYORI_BACKUP_TIME: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM (24 時間制、日本時間) で指定してください')
    .default('03:00'),
  TAYORI_BACKUP_KEEP_DAILY: z.coerce
    .number()
    .int('整数で指定してください')
    .min(1, '1 以上で指定してください')
    .default(7),
  TAYORI_BACKUP_KEEP_WEEKLY: z.coerce
    .number()
    .int('整数で指定してください')
    .min(0, '0 以上で指定してください')
    .default(4),
  TAYORI_FAQ_AI_ALLOW: optionalString,
  TAYORI_CHECK_INTERVAL_S: z.coerce.number().positive('正の数で指定してください').default(60),
  TAYORI_INCIDENT_AFTER_S: z.coerce.number().min(0, '0 以上で指定してください').default(300),
});

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** Where generated report files are kept (TAYORI_REPORTS_DIR, default <dataDir>/reports). */
  reportsDir: string;
  clickhouse:
    | { kind: 'embedded'; path: string }
    | { kind: 'server'; url: string; user: string; password: string; database: string };
  redis: { kind: 'url'; url: string } | { kind: 'local'; port: number; dir: string; bin: string };
  secretKey: { kind: 'env'; value: string } | { kind: 'file'; path: string };
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  sandbox: { enabled: boolean; port: number };
  lineApiBaseUrl: string;
  publicUrl?: string;
  /** registrations: the demo residents' own answers (areas, attributes), seeded at start. */
  demo: { residentRatio: number; speed: number; registrations: boolean };
  /** On start, make last month's report package when none is stored (a missed 1st-of-month run). */
  reportsCatchUp: boolean;
  /** TAYORI_TRUST_PROXY: whose X-Forwarded-For / -Proto count (off by default: the socket's address is the caller). */
  trustProxy: TrustProxy;
  /** Deliveries started by e-mail: the SMTP listener (off by default) and the recipient addresses' domain. */
  mailInbound: {
    enabled: boolean;
    host: string;
    port: number;
    domain: string;
    /** Mail bombs: mails one sender may send a tenant, and a tenant may receive, in an hour. */
    perSenderPerHour: number;
    perTenantPerHour: number;
  };
  /**
   * TAYORI_FAQ_AI_ALLOW: hosts (names or addresses, comma-separated) a tenant's FAQ AI endpoint may
   * reach although internal or over http; every other endpoint must be https on a public address.
   */
  faqAiAllow: string[];
  /** ops/: mail to the contacts, the /metrics token, backups and the self-check. */
  ops: {
    smtpUrl?: string;
    mailFrom?: string;
    alertTo: string[];
    metricsToken?: string;
    backupDir: string;
    /** 'HH:MM', Asia/Tokyo. */
    backupTime: string;
    keepDaily: number;
    keepWeekly: number;
    checkIntervalMs: number;
    incidentAfterMs: number;
  };
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    reason: string,
  ) {
    super(`設定エラー: ${variable} — ${reason}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? '?');
    throw new ConfigError(variable, `${issue.message} (値: ${JSON.stringify(env[variable] ?? '')})`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(cwd, e.TAYORI_DATA_DIR);
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir,
    reportsDir: path.resolve(cwd, e.TAYORI_REPORTS_DIR ?? path.join(dataDir, 'reports')),
    clickhouse: e.CLICKHOUSE_URL
      ? {
          kind: 'server',
          url: e.CLICKHOUSE_URL,
          user: e.CLICKHOUSE_USER,
          password: e.CLICKHOUSE_PASSWORD,
          database: e.CLICKHOUSE_DATABASE,
        }
      : { kind: 'embedded', path: path.resolve(cwd, e.CLICKHOUSE_PATH ?? path.join(dataDir, 'clickhouse')) },
    redis: e.REDIS_URL
      ? { kind: 'url', url: e.REDIS_URL }
      : { kind: 'local', port: e.REDIS_PORT, dir: path.join(dataDir, 'redis'), bin: e.REDIS_SERVER_BIN },
    secretKey: e.TAYORI_SECRET_KEY
      ? { kind: 'env', value: e.TAYORI_SECRET_KEY }
      : { kind: 'file', path: path.resolve(cwd, e.TAYORI_SECRET_KEY_FILE ?? path.join(dataDir, 'secret.key')) },
    logLevel: e.LOG_LEVEL,
    sandbox: { enabled: e.TAYORI_SANDBOX === 'on', port: e.SANDBOX_PORT },
    lineApiBaseUrl: e.LINE_API_BASE_URL,
    publicUrl: e.TAYORI_PUBLIC_URL,
    demo: {
      residentRatio: e.TAYORI_DEMO_RESIDENT_RATIO,
      speed: e.TAYORI_DEMO_SPEED,
      registrations: e.TAYORI_DEMO_REGISTRATIONS === 'on',
    },
    reportsCatchUp: e.TAYORI_REPORTS_CATCH_UP === 'on',
    trustProxy: e.TAYORI_TRUST_PROXY,
    mailInbound: {
      enabled: e.TAYORI_MAIL_INBOUND === 'on',
      host: e.TAYORI_MAIL_INBOUND_HOST,
      port: e.TAYORI_MAIL_INBOUND_PORT,
      domain: e.TAYORI_MAIL_DOMAIN,
      perSenderPerHour: e.TAYORI_MAIL_SENDER_PER_HOUR,
      perTenantPerHour: e.TAYORI_MAIL_TENANT_PER_HOUR,
    },
    faqAiAllow: (e.TAYORI_FAQ_AI_ALLOW ?? '')
      .split(',')
      .map((h) =>
        h
          .trim()
          .toLowerCase()
          .replace(/^\[|\]$/g, ''),
      )
      .filter(Boolean),
    ops: {
      smtpUrl: e.TAYORI_SMTP_URL,
      mailFrom: e.TAYORI_MAIL_FROM,
      alertTo: (e.TAYORI_ALERT_TO ?? '')
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
      metricsToken: e.TAYORI_METRICS_TOKEN,
      backupDir: path.resolve(cwd, e.TAYORI_BACKUP_DIR ?? path.join(dataDir, 'backups')),
      backupTime: e.TAYORI_BACKUP_TIME,
      keepDaily: e.TAYORI_BACKUP_KEEP_DAILY,
      keepWeekly: e.TAYORI_BACKUP_KEEP_WEEKLY,
      checkIntervalMs: e.TAYORI_CHECK_INTERVAL_S * 1000,
      incidentAfterMs: e.TAYORI_INCIDENT_AFTER_S * 1000,
    },
  };
}
