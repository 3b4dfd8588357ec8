/**
 * /api/v1/minutes…  議事録 (meeting minutes)
 *   GET    /api/v1/minutes[?month=YYYY-MM&tenant=&status=draft|approved]
 *   POST   /api/v1/minutes                    create a draft
 *   GET    /api/v1/minutes/:id                one record;  GET /:id/history  every version
 *   PATCH  /api/v1/minutes/:id                change a draft (approved minutes must be reopened first)
 *   POST   /api/v1/minutes/:id/approve        draft → approved;  POST /:id/reopen  approved → draft
 *   DELETE /api/v1/minutes/:id                drafts only
 *
 * /api/v1/issues…  課題管理表 (issue log)
 *   GET    /api/v1/issues[?month=YYYY-MM&tenant=&status=未着手|対応中|完了]
 *   POST   /api/v1/issues                     raise an issue (gets the next No.)
 *   GET    /api/v1/issues/:id                 one entry;  GET /:id/history  every change, field by field
 *   PATCH  /api/v1/issues/:id                 change (with an optional note saying why)
 *   DELETE /api/v1/issues/:id                 remove from the log (its history stays)
 *
 * Any caller who may see the tenants concerned reads; changes need the 「帳票の管理」 permission.
 * A municipality account sees and records only what concerns its own tenant.
 */
import { AuditLog } from '../core/audit.ts';
import { principalOf, requirePermission, requireTenant, type Principal } from '../core/auth.ts';
import type { ClickHouseClient } from '../core/clickhouse.ts';
import { AppError } from '../core/errors.ts';
import type { FastifyInstance, FastifyRequest } from '../core/http.ts';
import { z } from '../core/zod.ts';
import {
  issueCreateSchema,
  issueListQuerySchema,
  issuePatchSchema,
  minutesCreateSchema,
  minutesListQuerySchema,
  minutesPatchSchema,
  tokyoIso,
} from './schemas.ts';
import { ReportStore, type Issue, type Minutes } from './store.ts';
import { parseInput, registerReportFileRoutes } from './files-routes.ts';
import type { Reports } from './jobs.ts';

const idSchema = z.string().uuid('ID の形式が正しくありません');
const versionBody = z.strictObject({ version: z.number().int().positive().optional() }).default({});

/** Who made a change, as the records show it. */
export function actorOf(p: Principal): string {
  return p.kind === 'operator' ? 'operator' : p.username;
}

/** A municipality account is limited to its own tenant; others see all. */
function ownTenant(p: Principal): string | undefined {
  return p.kind === 'staff' && p.role === 'municipality' ? (p.tenantId ?? '') : undefined;
}

function canSeeMinutes(p: Principal, m: Minutes): boolean {
  const own = ownTenant(p);
  return own === undefined || m.tenantIds.includes(own);
}

/**
 * The records' routes, and with `reports` (createReports: files and jobs) the report files' routes
 * (files-routes.ts).
 */
