/**
 * /api/v1/rollout…  業務工程表 (rollout board)
 *   GET /api/v1/rollout[?asOf=YYYY-MM-DD]             the board (a municipality account: its own row)
 *   PUT /api/v1/rollout/:tenantId/steps/:step         planned / entered actual date and a note (contractor)
 *   GET /api/v1/rollout/:tenantId/history             every change of the tenant's steps
 *
 * Reading needs a caller who may see the tenant; entering needs 「帳票の管理」 held by the contractor
 * (or an administrator, or the operator): the schedule is the contractor's to keep.
 */
import { AuditLog } from '../core/audit.ts';
import type { Authenticator, Principal } from '../core/auth.ts';
import type { ClickHouseClient } from '../core/clickhouse.ts';
import { AppError } from '../core/errors.ts';
import type { FastifyInstance } from '../core/http.ts';
import { staffRequests } from '../core/staff-requests.ts';
import type { TenantStore } from '../core/tenants.ts';
import { daySchema } from '../core/time.ts';
import { z } from '../core/zod.ts';
import { parseInput } from './files-routes.ts';
import { ROLLOUT_STEP_KEYS, RolloutStore, rolloutEntrySchema } from './rollout.ts';

const boardQuery = z.object({ asOf: daySchema.optional() });
const stepSchema = z.enum(ROLLOUT_STEP_KEYS, { message: '工程が正しくありません' });

/** Whether the caller enters the schedule: the contractor's staff, an administrator or the operator. */
export function entersRollout(p: Principal): boolean {
  return p.kind === 'operator' || (p.kind === 'staff' && (p.role === 'contractor' || p.role === 'admin'));
}

export function registerRolloutRoutes(
  app: FastifyInstance,
  deps: { ch: ClickHouseClient; tenants: TenantStore; auth: Authenticator },
): RolloutStore {
  const store = new RolloutStore(deps.ch, new AuditLog(deps.ch));
  const staff = staffRequests(deps.auth);

  const visibleTenants = async (p: Principal) => {
    const all = await deps.tenants.list();
    return p.kind === 'staff' && p.role === 'municipality' ? all.filter((t) => t.id === p.tenantId) : all;
  };

  app.get('/api/v1/rollout', staff.pre, async (req) => {
    const q = parseInput(boardQuery, req.query ?? {}, 'invalid_query');
    return store.board(await visibleTenants(staff.who(req)), q.asOf);
  });

  app.put('/api/v1/rollout/:tenantId/steps/:step', staff.pre, async (req) => {
    const tenantId = staff.allowed(req, 'manage_reports');
    const p = staff.who(req);
    if (!entersRollout(p)) throw new AppError('forbidden', '業務工程表の予定・実績は受託者が入力します', 403);
    const step = parseInput(stepSchema, staff.param(req, 'step'), 'invalid_step');
    const input = parseInput(rolloutEntrySchema, req.body ?? {}, 'invalid_rollout');
    const tenant = await deps.tenants.get(tenantId);
    if (!tenant) throw new AppError('tenant_not_found', `団体 ${tenantId} は登録されていません`, 404);
    return { step: await store.set(tenant, step, input, { actor: staff.actor(req), audit: staff.by(req) }) };
  });

  app.get('/api/v1/rollout/:tenantId/history', staff.pre, async (req) => {
    const tenantId = staff.seen(req);
    return { history: await store.history(tenantId) };
  });

  return store;
}
