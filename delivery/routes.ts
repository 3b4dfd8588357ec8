/**
 * /api/v1/tenants/:tenantId/deliveries…  (operator bearer token)
 *
 *   POST   /deliveries                    create (send: draft | now | schedule)
 *   PUT    /deliveries/:id                a draft's new contents (same body; it may be sent or scheduled too)
 *   POST   /deliveries/validate           check only (our rules, then LINE's validate endpoint)   (deliver)
 *   POST   /deliveries/preview            the messages as a resident sees them                   (deliver)
 *   POST   /deliveries/count              { audience } → how many residents it reaches now       (deliver)
 *   POST   /deliveries/test-send          to the tenant's test devices only (recorded as a test)
 *   GET    /deliveries[?tests=1]          list;  GET /deliveries.csv  export
 *   GET    /deliveries/:id                record + live progress;  GET /deliveries/:id/batches
 *   POST   /deliveries/:id/send | /schedule {scheduledAt} | /cancel
 *   GET|POST /test-devices   DELETE /test-devices/:userId
 *   GET|POST /categories     PATCH /categories/:id
 *   GET|POST /attribute-items  PATCH /attribute-items/:id
 *   GET    /residents/:userId/attributes   GET /residents.csv[?friends=1]  住民の登録内容 (export_residents)
 *   GET|POST /rich-menu                    the tenant's default rich menu; POST (re)applies it {newsUrl?, contactUrl?}
 *   GET    /api/v1/deliveries[.csv]       prefecture-wide list (scoped to the caller's tenants in the query)
 *
 * Sends are audited by the service (the caller is handed in); exports and lookups of residents'
 * data are audited here, before their body leaves: no audit record, no file (503).
 */
import { Readable } from 'node:stream';
import { canSeeEvery, requirePermission, visibleTenants, type Authenticator } from '../core/auth.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from '../core/http.ts';
import { staffRequests } from '../core/staff-requests.ts';
import type { TenantStore } from '../core/tenants.ts';
import { z } from '../core/zod.ts';
import { toCsv } from '../core/csv.ts';
import { messagesSchema } from './messages.ts';
import { renderPreview } from './preview.ts';
import type { ResidentStore } from './residents.ts';
import { residentsCsv } from './residents-export.ts';
import type { RichMenuService } from './rich-menu.ts';
import { parseOrThrow, restoreLinks, type DeliveryService } from './service.ts';
import type { DeliveryStore, ListedDelivery } from './store.ts';
import { tokyoDateTime } from '../core/time.ts';

export interface RouteDeps {
  auth: Authenticator;
  service: DeliveryService;
  store: DeliveryStore;
  residents: ResidentStore;
  tenants: TenantStore;
  richMenus: RichMenuService;
}

const userIdSchema = z.string().regex(/^U[0-9a-f]{32}$/, 'LINE のユーザー ID (U で始まる 33 文字) を指定してください');
const flag = z
  .enum(['0', '1', 'true', 'false'], { message: '0・1・true・false のいずれかで指定してください' })
  .optional()
  .transform((v) => v === '1' || v === 'true');
/** The list's query string: a bad limit is a 400, never a 500. */
const listQuerySchema = z.object({
  tests: flag,
  limit: z.coerce
    .number({ error: 'limit は数値で指定してください' })
    .int('limit は整数で指定してください')
    .min(1, 'limit は 1 以上で指定してください')
    .max(10_000, 'limit は 10000 以下で指定してください')
    .default(1000),
});
const residentsQuerySchema = z.object({ friends: flag });

const testDeviceSchema = z.object({
  userId: userIdSchema,
  label: z.string().trim().max(50, '名前は 50 文字以内です').default(''),
});

const STATUS_JA: Record<string, string> = {
  draft: '下書き',
  scheduled: '予約済み',
  queued: '送信待ち',
  sending: '送信中',
  done: '送信済み',
  failed: '失敗',
  cancelled: '取り消し',
};
const TYPE_JA: Record<string, string> = {
  text: 'テキスト',
  image: '画像',
  video: '動画',
  sticker: 'スタンプ',
  flex: 'Flex',
};

