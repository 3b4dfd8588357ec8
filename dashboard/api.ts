import { principalOf, requireAdmin, type Principal } from '../core/auth.ts';
import type { AuditLog } from '../core/audit.ts';
import { AppError } from '../core/errors.ts';
import type { FastifyInstance, FastifyRequest } from '../core/http.ts';
import type { SessionStore } from '../core/sessions.ts';
import { tenantIdSchema } from '../core/tenants.ts';
import {
  passwordSchema,
  permissionsInputSchema,
  staffInputSchema,
  usernameSchema,
  type StaffStore,
} from '../core/users.ts';
import { z } from '../core/zod.ts';
import { currentMonth, daySchema, monthSchema, type DashboardData, type Overview } from './data.ts';
import { FIGURES, MISSING_REASONS, type Figure, type FigureName } from './figures.ts';
import { xlsxWorkbook, type XlsxCell } from './xlsx.ts';

export interface ApiDeps {
  data: DashboardData;
  users: StaffStore;
  sessions: SessionStore;
  audit: AuditLog;
}

const monthQuery = z.object({ month: monthSchema.optional() });
const rangeQuery = z.object({ from: daySchema.optional(), to: daySchema.optional() });
const meta = (req: FastifyRequest) => ({ ip: req.ip, userAgent: String(req.headers['user-agent'] ?? '') });

/** The overview as table rows with Japanese headers: what CSV and Excel downloads hold. */
export function overviewTable(o: Overview): XlsxCell[][] {
  const pct = (v: Figure, digits: number) => (v === null ? null : Math.round(v * 100 * 10 ** digits) / 10 ** digits);
  const cols: Array<[string, (r: Overview['rows'][number]) => XlsxCell]> = [
    ['地方公共団体コード', (r) => r.tenantId],
    ['市町名', (r) => r.name],
    ['人口', (r) => r.population],
    [`${FIGURES.friends.label}`, (r) => r.friends],
    ['友だち数の基準日', (r) => r.friendsAsOf],
    [FIGURES.friendsChange.label, (r) => r.friendsChange],
    [`${FIGURES.friendsPerPopulation.label} (%)`, (r) => pct(r.friendsPerPopulation, 2)],
    [FIGURES.targetedReaches.label, (r) => r.targetedReaches],
    [FIGURES.blocks.label, (r) => r.blocks],
    [`${FIGURES.blockRate.label} (%)`, (r) => pct(r.blockRate, 1)],
    [FIGURES.follows.label, (r) => r.follows],
    [FIGURES.unblocks.label, (r) => r.unblocks],
    [FIGURES.unfollows.label, (r) => r.unfollows],
    [FIGURES.deliveries.label, (r) => r.deliveries],
    [FIGURES.delivered.label, (r) => r.delivered],
    [FIGURES.uniqueImpressions.label, (r) => r.uniqueImpressions],
    [`${FIGURES.openRate.label} (%)`, (r) => pct(r.openRate, 1)],
    [FIGURES.clicks.label, (r) => r.clicks],
    ['備考 (— の理由)', (r) => notes(r.missing)],
  ];
  const totals = {
    ...o.totals,
    tenantId: '',
    name: `県全体 (${o.totals.municipalities} 市町)`,
    friendsAsOf: null,
  } as unknown as Overview['rows'][number];
  return [
    cols.map(([h]) => h),
    ...o.rows.map((r) => cols.map(([, f]) => f(r))),
    cols.map(([h, f]) => (h === '友だち数の基準日' ? '' : h === '地方公共団体コード' ? '' : f(totals))),
    ...o.accounts.map((r) =>
      cols.map(([h, f]) => (h === '市町名' ? `${r.name} (県のアカウント・合計に含みません)` : f(r))),
    ),
  ];
}

function notes(missing: Partial<Record<FigureName, keyof typeof MISSING_REASONS>>): string {
  const byReason = new Map<string, string[]>();
  for (const [k, r] of Object.entries(missing))
    byReason.set(r!, [...(byReason.get(r!) ?? []), FIGURES[k as FigureName].label]);
  return [...byReason.entries()]
    .map(([r, labels]) => `${labels.join('・')}: ${MISSING_REASONS[r as keyof typeof MISSING_REASONS]}`)
    .join(' / ');
}

