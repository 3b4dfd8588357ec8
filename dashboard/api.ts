import { principalOf, requireAdmin, type Principal } from '../core/auth.ts';
import { auditContext, type AuditLog } from '../core/audit.ts';
import { toCsv } from '../core/csv.ts';
import { AppError } from '../core/errors.ts';
import type { FastifyInstance, FastifyRequest } from '../core/http.ts';
import type { SessionStore } from '../core/sessions.ts';
import { tenantIdSchema } from '../core/tenants.ts';
import {
  passwordSchema,
  permissionsInputSchema,
  staffInputSchema,
  tokenDaysSchema,
  usernameSchema,
  type StaffStore,
} from '../core/users.ts';
import { z } from '../core/zod.ts';
import { tokyoMonth as currentMonth, daySchema, monthSchema } from '../core/time.ts';
import {
  FIGURES,
  MILEAGE_FIGURES,
  MISSING_REASONS,
  mileageValue,
  type Figure,
  type FigureName,
  type MileageOverview,
  type MileageRow,
  type Overview,
} from '../metrics/index.ts';
import type { DashboardData } from './data.ts';
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

/** The mileage columns of the overview's downloads (the month and the fiscal year so far). */
const MILEAGE_COLUMNS = [
  'participants',
  'newParticipants',
  'active',
  'points',
  'pointsToDate',
  'awards',
  'reachedGoalNew',
  'reachedGoal',
  'cardsIssued',
  'cardsIssuedToDate',
  'cardsValid',
  'participantsPerThousand',
] as const;

/**
 * The overview as table rows with Japanese headers: what CSV and Excel downloads hold. With the
 * month's mileage figures, their columns (マイレージ: …) follow LINE's; the prefecture's own
 * accounts run no programme and leave them empty.
 */
