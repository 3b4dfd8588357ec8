/**
 * ops/' HTTP side. /metrics (Prometheus text) needs TAYORI_METRICS_TOKEN (or the operator token) as a
 * Bearer token. The staff JSON API: reads for accounts that see every tenant (県, 受託者, 管理者);
 * changes of records also need 帳票の管理 (manage_reports); backups and exports only for 管理者 and
 * the operator token. Every change is audited in the call (ops/records.ts, backup, export).
 *
 *   GET  /metrics
 *   GET  /api/v1/ops/status                         → { availability, lastCheck, stops (banner), backups }
 *   GET  /api/v1/ops/availability?month=YYYY-MM     → Availability
 *   GET|POST /api/v1/ops/{incidents|supports|issues|stops}
 *   GET|PATCH|DELETE /api/v1/ops/{kind}/:id ;  GET …/:id/history
 *   GET  /api/v1/ops/incidents/:id/report.docx      障害報告書 (Word)
 *   GET|POST /api/v1/ops/backups ;  POST /api/v1/ops/backups/:id/verify
 *   POST /api/v1/ops/exports  { tenant, out, format, plain?, operator? }   (the CLI through a running suite;
 *        plain: sealed personal data opened, for the calling account or the CLI's named account)
 */
import { timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import { type Authenticator, canSeeEvery, requireAdmin, requirePermission, type StaffIdentity } from '../core/auth.ts';
import { AppError } from '../core/errors.ts';
import type { FastifyInstance, FastifyRequest } from '../core/http.ts';
import { METRICS_CONTENT_TYPE, metricsText } from '../core/metrics-registry.ts';
import { staffRequests } from '../core/staff-requests.ts';
import { monthSchema, tokyoMonth } from '../core/time.ts';
import { z } from '../core/zod.ts';
import type { Ops } from './index.ts';
import { checkBackupId, verifyBackup } from './backup.ts';
import { incidentDocx } from './documents.ts';
import type { RecordKind } from './schemas.ts';

const PATHS: Record<string, RecordKind> = {
  incidents: 'incident',
  supports: 'support',
  issues: 'issue',
  stops: 'stop',
};

function tokenMatches(header: string | undefined, tokens: string[]): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1]!);
  return tokens.some((t) => {
    const want = Buffer.from(t);
    return want.length === given.length && timingSafeEqual(want, given);
  });
}

const exportBody = z.strictObject({
  tenant: z.string().regex(/^(all|\d{5,6})$/, '団体コード (5 桁) か all を指定してください'),
  out: z
    .string()
    .min(1, '出力先を指定してください')
    .refine((p) => path.isAbsolute(p), '出力先は絶対パスで指定してください'),
  format: z.enum(['csv', 'parquet']).default('csv'),
  /** Personal data opened into plain text (an account with 住民データの出力 and カード利用者情報). */
  plain: z.boolean().default(false),
  /** The CLI's named account (with the operator token only): who takes plain personal data out. */
  operator: z.strictObject({ username: z.string().min(1).max(64), password: z.string().min(1).max(1024) }).optional(),
});

