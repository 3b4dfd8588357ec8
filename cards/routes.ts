/**
 * The cards' staff API (a signed-in caller; CSRF for state changes with a session):
 *
 *   GET  /api/v1/cards/stats                              counts per visible tenant (no personal data)
 *   GET  /api/v1/cards/tenants/:tenantId/holders?q&limit&offset   カード利用者情報: search (audited)
 *   GET  /api/v1/cards/tenants/:tenantId/holders.csv      カード利用者情報: streamed CSV (audited with its rows)
 *   POST /api/v1/cards/tenants/:tenantId/push {userIds, text}     カード利用者情報: push to chosen holders (audited)
 *   PUT  /api/v1/cards/tenants/:tenantId/images/:kind     {type, data (base64)} a draft card/pass image
 *   GET  /api/v1/cards/tenants/:tenantId/images/:kind/:state      the draft (preview) or published image
 *   POST /api/v1/cards/tenants/:tenantId/images/:kind/publish
 *   PUT  /api/v1/cards/tenants/:tenantId/shop-code        {shopCode}
 *   POST /api/v1/cards/tenants/:tenantId/erase-personal-data {confirm: tenantId}   admins and the CLI's
 *        operator token: logical erasure; answers the certificate (PDF, base64) and the key's fingerprint
 */
import { type Authenticator, visibleTenants } from '../core/auth.ts';
import type { AuditContext } from '../core/audit.ts';
import { AppError } from '../core/errors.ts';
import type { FastifyInstance, FastifyRequest } from '../core/http.ts';
import { staffRequests } from '../core/staff-requests.ts';
import type { TenantStore } from '../core/tenants.ts';
import type { ErasureResult } from './erasure.ts';
import type { ImageKind } from './households.ts';
import { MAX_IMAGE_BYTES } from './images.ts';
import type { CardStaff } from './staff.ts';

/** The routes that read or send personal data (カード利用者情報): the security test enumerates them. */
export const CARD_HOLDER_ROUTES = [
  'GET /api/v1/cards/tenants/:tenantId/holders',
  'GET /api/v1/cards/tenants/:tenantId/holders.csv',
  'POST /api/v1/cards/tenants/:tenantId/push',
] as const;

export function registerCardsRoutes(
  app: FastifyInstance,
  deps: {
    auth: Authenticator;
    staff: CardStaff;
    tenants: TenantStore;
    erase: (by: AuditContext, tenantId: string, confirm: string) => Promise<ErasureResult>;
  },
): void {
  const { auth, staff } = deps;
  /** seen: the tenant, once the caller may see it (403 before anything about the rest of the path). */
  const { pre, who, by, param, tenantId: tid, seen } = staffRequests(auth);
  const kindOf = (req: FastifyRequest): ImageKind => {
    const k = param(req, 'kind');
    if (k !== 'card' && k !== 'pass') throw new AppError('not_found', '画像の種類は card か pass です', 404);
    return k;
  };
  const base = '/api/v1/cards/tenants/:tenantId';

  app.get('/api/v1/cards/stats', pre, async (req) => {
    const all = await deps.tenants.list();
    const ids = visibleTenants(
      who(req),
      all.map((t) => t.id),
    );
    const names = new Map(all.map((t) => [t.id, t.name]));
    return { tenants: ids.map((id) => ({ ...staff.counts(who(req), id), tenantName: names.get(id) ?? id })) };
  });
  app.get(`${base}/holders`, pre, async (req) => staff.search(by(req), tid(req), req.query));
  app.get(`${base}/holders.csv`, pre, async (req, reply) => {
    const { stream } = await staff.exportCsv(by(req), tid(req));
    const name = `カード利用者_${tid(req)}.csv`;
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('cache-control', 'no-store')
      .header(
        'content-disposition',
        `attachment; filename="card-holders.csv"; filename*=UTF-8''${encodeURIComponent(name)}`,
      )
      .send(stream);
  });
  app.post(`${base}/push`, pre, async (req) => staff.push(by(req), tid(req), req.body));
  app.put(`${base}/images/:kind`, { ...pre, bodyLimit: Math.ceil((MAX_IMAGE_BYTES * 4) / 3) + 4096 }, async (req) =>
    staff.upload(by(req), seen(req), kindOf(req), req.body),
  );
  app.get(`${base}/images/:kind/:state`, pre, async (req, reply) => {
    const tenantId = seen(req);
    const state = param(req, 'state');
    if (state !== 'draft' && state !== 'published') throw new AppError('not_found', '画像はありません', 404);
    const img = staff.image(who(req), tenantId, kindOf(req), state);
    return reply.header('content-type', img.type).header('cache-control', 'no-store').send(img.data);
  });
  app.post(`${base}/images/:kind/publish`, pre, async (req) => {
    await staff.publish(by(req), seen(req), kindOf(req));
    return { published: true };
  });
  app.post(`${base}/erase-personal-data`, pre, async (req) => {
    const p = who(req);
    if (p.kind === 'staff' && p.role !== 'admin') {
      throw new AppError('forbidden', '個人情報の消去は管理者だけが行えます', 403);
    }
    const confirm = String((req.body as { confirm?: unknown } | undefined)?.confirm ?? '');
    const r = await deps.erase(by(req), tid(req), confirm);
    return {
      tenantId: r.tenantId,
      tenantName: r.tenantName,
      records: r.records,
      pushes: r.pushes,
      backups: r.backups,
      erasedAt: r.erasedAt,
      keyFingerprint: r.key.fingerprint ?? null,
      certificate: r.certificate.toString('base64'),
    };
  });
  app.put(`${base}/shop-code`, pre, async (req) => staff.setShopCode(by(req), tid(req), req.body));
}