/** RFC 4180 CSV with a UTF-8 BOM (Excel opens it as UTF-8), CRLF line ends; null → "—". */
export function toCsv(rows: XlsxCell[][]): string {
  const q = (c: XlsxCell) => {
    const s = c === null ? '—' : String(c);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return `\uFEFF${rows.map((r) => r.map(q).join(',')).join('\r\n')}\r\n`;
}

const tenantOf = (p: Principal) => (p.kind === 'staff' ? p.tenantId : null);

export function registerDashboardApi(app: FastifyInstance, deps: ApiDeps): void {
  const { data, users, audit, sessions } = deps;

  app.get('/api/v1/dashboard/overview', async (req) => {
    const q = monthQuery.parse(req.query ?? {});
    return data.overview(principalOf(req), q.month ?? currentMonth());
  });

  for (const format of ['csv', 'xlsx'] as const) {
    app.get(`/api/v1/dashboard/overview.${format}`, async (req, reply) => {
      const p = principalOf(req);
      const q = monthQuery.parse(req.query ?? {});
      const o = await data.overview(p, q.month ?? currentMonth());
      const table = overviewTable(o);
      await audit.record({
        action: 'export',
        actor: p,
        tenantId: tenantOf(p),
        target: `overview.${format}`,
        detail: { month: o.month, rows: o.rows.length },
        ...meta(req),
      });
      const name = `県全体_${o.month}.${format}`;
      void reply.header(
        'content-disposition',
        `attachment; filename="overview_${o.month}.${format}"; filename*=UTF-8''${encodeURIComponent(name)}`,
      );
      void reply.header('cache-control', 'no-store');
      if (format === 'csv') return reply.type('text/csv; charset=utf-8').send(toCsv(table));
      return reply
        .type('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
        .send(xlsxWorkbook(`県全体 ${o.month}`, table));
    });
  }

  app.get<{ Params: { id: string } }>('/api/v1/dashboard/municipalities/:id', async (req) => {
    const id = tenantIdSchema.parse(req.params.id);
    const q = rangeQuery.parse(req.query ?? {});
    return data.municipality(principalOf(req), id, q);
  });

  app.get<{ Params: { id: string } }>('/api/v1/dashboard/municipalities/:id/attributes', async (req) =>
    data.attributes(principalOf(req), tenantIdSchema.parse(req.params.id)),
  );

  // ---- staff accounts (admin) ----
  app.get('/api/v1/users', async (req) => {
    requireAdmin(principalOf(req));
    return { users: await users.list() };
  });

  app.post('/api/v1/users', async (req, reply) => {
    const p = principalOf(req);
    requireAdmin(p);
    const input = staffInputSchema.parse(req.body ?? {});
    const user = await users.add(input);
    await audit.record({
      action: 'user_added',
      actor: p,
      tenantId: user.tenantId,
      target: user.username,
      detail: { role: user.role, permissions: user.permissions },
      ...meta(req),
    });
    return reply.status(201).send(user);
  });

  app.put<{ Params: { username: string } }>('/api/v1/users/:username/permissions', async (req) => {
    const p = principalOf(req);
    requireAdmin(p);
    const username = usernameSchema.parse(req.params.username);
    const user = await users.setPermissions(username, permissionsInputSchema.parse(req.body ?? {}).permissions);
    await audit.record({
      action: 'user_permissions_changed',
      actor: p,
      tenantId: user.tenantId,
      target: username,
      detail: { permissions: user.permissions },
      ...meta(req),
    });
    return user;
  });

  app.put<{ Params: { username: string } }>('/api/v1/users/:username/password', async (req) => {
    const p = principalOf(req);
    const username = usernameSchema.parse(req.params.username);
    if (!(p.kind === 'staff' && p.username === username)) requireAdmin(p);
    const { password } = z.object({ password: passwordSchema }).parse(req.body ?? {});
    const user = await users.setPassword(username, password);
    await sessions.destroyAllFor(user.userId);
    await audit.record({
      action: 'user_password_changed',
      actor: p,
      tenantId: user.tenantId,
      target: username,
      ...meta(req),
    });
    return user;
  });

  app.put<{ Params: { username: string } }>('/api/v1/users/:username/disabled', async (req) => {
    const p = principalOf(req);
    requireAdmin(p);
    const username = usernameSchema.parse(req.params.username);
    const { disabled } = z
      .object({ disabled: z.boolean({ error: 'disabled は true か false です' }) })
      .parse(req.body ?? {});
    if (p.kind === 'staff' && p.username === username && disabled)
      throw new AppError('cannot_disable_self', '自分のアカウントは停止できません', 400);
    const user = await users.setDisabled(username, disabled);
    if (disabled) await sessions.destroyAllFor(user.userId);
    await audit.record({
      action: disabled ? 'user_disabled' : 'user_enabled',
      actor: p,
      tenantId: user.tenantId,
      target: username,
      ...meta(req),
    });
    return user;
  });

  app.post<{ Params: { username: string } }>('/api/v1/users/:username/tokens', async (req, reply) => {
    const p = principalOf(req);
    const username = usernameSchema.parse(req.params.username);
    if (!(p.kind === 'staff' && p.username === username)) requireAdmin(p);
    const { label } = z.object({ label: z.string().trim().max(60).default('') }).parse(req.body ?? {});
    const token = await users.createApiToken(username, label);
    await audit.record({ action: 'api_token_created', actor: p, target: username, detail: { label }, ...meta(req) });
    return reply.status(201).send({
      token,
      note: 'このトークンは今回だけ表示されます。Authorization: Bearer <トークン> で API を呼び出せます',
    });
  });

  app.get('/api/v1/audit', async (req) => {
    requireAdmin(principalOf(req));
    const q = z
      .object({
        tenant: tenantIdSchema.optional(),
        action: z.string().max(40).optional(),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
      })
      .parse(req.query ?? {});
    return { records: await audit.recent({ tenantId: q.tenant, action: q.action, limit: q.limit }) };
  });
}