export function registerOpsRoutes(
  app: FastifyInstance,
  ops: Ops,
  opts: { auth: Authenticator; metricsTokens: string[] },
): void {
  const staff = staffRequests(opts.auth);
  const { pre, who, by, param } = staff;
  const reader = (req: FastifyRequest) => {
    if (!canSeeEvery(who(req)))
      throw new AppError('forbidden', '運用の記録は県・受託者・管理者のアカウントで見られます', 403);
  };
  const writer = (req: FastifyRequest) => {
    reader(req);
    requirePermission(who(req), 'manage_reports');
  };
  const admin = (req: FastifyRequest) => requireAdmin(who(req));

  app.get('/metrics', async (req, reply) => {
    if (!tokenMatches(req.headers.authorization, opts.metricsTokens)) {
      // a signed-in caller is known but not allowed: /metrics takes its own token only
      const known = (await opts.auth.identify(req).catch(() => undefined)) !== undefined;
      if (known)
        return reply
          .status(403)
          .send({ error: { code: 'forbidden', message: '/metrics は監視用のトークンでのみ読めます' } });
      return reply.status(401).send({
        error: { code: 'unauthorized', message: '/metrics にはトークン (Authorization: Bearer …) が必要です' },
      });
    }
    await ops.refreshGauges().catch(() => {});
    return reply.header('content-type', METRICS_CONTENT_TYPE).send(await metricsText());
  });

  app.get('/api/v1/ops/status', pre, async (req) => {
    reader(req);
    return ops.status();
  });
  app.get('/api/v1/ops/availability', pre, async (req) => {
    reader(req);
    const q = z.object({ month: monthSchema.optional() }).safeParse(req.query);
    if (!q.success) throw new AppError('invalid_month', q.error.issues[0]!.message, 400);
    return ops.availability(q.data.month ?? tokyoMonth());
  });

  for (const [plural, kind] of Object.entries(PATHS)) {
    app.get(`/api/v1/ops/${plural}`, pre, async (req) => {
      reader(req);
      return { [plural]: await ops.records.list(kind) };
    });
    app.post(`/api/v1/ops/${plural}`, pre, async (req, reply) => {
      writer(req);
      return reply.status(201).send(await ops.records.create(kind, req.body, by(req)));
    });
    app.get(`/api/v1/ops/${plural}/:id`, pre, async (req) => {
      reader(req);
      return ops.records.require(kind, param(req, 'id'));
    });
    app.get(`/api/v1/ops/${plural}/:id/history`, pre, async (req) => {
      reader(req);
      return { history: await ops.records.history(kind, (await ops.records.require(kind, param(req, 'id'))).id) };
    });
    app.patch(`/api/v1/ops/${plural}/:id`, pre, async (req) => {
      writer(req);
      return ops.records.change(kind, param(req, 'id'), req.body, by(req));
    });
    app.delete(`/api/v1/ops/${plural}/:id`, pre, async (req, reply) => {
      writer(req);
      await ops.records.remove(kind, param(req, 'id'), by(req));
      return reply.status(204).send();
    });
  }

  app.get('/api/v1/ops/incidents/:id/report.docx', pre, async (req, reply) => {
    reader(req);
    const i = await ops.records.require('incident', param(req, 'id'));
    const bytes = await incidentDocx(i, ops.isOpenDay, new Date());
    const name = encodeURIComponent(`障害報告書_No${i.no}.docx`);
    return reply
      .header('content-type', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document')
      .header('content-disposition', `attachment; filename="incident-${i.no}.docx"; filename*=UTF-8''${name}`)
      .send(bytes);
  });

  app.get('/api/v1/ops/backups', pre, async (req) => {
    admin(req);
    return { backups: ops.backups.list(), dir: ops.backups.dir };
  });
  app.post('/api/v1/ops/backups', pre, async (req, reply) => {
    admin(req);
    await ops.audit.by(by(req), { action: 'backup_created', target: 'backup' });
    return reply.status(201).send(await ops.backup(staff.actor(req)));
  });
  app.post('/api/v1/ops/backups/:id/verify', pre, async (req) => {
    admin(req);
    const id = checkBackupId(param(req, 'id'));
    if (!ops.backups.list().some((b) => b.id === id))
      throw new AppError('backup_not_found', `バックアップ ${id} は見つかりません`, 404);
    return verifyBackup(path.join(ops.backups.dir, id));
  });
  app.post('/api/v1/ops/exports', pre, async (req, reply) => {
    admin(req);
    const b = exportBody.safeParse(req.body ?? {});
    if (!b.success) throw new AppError('invalid_export', b.error.issues[0]!.message, 400);
    const { plain, operator, ...o } = b.data;
    const caller = who(req);
    if (operator && (caller.kind !== 'operator' || !plain))
      throw new AppError('invalid_export', 'operator は CLI から平文で書き出すときだけ指定します', 400);
    let plainFor: StaffIdentity | undefined;
    if (plain) {
      if (caller.kind === 'staff') plainFor = caller;
      else if (operator) plainFor = await ops.operatorAccount(operator.username, operator.password);
      else
        throw new AppError(
          'operator_required',
          '個人情報を平文で書き出すには、権限のある職員アカウントを指定してください (--operator <ユーザー名>)',
          400,
        );
    }
    const manifest = await ops.exportData({ ...o, by: by(req), plainFor });
    return reply.status(201).send(manifest);
  });
}