export function deliveriesCsv(list: ListedDelivery[], tenantNames: Map<string, string>): string {
  const header = [
    '団体コード',
    '団体名',
    '配信日',
    '配信時刻',
    '件名',
    '種別',
    'メッセージ',
    '配信対象',
    '状態',
    '対象数',
    '対象外(人)',
    '受付数',
    '失敗数',
    '配信数',
    '開封者数',
    '開封率',
    'クリック数',
  ];
  const rows = list.map((d) => {
    const { date, time } = tokyoDateTime(d.at);
    const openBase = d.delivered ?? d.accepted;
    const openRate =
      d.uniqueImpressions !== null && openBase > 0 ? `${((d.uniqueImpressions / openBase) * 100).toFixed(1)}%` : '';
    return [
      d.tenantId,
      tenantNames.get(d.tenantId) ?? '',
      date,
      time,
      d.title,
      d.kind === 'test' ? 'テスト' : '通常',
      d.messageTypes.map((t) => TYPE_JA[t] ?? t).join('・'),
      d.audienceLabel,
      STATUS_JA[d.status] ?? d.status,
      d.targets,
      d.skipped,
      d.accepted,
      d.failed,
      d.delivered ?? '',
      d.uniqueImpressions ?? '',
      openRate,
      d.clicks ?? '',
    ];
  });
  return toCsv([header, ...rows]);
}