export function overviewTable(o: Overview, mileage?: MileageOverview): XlsxCell[][] {
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
  ];
  const TOTAL = '';
  if (mileage) {
    const byId = new Map<string, Pick<MileageRow, 'figures' | 'participantsPerThousand' | 'missing'>>(
      mileage.rows.map((r) => [r.tenantId, r]),
    );
    byId.set(TOTAL, mileage.totals);
    for (const k of MILEAGE_COLUMNS) {
      const f = MILEAGE_FIGURES[k];
      cols.push([
        `マイレージ: ${f.label} (${f.unit})`,
        (r) => {
          const m = byId.get(r.tenantId);
          return m ? mileageValue(m, k) : null;
        },
      ]);
    }
    cols.push([
      'マイレージ: 事業',
      (r) => {
        if (r.tenantId === TOTAL) return `${mileage.fiscalYearLabel} ${mileage.totals.programmes} 事業`;
        const m = mileage.rows.find((x) => x.tenantId === r.tenantId);
        return m
          ? m.programme
            ? `${m.programme.name} (目標 ${m.programme.goalPoints} pt)`
            : MISSING_REASONS.no_programme
          : null;
      },
    ]);
  }
  cols.push(['備考 (— の理由)', (r) => notes(r.missing)]);
  const totals = {
    ...o.totals,
    tenantId: TOTAL,
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

/** The overview as CSV through the suite's one writer (core/csv.ts): formulas neutralised, null → "—". */
export function overviewCsv(o: Overview, mileage?: MileageOverview): string {
  return toCsv(overviewTable(o, mileage), { nullAs: '—' });
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
      const month = q.month ?? currentMonth();
      const [o, mileage] = await Promise.all([data.overview(p, month), data.mileage(p, month)]);
      const body =
        format === 'csv' ? overviewCsv(o, mileage) : await xlsxWorkbook(`県全体 ${o.month}`, overviewTable(o, mileage));
      // no audit record, no file
      await audit.by(auditContext(req, p), {
        action: 'export',
        tenantId: tenantOf(p),
        target: `overview.${format}`,
        detail: { month: o.month, rows: o.rows.length },
      });
      const name = `県全体_${o.month}.${format}`;
      void reply.header(
        'content-disposition',
        `attachment; filename="overview_${o.month}.${format}"; filename*=UTF-8''${encodeURIComponent(name)}`,
      );
      void reply.header('cache-control', 'no-store');
      if (format === 'csv') return reply.type('text/csv; charset=utf-8').send(body);
      return reply.type('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet').send(body);
    });
  }

  // the health-mileage figures of a month: every municipality the caller may see, and their total
  app.get('/api/v1/dashboard/mileage', async (req) => {
    const q = monthQuery.parse(req.query ?? {});
    return data.mileage(principalOf(req), q.month ?? currentMonth());
  });

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

  // one's own password: the current one too; an admin (or the operator) may set anyone else's.
  // Either way every session and API token of the account ends.
  app.put<{ Params: { username: string } }>('/api/v1/users/:username/password', async (req) => {
    const p = principalOf(req);
    const username = usernameSchema.parse(req.params.username);
    const self = p.kind === 'staff' && p.username === username;
    if (!self) requireAdmin(p);
    const { password, currentPassword } = z
      .object({
        password: passwordSchema,
        currentPassword: z.string({ error: '現在のパスワードを入力してください' }).max(200).optional(),
      })
      .parse(req.body ?? {});
    if (self) {
      if (!currentPassword)
        throw new AppError('current_password_required', '自分のパスワードを変えるには現在のパスワードが必要です', 400);
      if (!(await users.checkPassword(username, currentPassword)))
        throw new AppError('current_password_incorrect', '現在のパスワードが正しくありません', 403);
    }
    const user = await users.setPassword(username, password);
    await sessions.destroyAllFor(user.userId);
    await audit.record({
      action: 'user_password_changed',
      actor: p,
      tenantId: user.tenantId,
      target: username,
      detail: { tokensRevoked: true },
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
      ...(disabled ? { detail: { tokensRevoked: true } } : {}),
      ...meta(req),
    });
    return user;
  });

  // ---- API tokens: one's own, or anyone's for an admin ----
  const tokenOwner = (req: FastifyRequest<{ Params: { username: string } }>) => {
    const p = principalOf(req);
    const username = usernameSchema.parse(req.params.username);
    if (!(p.kind === 'staff' && p.username === username)) requireAdmin(p);
    return { p, username };
  };

  app.post<{ Params: { username: string } }>('/api/v1/users/:username/tokens', async (req, reply) => {
    const { p, username } = tokenOwner(req);
    const { label, days } = z
      .object({ label: z.string().trim().max(60).default(''), days: tokenDaysSchema.optional() })
      .parse(req.body ?? {});
    const { token, info } = await users.createApiToken(username, { label, days });
    await audit.by(auditContext(req, p), {
      action: 'api_token_created',
      target: username,
      detail: { id: info.id, label, expiresAt: info.expiresAt },
    });
    return reply.status(201).send({
      token,
      ...info,
      note: `このトークンは今回だけ表示されます。有効期限は ${info.expiresAt.slice(0, 10)} です。Authorization: Bearer <トークン> で API を呼び出せます`,
    });
  });

  app.get<{ Params: { username: string } }>('/api/v1/users/:username/tokens', async (req) => {
    const { username } = tokenOwner(req);
    return { tokens: await users.listTokens(username) };
  });

  app.delete<{ Params: { username: string; id: string } }>('/api/v1/users/:username/tokens/:id', async (req) => {
    const { p, username } = tokenOwner(req);
    const info = await users.revokeToken(req.params.id, username);
    await audit.by(auditContext(req, p), {
      action: 'api_token_revoked',
      target: username,
      detail: { id: info.id, label: info.label },
    });
    return { revoked: info };
  });

  app.get('/api/v1/tokens', async (req) => {
    requireAdmin(principalOf(req));
    return { tokens: await users.listTokens() };
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
