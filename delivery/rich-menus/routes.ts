/**
 * /api/v1/tenants/:tenantId/rich-menus…  Reading: any caller who may see the tenant; changing (and
 * uploading images): チャネルの管理 (manage_channels). Residents have no route here.
 *
 *   GET  /rich-menus                          menus, layouts, actions, schedules
 *   POST /rich-menus {title}                  a new menu (a tab)
 *   POST /rich-menus/images {type, data}      upload an image (base64; PNG/JPEG, LINE's rules)
 *   GET  /rich-menus/images/:imageId          the image
 *   GET  /rich-menus/:menuId                  the menu and its versions
 *   POST /rich-menus/:menuId/versions         save a design as a new draft version
 *   POST /rich-menus/:menuId/publish {version}    202: queued for LINE (GET shows the job)
 *   POST /rich-menus/:menuId/rollback {version}   202: an earlier version published again
 *   POST /rich-menus/:menuId/default          the channel's default
 *   DELETE /rich-menus/:menuId                a tab (unlinked, its alias and LINE menu deleted)
 *   PUT  /rich-menus/:menuId/audience {condition, priority}   per-audience menu (null: none)
 *   POST /rich-menus/schedules {menuId, startsAt, endsAt}    POST /rich-menus/schedules/:scheduleId/cancel
 */
import type { Authenticator } from '../../core/auth.ts';
import { AppError } from '../../core/errors.ts';
import type { FastifyInstance, FastifyRequest } from '../../core/http.ts';
import { staffRequests } from '../../core/staff-requests.ts';
import { z } from '../../core/zod.ts';
import { ACTION_LABELS, LAYOUTS } from './design.ts';
import type { RichMenuEditor } from './service.ts';

const versionSchema = z.object({ version: z.number({ error: '版を指定してください' }).int().min(1) }).strict();

export function registerRichMenuRoutes(app: FastifyInstance, deps: { auth: Authenticator; editor: RichMenuEditor }) {
  const { editor } = deps;
  const staff = staffRequests(deps.auth);
  const { pre, by, param } = staff;
  const base = '/api/v1/tenants/:tenantId/rich-menus';
  const manage = (req: FastifyRequest) => staff.allowed(req, 'manage_channels');
  const menuId = (req: FastifyRequest) => {
    const id = param(req, 'menuId');
    if (!/^[0-9a-f-]{36}$/.test(id)) throw new AppError('rich_menu_not_found', 'リッチメニューが見つかりません', 404);
    return id;
  };
  const versionOf = (body: unknown) => {
    const r = versionSchema.safeParse(body ?? {});
    if (!r.success) throw new AppError('invalid_version', '公開する版を指定してください', 400);
    return r.data.version;
  };

  app.get(base, pre, async (req) => {
    const tenantId = staff.seen(req);
    return {
      menus: await editor.menus(tenantId),
      schedules: await editor.schedules(tenantId),
      layouts: Object.entries(LAYOUTS).map(([id, l]) => ({ id, label: l.label, kind: l.kind, areas: l.areas })),
      actions: ACTION_LABELS,
    };
  });
  app.post(base, pre, async (req, reply) =>
    reply.status(201).send({ menu: await editor.createMenu(manage(req), req.body, by(req)) }),
  );
  app.post(`${base}/images`, { ...pre, bodyLimit: 2 * 1024 * 1024 }, async (req, reply) =>
    reply.status(201).send(await editor.uploadImage(manage(req), req.body, by(req))),
  );
  app.get(`${base}/images/:imageId`, pre, async (req, reply) => {
    const image = await editor.image(staff.seen(req), param(req, 'imageId'));
    if (!image) throw new AppError('image_not_found', '画像が見つかりません', 404);
    return reply.header('content-type', image.type).header('cache-control', 'private, max-age=3600').send(image.bytes);
  });
  app.post(`${base}/schedules`, pre, async (req, reply) =>
    reply.status(201).send({ schedule: await editor.addSchedule(manage(req), req.body, by(req)) }),
  );
  app.post(`${base}/schedules/:scheduleId/cancel`, pre, async (req) => ({
    schedule: await editor.cancelSchedule(manage(req), param(req, 'scheduleId'), by(req)),
  }));
  app.get(`${base}/:menuId`, pre, async (req) => {
    const tenantId = staff.seen(req);
    const id = menuId(req);
    return { menu: await editor.menu(tenantId, id), versions: await editor.versions(tenantId, id) };
  });
  app.post(`${base}/:menuId/versions`, pre, async (req, reply) =>
    reply.status(201).send({ version: await editor.saveDraft(manage(req), menuId(req), req.body, by(req)) }),
  );
  app.post(`${base}/:menuId/publish`, pre, async (req, reply) => {
    const { menu } = await editor.publish(manage(req), menuId(req), versionOf(req.body), by(req));
    return reply.status(202).send({ menu });
  });
  app.post(`${base}/:menuId/rollback`, pre, async (req, reply) => {
    const { menu } = await editor.rollback(manage(req), menuId(req), versionOf(req.body), by(req));
    return reply.status(202).send({ menu });
  });
  app.post(`${base}/:menuId/default`, pre, async (req) => ({
    menu: await editor.makeDefault(manage(req), menuId(req), by(req)),
  }));
  app.delete(`${base}/:menuId`, pre, async (req) => {
    await editor.deleteMenu(manage(req), menuId(req), by(req));
    return { ok: true };
  });
  app.put(`${base}/:menuId/audience`, pre, async (req) =>
    editor.setAudience(manage(req), menuId(req), req.body, by(req)),
  );
}