export function registerDeliveryRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { auth, service, store, residents, tenants, richMenus } = deps;
  const audit = service.audit;
  const base = '/api/v1/tenants/:tenantId';
  // who calls: any signed-in caller who may see the tenant reads; changing needs the 'deliver' permission
  const staff = staffRequests(auth);
  const { pre, who, by, param, seen: tid } = staff;
  /** The tenant id, for a caller allowed to deliver / change delivery settings there. */
  const tidDeliver = (req: FastifyRequest) => staff.allowed(req, 'deliver');
  /** The prefecture-wide list, scoped to the caller's tenants in the query (before its LIMIT). */
  const visibleList = async (req: FastifyRequest) => {
    const p = who(req);
    const all = (await tenants.list()).map((t) => t.id);
    const mine = visibleTenants(p, all);
    const scope = mine.length === all.length && canSeeEvery(p) ? '' : { tenants: mine };
    return store.list(scope, listOpts(req));
  };
  const listOpts = (req: FastifyRequest) => {
    const q = listQuerySchema.parse(req.query ?? {});
    return { includeTests: q.tests, limit: q.limit };
  };
  const auditExport = (req: FastifyRequest, tenantId: string | null, target: string, detail = {}) =>
    audit.by(by(req), { action: 'export', tenantId, target, detail });
  const sendCsv = (reply: FastifyReply, name: string, body: string | Readable, ascii = 'deliveries.csv') =>
    reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`)
      .send(body);

  app.post(`${base}/deliveries`, pre, async (req, reply) =>
    reply.status(201).send(await service.create(tidDeliver(req), req.body, by(req))),
  );
  app.put(`${base}/deliveries/:deliveryId`, pre, async (req) =>
    service.update(tidDeliver(req), param(req, 'deliveryId'), req.body, by(req)),
  );
  // validate, preview and count (a heavy segment count) are the composer's: for callers who deliver
  app.post(`${base}/deliveries/validate`, pre, async (req) => {
    const v = await service.validate(tidDeliver(req), req.body);
    return { ok: true, messages: v.messages.length, scheduledAt: v.at ? new Date(v.at).toISOString() : null };
  });
  app.post(`${base}/deliveries/preview`, pre, async (req) => {
    const tenant = await tenants.require(tidDeliver(req));
    const { messages } = parseOrThrow(z.object({ messages: messagesSchema }), req.body);
    return renderPreview(`${tenant.name}`, messages);
  });
  app.post(`${base}/deliveries/count`, pre, async (req) => service.count(tidDeliver(req), req.body));
  app.post(`${base}/deliveries/test-send`, pre, async (req, reply) =>
    reply.status(201).send(await service.testSend(tidDeliver(req), req.body, by(req))),
  );
  app.get(`${base}/deliveries`, pre, async (req) => ({
    deliveries: await store.list((await tenants.require(tid(req))).id, listOpts(req)),
  }));
  app.get(`${base}/deliveries.csv`, pre, async (req, reply) => {
    const tenant = await tenants.require(tid(req));
    const list = await store.list(tenant.id, listOpts(req));
    const body = deliveriesCsv(list, new Map([[tenant.id, tenant.name]]));
    await auditExport(req, tenant.id, 'deliveries.csv', { rows: list.length });
    return sendCsv(reply, `配信一覧_${tenant.name}.csv`, body);
  });
  app.get(`${base}/deliveries/:deliveryId`, pre, async (req) => service.get(tid(req), param(req, 'deliveryId')));
  // what a delivery said, as the residents' talk screen shows it, and how it went out (anyone who
  // may see the tenant): the delivery list's 内容 in one request
  app.get(`${base}/deliveries/:deliveryId/preview`, pre, async (req) => {
    const tenant = await tenants.require(tid(req));
    const d = await store.require(tenant.id, param(req, 'deliveryId'));
    return {
      ...renderPreview(tenant.name, restoreLinks(d.messages, d.links)),
      sendMethod: d.sendMethod,
      notificationDisabled: d.notificationDisabled,
      trackedLinks: d.links.length,
    };
  });
  app.get(`${base}/deliveries/:deliveryId/batches`, pre, async (req) => ({
    batches: await store.batches(tid(req), param(req, 'deliveryId')),
  }));
  app.post(`${base}/deliveries/:deliveryId/send`, pre, async (req) =>
    service.sendNow(tidDeliver(req), param(req, 'deliveryId'), by(req)),
  );
  app.post(`${base}/deliveries/:deliveryId/schedule`, pre, async (req) =>
    service.schedule(tidDeliver(req), param(req, 'deliveryId'), req.body, by(req)),
  );
  app.post(`${base}/deliveries/:deliveryId/cancel`, pre, async (req) =>
    service.cancel(tidDeliver(req), param(req, 'deliveryId'), by(req)),
  );

  app.get(`${base}/deliveries/:deliveryId/clicks`, pre, async (req) => {
    const d = await store.require(tid(req), param(req, 'deliveryId'));
    return {
      deliveryId: d.id,
      clickBucket: d.clickBucket,
      links: d.links,
      clicks: await store.clicks(d.tenantId, d.id),
    };
  });

  // Residents' clicks on tracked links: no auth, no personal data, a 302 to the link.
  const linkCache = new Map<
    string,
    { tenant_id: string; delivery_id: string; link_no: number; bucket: string; url: string }
  >();
  app.get('/r/:token', async (req, reply) => {
    const token = param(req, 'token');
    if (!/^[A-Za-z0-9_-]{8,64}$/.test(token))
      return reply.status(404).type('text/plain; charset=utf-8').send('リンクが見つかりません');
    let link = linkCache.get(token);
    if (!link) {
      try {
        link = await store.link(token);
      } catch {
        return reply
          .status(503)
          .type('text/plain; charset=utf-8')
          .send('ただいまリンクを開けません。しばらくしてからもう一度お試しください');
      }
      if (!link) return reply.status(404).type('text/plain; charset=utf-8').send('リンクが見つかりません');
      if (linkCache.size > 10_000) linkCache.clear();
      linkCache.set(token, link);
    }
    // the click goes to the local event log (rate-limited): ClickHouse being slow or down does not hold the resident
    await store.clickRecorder
      .record(token, req.ip, {
        tenant_id: link.tenant_id,
        delivery_id: link.delivery_id,
        link_no: Number(link.link_no),
        bucket: link.bucket,
        clicked_at: new Date().toISOString().replace('T', ' ').replace('Z', ''),
      })
      .catch(() => undefined);
    return reply
      .status(302)
      .header('location', link.url)
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer')
      .send();
  });

  app.get('/api/v1/deliveries', pre, async (req) => ({ deliveries: await visibleList(req) }));
  app.get('/api/v1/deliveries.csv', pre, async (req, reply) => {
    const names = new Map((await tenants.list()).map((t) => [t.id, t.name]));
    const p = who(req);
    const list = await visibleList(req);
    const body = deliveriesCsv(list, names);
    await auditExport(req, p.kind === 'staff' ? p.tenantId : null, 'deliveries.csv', { rows: list.length });
    return sendCsv(reply, '配信一覧_全団体.csv', body);
  });

  app.get(`${base}/test-devices`, pre, async (req) => ({
    devices: await store.testDevices((await tenants.require(tid(req))).id),
  }));
  app.post(`${base}/test-devices`, pre, async (req, reply) => {
    const tenant = await tenants.require(tidDeliver(req));
    const v = parseOrThrow(testDeviceSchema, req.body, 'invalid_test_device');
    await audit.by(by(req), {
      action: 'test_device_added',
      tenantId: tenant.id,
      target: v.userId,
      detail: { via: 'id', label: v.label },
    });
    await store.putTestDevice(tenant.id, v.userId, v.label);
    return reply.status(201).send({ userId: v.userId, label: v.label });
  });
  app.delete(`${base}/test-devices/:userId`, pre, async (req) => {
    const tenant = await tenants.require(tidDeliver(req));
    const userId = parseOrThrow(userIdSchema, param(req, 'userId'), 'invalid_test_device');
    await audit.by(by(req), { action: 'test_device_removed', tenantId: tenant.id, target: userId });
    await store.putTestDevice(tenant.id, userId, '', true);
    return { ok: true };
  });

  app.get(`${base}/categories`, pre, async (req) => ({
    categories: await residents.categories((await tenants.require(tid(req))).id),
  }));
  app.post(`${base}/categories`, pre, async (req, reply) =>
    reply.status(201).send(await residents.addCategory((await tenants.require(tidDeliver(req))).id, req.body)),
  );
  app.patch(`${base}/categories/:categoryId`, pre, async (req) =>
    residents.patchCategory((await tenants.require(tidDeliver(req))).id, param(req, 'categoryId'), req.body),
  );
  app.get(`${base}/attribute-items`, pre, async (req) => ({
    items: await residents.items((await tenants.require(tid(req))).id),
  }));
  app.post(`${base}/attribute-items`, pre, async (req, reply) =>
    reply.status(201).send(await residents.addItem((await tenants.require(tidDeliver(req))).id, req.body)),
  );
  app.patch(`${base}/attribute-items/:itemId`, pre, async (req) =>
    residents.patchItem((await tenants.require(tidDeliver(req))).id, param(req, 'itemId'), req.body),
  );
  app.get(`${base}/rich-menu`, pre, async (req) => ({ richMenu: await richMenus.current(tid(req)) }));
  app.post(`${base}/rich-menu`, pre, async (req, reply) => {
    const tenantId = tidDeliver(req);
    const richMenu = await richMenus.apply(tenantId, req.body);
    await audit.by(by(req), {
      action: 'rich_menu_applied',
      tenantId,
      target: richMenu.richMenuId,
      detail: { newsUrl: richMenu.newsUrl, contactUrl: richMenu.contactUrl },
    });
    return reply.status(201).send({ richMenu });
  });
  // 住民の登録内容: every resident with their answers by name (personal data: export_residents; audited as an export)
  app.get(`${base}/residents.csv`, pre, async (req, reply) => {
    const tenant = await tenants.require(tid(req));
    requirePermission(who(req), 'export_residents');
    const friendsOnly = residentsQuerySchema.parse(req.query ?? {}).friends;
    const lines = residentsCsv(store, residents, tenant.id, { friendsOnly });
    // the header first: a failure to read the tenant's items is still an error status, not a cut-off file
    const first = await lines.next();
    await auditExport(req, tenant.id, 'residents.csv', { friendsOnly });
    const body = Readable.from(
      (async function* () {
        if (!first.done) yield first.value;
        yield* lines;
      })(),
    );
    return sendCsv(reply, `住民登録内容_${tenant.name}${friendsOnly ? '_友だちのみ' : ''}.csv`, body, 'residents.csv');
  });
  app.get(`${base}/residents/:userId/attributes`, pre, async (req) => {
    const tenant = await tenants.require(tid(req));
    requirePermission(who(req), 'export_residents');
    const userId = parseOrThrow(userIdSchema, param(req, 'userId'), 'invalid_user');
    await audit.by(by(req), { action: 'resident_lookup', tenantId: tenant.id, target: userId });
    return {
      userId,
      friend: await residents.isFriend(tenant.id, userId),
      attributes: await residents.attributes(tenant.id, userId),
    };
  });
}
