import { principalOf, requirePermission, requireRole, requireTenant } from '../../core/auth.ts';
import type { FastifyInstance } from '../../core/http.ts';
import { AppError } from '../../core/errors.ts';
import { tenantIdSchema, type TenantStore } from '../../core/tenants.ts';
import { z } from '../../core/zod.ts';
import { isIsoDay } from './dates.ts';
import { backfillInputSchema } from './input.ts';

const day = z.string().refine(isIsoDay, 'yyyy-MM-dd 形式の実在する日付で指定してください');
const followersQuerySchema = z.object({ tenant: tenantIdSchema, from: day, to: day });
import type { InsightPollers } from './pollers.ts';

/**
 * /api/v1/insight: what the CLI uses while the suite runs. The app authenticates every /api/ route;
 * here each route checks what the caller may see or do (a municipality account: its own tenant).
 */
export function registerInsightRoutes(
  app: FastifyInstance,
  deps: { pollers: InsightPollers; tenants: TenantStore },
): void {
  app.post('/api/v1/insight/backfill', async (req, reply) => {
    const input = backfillInputSchema.parse(req.body ?? {});
    const who = principalOf(req);
    requirePermission(who, 'manage_channels');
    if (input.tenant === 'all') requireRole(who, 'admin', 'contractor');
    else requireTenant(who, input.tenant);
    const result = await deps.pollers.backfill(input.tenant, input.from, input.to);
    return reply.status(202).send(result);
  });

  app.get('/api/v1/insight/status', async () => deps.pollers.status());

  /** Stored daily figures of one tenant (latest fetch of each day). */
  app.get('/api/v1/insight/followers', async (req) => {
    const q = followersQuerySchema.parse(req.query ?? {});
    requireTenant(principalOf(req), q.tenant);
    if (q.from > q.to)
      throw new AppError('invalid_date_range', `開始日 ${q.from} が終了日 ${q.to} より後になっています`, 400);
    await deps.tenants.require(q.tenant);
    return { days: await deps.pollers.store.followersRange(q.tenant, q.from, q.to) };
  });
}