export function registerReportRoutes(
  app: FastifyInstance,
  deps: { ch: ClickHouseClient; reports?: Reports },
): ReportStore {
  const store = new ReportStore(deps.ch);
  if (deps.reports) registerReportFileRoutes(app, deps.reports, new AuditLog(deps.ch));
  const param = (req: FastifyRequest, code: string) => parseInput(idSchema, (req.params as { id: string }).id, code);

  const checkTenants = async (p: Principal, ids: readonly string[], field: string, code: string) => {
    for (const id of ids) requireTenant(p, id);
    const unknown = await store.unknownTenants(ids);
    if (unknown.length) {
      throw new AppError(
        code,
        `登録されていない団体です: ${unknown.join('、')}`,
        400,
        unknown.map(() => ({ field, message: '登録されていない団体コードです' })),
      );
    }
  };
  /** Minutes a municipality records must name its tenant (and only it). */
  const checkMinutesTenants = async (p: Principal, ids: readonly string[]) => {
    if (ownTenant(p) !== undefined && ids.length === 0) {
      throw new AppError('invalid_minutes', '関係団体に自団体を指定してください', 400, [
        { field: 'tenantIds', message: '関係団体がありません' },
      ]);
    }
    await checkTenants(p, ids, 'tenantIds', 'invalid_minutes');
  };
  const visibleMinutes = async (p: Principal, id: string) => {
    const m = await store.requireMinutes(id);
    // someone else's records are "not found", not "forbidden": their existence is not disclosed
    if (!canSeeMinutes(p, m)) throw new AppError('minutes_not_found', `議事録 ${id} は見つかりません`, 404);
    return m;
  };
  const visibleIssue = (p: Principal, i: Issue) => {
    const own = ownTenant(p);
    if (own !== undefined && i.tenantId !== own)
      throw new AppError('issue_not_found', `課題 ${i.id} は見つかりません`, 404);
    return i;
  };

  // ---- minutes ---------------------------------------------------------------------------------

  app.get('/api/v1/minutes', async (req) => {
    const p = principalOf(req);
    const q = parseInput(minutesListQuerySchema, req.query, 'invalid_query');
    if (q.tenant) requireTenant(p, q.tenant);
    const tenant = q.tenant ?? ownTenant(p);
    return { minutes: await store.listMinutes({ ...q, tenant }) };
  });

  app.post('/api/v1/minutes', async (req, reply) => {
    const p = principalOf(req);
    requirePermission(p, 'manage_reports');
    const input = parseInput(minutesCreateSchema, req.body ?? {}, 'invalid_minutes');
    await checkMinutesTenants(p, input.tenantIds);
    return reply.status(201).send(await store.createMinutes(input, actorOf(p)));
  });

  app.get('/api/v1/minutes/:id', async (req) => visibleMinutes(principalOf(req), param(req, 'invalid_minutes_id')));

  app.get('/api/v1/minutes/:id/history', async (req) => {
    const m = await visibleMinutes(principalOf(req), param(req, 'invalid_minutes_id'));
    return { id: m.id, history: await store.minutesHistory(m.id) };
  });

  app.patch('/api/v1/minutes/:id', async (req) => {
    const p = principalOf(req);
    requirePermission(p, 'manage_reports');
    const id = param(req, 'invalid_minutes_id');
    const patch = parseInput(minutesPatchSchema, req.body ?? {}, 'invalid_minutes');
    if (patch.tenantIds !== undefined) await checkMinutesTenants(p, patch.tenantIds);
    return store.changeMinutes(
      id,
      actorOf(p),
      patch.version,
      async (m) => {
        if (!canSeeMinutes(p, m)) throw new AppError('minutes_not_found', `議事録 ${id} は見つかりません`, 404);
        if (m.status === 'approved') {
          throw new AppError(
            'minutes_approved',
            '承認済みの議事録は変更できません。変更するには差し戻してください (POST /api/v1/minutes/:id/reopen)',
            409,
          );
        }
      },
      (m) => {
        ReportStore.applyMinutesPatch(m, patch);
        return 'updated';
      },
    );
  });

  const transition = (
    path: string,
    from: 'draft' | 'approved',
    action: string,
    apply: (m: Minutes, actor: string) => void,
    refusal: string,
  ) =>
    app.post(`/api/v1/minutes/:id/${path}`, async (req) => {
      const p = principalOf(req);
      requirePermission(p, 'manage_reports');
      const id = param(req, 'invalid_minutes_id');
      const { version } = parseInput(versionBody, req.body ?? {}, 'invalid_minutes');
      return store.changeMinutes(
        id,
        actorOf(p),
        version,
        (m) => {
          if (!canSeeMinutes(p, m)) throw new AppError('minutes_not_found', `議事録 ${id} は見つかりません`, 404);
          if (m.status !== from) throw new AppError('invalid_state', refusal, 409);
        },
        (m) => {
          apply(m, actorOf(p));
          return action;
        },
      );
    });
  transition(
    'approve',
    'draft',
    'approved',
    (m, actor) => {
      m.status = 'approved';
      m.approvedBy = actor;
      m.approvedAt = tokyoIso(Date.now());
    },
    'この議事録は既に承認されています',
  );
  transition(
    'reopen',
    'approved',
    'reopened',
    (m) => {
      m.status = 'draft';
      m.approvedBy = '';
      m.approvedAt = null;
    },
    '差し戻せるのは承認済みの議事録だけです',
  );

  app.delete('/api/v1/minutes/:id', async (req) => {
    const p = principalOf(req);
    requirePermission(p, 'manage_reports');
    const id = param(req, 'invalid_minutes_id');
    await store.changeMinutes(
      id,
      actorOf(p),
      undefined,
      (m) => {
        if (!canSeeMinutes(p, m)) throw new AppError('minutes_not_found', `議事録 ${id} は見つかりません`, 404);
        if (m.status === 'approved')
          throw new AppError('minutes_approved', '承認済みの議事録は削除できません。先に差し戻してください', 409);
      },
      () => 'deleted',
    );
    return { ok: true, id };
  });

  // ---- issue log -------------------------------------------------------------------------------

  app.get('/api/v1/issues', async (req) => {
    const p = principalOf(req);
    const q = parseInput(issueListQuerySchema, req.query, 'invalid_query');
    if (q.tenant) requireTenant(p, q.tenant);
    return { issues: await store.listIssues({ ...q, tenant: q.tenant ?? ownTenant(p) }) };
  });

  app.post('/api/v1/issues', async (req, reply) => {
    const p = principalOf(req);
    requirePermission(p, 'manage_reports');
    const input = parseInput(issueCreateSchema, req.body ?? {}, 'invalid_issue');
    await checkTenants(p, [input.tenantId], 'tenantId', 'invalid_issue');
    return reply.status(201).send(await store.createIssue(input, actorOf(p)));
  });

  app.get('/api/v1/issues/:id', async (req) => {
    const p = principalOf(req);
    return visibleIssue(p, await store.requireIssue(param(req, 'invalid_issue_id')));
  });

  app.get('/api/v1/issues/:id/history', async (req) => {
    const p = principalOf(req);
    const i = visibleIssue(p, await store.requireIssue(param(req, 'invalid_issue_id')));
    return { id: i.id, no: i.no, history: await store.issueHistory(i.id) };
  });

  app.patch('/api/v1/issues/:id', async (req) => {
    const p = principalOf(req);
    requirePermission(p, 'manage_reports');
    const id = param(req, 'invalid_issue_id');
    const patch = parseInput(issuePatchSchema, req.body ?? {}, 'invalid_issue');
    if (patch.tenantId !== undefined) await checkTenants(p, [patch.tenantId], 'tenantId', 'invalid_issue');
    return store.changeIssue(id, actorOf(p), patch, (current) => {
      visibleIssue(p, current);
    });
  });

  app.delete('/api/v1/issues/:id', async (req) => {
    const p = principalOf(req);
    requirePermission(p, 'manage_reports');
    const id = param(req, 'invalid_issue_id');
    await store.changeIssue(id, actorOf(p), 'delete', (current) => {
      visibleIssue(p, current);
    });
    return { ok: true, id };
  });

  return store;
}
