/**
 * The surveys domain on real parts (embedded ClickHouse, redis-server) behind the staff HTTP API
 * (real authenticator, staff tokens from a table); the residents' API handlers are called through a
 * ResidentShell test double that records what was registered. Registered attributes come from a
 * small stand-in for delivery's residents (a map), areas from its categories.
 */
import { createAuthenticator, type StaffIdentity } from '../../core/auth.ts';
import { createHttpApp } from '../../core/http.ts';
import { createLogger } from '../../core/logger.ts';
import type { ResidentContext, ResidentShell } from '../../core/resident-shell.ts';
import type { Tenant } from '../../core/tenants.ts';
import { createSurveys, type Surveys } from '../../surveys/index.ts';
import { type Harness, harness } from '../helpers/index.ts';

export const TSU = '24201';
export const YOKKAICHI = '24202';
export const OP = 'operator-token-surveys';
export const user = (n: number) => `U${n.toString(16).padStart(32, '0')}`;

export const staff: Record<string, StaffIdentity> = {};
const addStaff = (key: string, s: Omit<StaffIdentity, 'userId' | 'username' | 'displayName'>) => {
  const token = `tyr_${key.padEnd(24, 'x')}`;
  staff[token] = { userId: key, username: key, displayName: key, ...s };
  return token;
};
export const T = {
  tsuDeliver: addStaff('tsudeliver', { role: 'municipality', tenantId: TSU, permissions: ['deliver'] }),
  tsuExport: addStaff('tsuexport', {
    role: 'municipality',
    tenantId: TSU,
    permissions: ['deliver', 'export_residents'],
  }),
  tsuReader: addStaff('tsureader', { role: 'municipality', tenantId: TSU, permissions: [] }),
  yokkaichi: addStaff('yokkaichi', { role: 'municipality', tenantId: YOKKAICHI, permissions: ['deliver'] }),
};

export interface SurveysWorld {
  h: Harness;
  surveys: Surveys;
  base: string;
  tsu: Tenant;
  /** Registered attributes by user id (gender, birth_year, residence). */
  attrs: Map<string, Record<string, string[]>>;
  clock: { now: number };
  drafts: Array<{ tenantId: string; input: unknown }>;
  call<R = unknown>(
    token: string,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: R; headers: Headers }>;
  asResident<R = unknown>(
    userId: string,
    method: string,
    path: string,
    body?: unknown,
    params?: Record<string, string>,
  ): Promise<R>;
}

export async function surveysWorld(): Promise<SurveysWorld> {
  const logger = createLogger(process.env.TEST_LOG ?? 'silent');
  const h = await harness({
    redis: true,
    tenants: [
      { id: TSU, name: '津市', kind: 'municipality', channelId: '2000000001' },
      { id: YOKKAICHI, name: '四日市市', kind: 'municipality', channelId: '2000000002' },
    ],
  });
  const handlers = new Map<string, (ctx: ResidentContext<unknown>) => Promise<unknown>>();
  const shell: ResidentShell = {
    page() {},
    api(method, path, handle) {
      handlers.set(`${method} ${path}`, handle as (ctx: ResidentContext<unknown>) => Promise<unknown>);
    },
    assets() {},
    liffUrl: (t, path) => `https://liff.line.me/1234567890-${t.id}abc/${path}`,
  };
  const attrs = new Map<string, Record<string, string[]>>();
  const clock = { now: Date.parse('2026-06-15T01:00:00Z') };
  const drafts: SurveysWorld['drafts'] = [];
  const surveys = createSurveys({
    ch: h.ch,
    redis: h.redis.client,
    tenants: h.tenants,
    endpoints: () => ({ line: 'http://127.0.0.1:1' }),
    logger,
    keys: (t) => new TextEncoder().encode(`test-key-${t}`),
    residents: shell,
    delivery: {
      residents: {
        attributes: async (_t, u) => attrs.get(u) ?? {},
        categories: async () => [
          { id: 'north', parentId: '@area', name: '北部' },
          { id: 'south', parentId: '@area', name: '南部' },
        ],
      },
      service: {
        create: async (tenantId, input) => {
          drafts.push({ tenantId, input });
          return { id: `d${drafts.length}`, tenantId, status: 'draft' } as never;
        },
      },
    },
    now: () => clock.now,
  });
  surveys.registerResidentApi(shell);
  const app = createHttpApp(logger);
  const auth = createAuthenticator({
    operatorTokens: [OP],
    staff: { session: async () => undefined, apiToken: async (t) => staff[t] },
  });
  surveys.registerRoutes(app, auth);
  const base = await h.serve(app);
  const tsu = await h.tenants.require(TSU);
  return {
    h,
    surveys,
    base,
    tsu,
    attrs,
    clock,
    drafts,
    async call(token, method, path, body) {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      return {
        status: res.status,
        headers: res.headers,
        body: (text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as never,
      };
    },
    async asResident(userId, method, path, body, params = {}) {
      const handle = handlers.get(`${method} ${path}`);
      if (!handle) throw new Error(`no resident API ${method} ${path}`);
      return (await handle({ tenant: tsu, userId, body, req: { query: {}, params } as never })) as never;
    },
  };
}

/** A survey with every question type, その他, and a branch (Q1 いいえ → Q4). */
export const sampleSurvey = (over: Record<string, unknown> = {}) => ({
  title: '市民生活アンケート',
  introduction: '市の施策の参考にします。',
  opensAt: '2026-06-01T09:00',
  closesAt: '2026-06-30T17:00',
  status: 'open',
  questions: [
    {
      id: 'uses',
      type: 'single',
      text: '図書館を利用していますか',
      required: true,
      options: ['はい', 'いいえ'],
      branches: [{ option: 'いいえ', goTo: 4 }],
    },
    {
      id: 'often',
      type: 'single',
      text: 'どのくらいの頻度ですか',
      required: true,
      options: ['毎週', '毎月', '年に数回'],
      other: true,
    },
    { id: 'why', type: 'text', text: '利用する理由を教えてください' },
    {
      id: 'media',
      type: 'multiple',
      text: '情報をどこで得ていますか',
      options: ['広報紙', 'LINE', 'ホームページ'],
      other: true,
    },
    { id: 'age', type: 'number', text: '同居のご家族の人数' },
    { id: 'when', type: 'date', text: '最後に市役所を訪れた日' },
    { id: 'score', type: 'rating', text: '市の情報発信の満足度', required: true },
  ],
  ...over,
});
