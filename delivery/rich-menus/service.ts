/**
 * The rich menu editor's service: menus (tabs), versions draft → published, images, publication
 * on LINE (create, image, alias, default, the replaced menu deleted) through the LineQueue, roll
 * back to an earlier version, per-audience menus kept current, scheduled switches. Every change is
 * audited here, by the caller handed in.
 *
 * A tenant that has designed nothing gets its existing default menu (delivery/rich-menu.ts: the way
 * into registration) as the first published version of 基本メニュー, the default.
 */
import { createHash, randomUUID } from 'node:crypto';
import { HTTPFetchError, messagingApi } from '@line/bot-sdk';
import { type AuditContext, AuditLog } from '../../core/audit.ts';
import { type ClickHouseClient, query } from '../../core/clickhouse.ts';
import { AppError } from '../../core/errors.ts';
import { lineBaseUrl, type LineEndpoints } from '../../core/line.ts';
import type { Logger } from '../../core/logger.ts';
import type { Tenant, TenantStore } from '../../core/tenants.ts';
import { chDateTime, nextVersion } from '../../core/time.ts';
import { z } from '../../core/zod.ts';
import { compileCondition, type Condition, conditionSchema } from '../audience.ts';
import type { ResidentStore } from '../residents.ts';
import { type RichMenuService, renderRichMenuImage, richMenuObject } from '../rich-menu.ts';
import {
  type Area,
  checkImage,
  CUSTOM_LAYOUT,
  type Design,
  designSchema,
  type FieldError,
  invalidDesign,
  placeAreas,
  toLineRichMenu,
} from './design.ts';
import { LineQueue, type LineQueueOptions, type Waiting } from './line-queue.ts';

export const BULK_LIMIT = 500;

export interface MenuJob {
  kind: 'publish' | 'link';
  version?: number;
  state: 'queued' | 'running' | 'waiting';
  /** Why it waits, in Japanese. */
  note?: string;
  since: number;
}

export interface Menu {
  menuId: string;
  title: string;
  aliasId: string;
  liveVersion: number;
  lineRichMenuId: string;
  isDefault: boolean;
  audience: Condition | null;
  priority: number;
  job: MenuJob | null;
  updatedBy: string;
  updatedAt: number;
}

export interface MenuVersion {
  version: number;
  design: Design;
  status: 'draft' | 'published' | 'superseded';
  lineRichMenuId: string;
  createdBy: string;
  createdAt: number;
  publishedAt: number | null;
}

export interface Schedule {
  tenantId: string;
  scheduleId: string;
  menuId: string;
  startsAt: number;
  endsAt: number;
  state: 'pending' | 'active' | 'done' | 'cancelled';
  createdBy: string;
}

const menuRow = z.object({
  menu_id: z.string(),
  title: z.string(),
  alias_id: z.string(),
  live_version: z.coerce.number(),
  line_rich_menu_id: z.string(),
  is_default: z.coerce.number(),
  audience: z.string(),
  priority: z.coerce.number(),
  job: z.string(),
  updated_by: z.string(),
  updated_ms: z.coerce.number(),
});
const versionRow = z.object({
  version_no: z.coerce.number(),
  design: z.string(),
  status: z.string(),
  line_rich_menu_id: z.string(),
  created_by: z.string(),
  created_ms: z.coerce.number(),
  published_ms: z.coerce.number().nullable(),
});
const scheduleRow = z.object({
  tenant_id: z.string(),
  schedule_id: z.string(),
  menu_id: z.string(),
  starts_ms: z.coerce.number(),
  ends_ms: z.coerce.number(),
  state: z.string(),
  created_by: z.string(),
});

const menuInputSchema = z
  .object({ title: z.string().trim().min(1, 'タブ名を入力してください').max(40, 'タブ名は 40 文字以内です') })
  .strict();
const audienceInputSchema = z
  .object({
    condition: conditionSchema.nullable(),
    priority: z.number().int().min(0).max(999).default(100),
  })
  .strict();
const scheduleInputSchema = z
  .object({
    menuId: z.string().uuid('メニューを選んでください'),
    startsAt: z.iso.datetime({ offset: true, error: '開始日時を ISO 8601 で指定してください' }),
    endsAt: z.iso.datetime({ offset: true, error: '終了日時を ISO 8601 で指定してください' }),
  })
  .strict();
const imageUploadSchema = z
  .object({
    type: z.string({ error: '画像の種類を指定してください' }),
    data: z.string({ error: '画像を選んでください' }).max(2_000_000, '画像は 1 MB 以下にしてください'),
  })
  .strict();

function parse<S extends z.ZodType>(schema: S, input: unknown, code = 'invalid_rich_menu'): z.output<S> {
  const r = schema.safeParse(input ?? {});
  if (!r.success)
    throw invalidDesign(
      r.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message })),
      code,
    );
  return r.data;
}

export interface EditorDeps {
  ch: ClickHouseClient;
  tenants: TenantStore;
  endpoints: () => LineEndpoints;
  residents: ResidentStore;
  /** The tenant's existing default menu (imported as the first version). */
  legacy: RichMenuService;
  audit?: AuditLog;
  logger?: Logger;
  /** core/resident-shell.ts liffUrl (absent or undefined: the tenant has no LIFF app). */
  liffUrl?: (tenant: Tenant, path: string) => string | undefined;
  /** Time for schedules (ms); tests move it. */
  clock?: () => number;
  queue?: LineQueueOptions;
  /** How often schedules are checked (ms; 0: never by itself — call tick()). */
  tickMs?: number;
}

type Clients = { messaging: messagingApi.MessagingApiClient; blob: messagingApi.MessagingApiBlobClient };

export class RichMenuEditor {
  readonly queue: LineQueue;
  readonly audit: AuditLog;
  readonly #now: () => number;
  #timer?: NodeJS.Timeout;
  /** Tenants known to have audience menus (so a resident's change costs nothing elsewhere). */
  readonly #audienceTenants = new Map<string, boolean>();
  readonly #pendingUsers = new Map<string, Set<string>>();
  #flushTimer?: NodeJS.Timeout;
  readonly #basing = new Map<string, Promise<void>>();
  readonly #saving = new Map<string, Promise<unknown>>();
  #stopped = false;

  constructor(private readonly d: EditorDeps) {
    this.queue = new LineQueue(d.queue);
    this.audit = d.audit ?? new AuditLog(d.ch, d.logger);
    this.#now = d.clock ?? Date.now;
  }

  start(): void {
    const every = this.d.tickMs ?? 15_000;
    if (every > 0) {
      this.#timer = setInterval(() => {
        this.tick().catch((err) => this.d.logger?.warn({ err }, 'rich menu schedules not checked'));
      }, every);
      this.#timer.unref();
    }
    this.d.residents.onChange((tenantId, userId) => this.residentChanged(tenantId, userId));
    this.resumed = this.#resume().catch((err) => this.d.logger?.warn({ err }, 'queued rich menu work not resumed'));
  }

  /** Resolves once publications queued before a restart are queued again. */
  resumed: Promise<void> = Promise.resolve();

  /** Publications that were queued when the process stopped are queued again (each is whole or not at all on LINE). */
  async #resume(): Promise<void> {
    for (const tenant of await this.d.tenants.list()) {
      for (const m of await this.#menus(tenant.id)) {
        if (m.job?.kind !== 'publish' || !m.job.version) continue;
        const version = m.job.version;
        this.queue
          .run(tenant.id, () => this.#publishNow(tenant, m.menuId, version))
          .catch((err) => this.d.logger?.error({ err, tenantId: tenant.id }, 'rich menu not published'));
      }
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    clearTimeout(this.#flushTimer);
    this.queue.stop();
  }

  // ------------------------------------------------------------------ reading

  async menus(tenantId: string): Promise<Menu[]> {
    await this.#ensureBase(tenantId);
    return this.#menus(tenantId);
  }

  async #menus(tenantId: string, menuId = ''): Promise<Menu[]> {
    const rows = await query(this.d.ch, 'rich_menus.menus', { tenant: tenantId, menu: menuId }, menuRow);
    return rows.map((r) => ({
      menuId: r.menu_id,
      title: r.title,
      aliasId: r.alias_id,
      liveVersion: r.live_version,
      lineRichMenuId: r.line_rich_menu_id,
      isDefault: r.is_default === 1,
      audience: r.audience ? (JSON.parse(r.audience) as Condition) : null,
      priority: r.priority,
      job: r.job ? (JSON.parse(r.job) as MenuJob) : null,
      updatedBy: r.updated_by,
      updatedAt: r.updated_ms,
    }));
  }

  async menu(tenantId: string, menuId: string): Promise<Menu> {
    const m = (await this.#menus(tenantId, menuId))[0];
    if (!m) throw new AppError('rich_menu_not_found', 'リッチメニューが見つかりません', 404);
    return m;
  }

  async versions(tenantId: string, menuId: string, version = 0): Promise<MenuVersion[]> {
    const rows = await query(this.d.ch, 'rich_menus.versions', { tenant: tenantId, menu: menuId, version }, versionRow);
    return rows.map((r) => ({
      version: r.version_no,
      design: JSON.parse(r.design) as Design,
      status: r.status as MenuVersion['status'],
      lineRichMenuId: r.line_rich_menu_id,
      createdBy: r.created_by,
      createdAt: r.created_ms,
      publishedAt: r.published_ms,
    }));
  }

  async version(tenantId: string, menuId: string, version: number): Promise<MenuVersion> {
    const v =
      Number.isInteger(version) && version > 0 ? (await this.versions(tenantId, menuId, version))[0] : undefined;
    if (!v) throw new AppError('rich_menu_version_not_found', `版 ${version} が見つかりません`, 404);
    return v;
  }

  async image(tenantId: string, imageId: string): Promise<{ type: string; bytes: Buffer } | undefined> {
    if (!/^[0-9a-f]{64}$/.test(imageId)) return undefined;
    const row = z.object({ content_type: z.string(), data: z.string() });
    const r = (await query(this.d.ch, 'rich_menus.image', { tenant: tenantId, image: imageId }, row))[0];
    return r && { type: r.content_type, bytes: Buffer.from(r.data, 'base64') };
  }

  async schedules(tenantId = ''): Promise<Schedule[]> {
    const rows = await query(this.d.ch, 'rich_menus.schedules', { tenant: tenantId }, scheduleRow);
    return rows.map((r) => ({
      tenantId: r.tenant_id,
      scheduleId: r.schedule_id,
      menuId: r.menu_id,
      startsAt: r.starts_ms,
      endsAt: r.ends_ms,
      state: r.state as Schedule['state'],
      createdBy: r.created_by,
    }));
  }

  /** Residents linked to an audience menu (all menus when menuId is ''). */
  async links(tenantId: string, menuId = '', userId = ''): Promise<Array<{ userId: string; menuId: string }>> {
    const row = z.object({ user_id: z.string(), menu_id: z.string() });
    const rows = await query(this.d.ch, 'rich_menus.links', { tenant: tenantId, menu: menuId, user: userId }, row);
    return rows.map((r) => ({ userId: r.user_id, menuId: r.menu_id }));
  }

  // ------------------------------------------------------------------ changing

  async createMenu(tenantId: string, input: unknown, by: AuditContext): Promise<Menu> {
    await this.d.tenants.require(tenantId);
    await this.#ensureBase(tenantId);
    const v = parse(menuInputSchema, input);
    const existing = await this.#menus(tenantId);
    const menu: Menu = {
      menuId: randomUUID(),
      title: v.title,
      aliasId: '',
      liveVersion: 0,
      lineRichMenuId: '',
      isDefault: existing.length === 0,
      audience: null,
      priority: 100,
      job: null,
      updatedBy: actor(by),
      updatedAt: this.#now(),
    };
    menu.aliasId = `tayori-${menu.menuId.replaceAll('-', '').slice(0, 20)}`;
    await this.audit.by(by, { action: 'rich_menu_created', tenantId, target: menu.menuId, detail: { title: v.title } });
    await this.#putMenu(tenantId, menu);
    return menu;
  }

  /** Checks and keeps an uploaded image (staff only); its id is its SHA-256. */
  async uploadImage(
    tenantId: string,
    input: unknown,
    by: AuditContext,
  ): Promise<{ imageId: string; width: number; height: number; type: string; bytes: number }> {
    await this.d.tenants.require(tenantId);
    const v = parse(imageUploadSchema, input, 'invalid_image');
    const bytes = Buffer.from(v.data, 'base64');
    const info = checkImage(bytes, v.type);
    const imageId = createHash('sha256').update(bytes).digest('hex');
    await this.audit.by(by, {
      action: 'rich_menu_image_uploaded',
      tenantId,
      target: imageId,
      detail: { type: info.type, width: info.width, height: info.height, bytes: bytes.length },
    });
    await this.d.ch.insert({
      table: 'delivery_rich_menu_images',
      format: 'JSONEachRow',
      values: [
        {
          tenant_id: tenantId,
          image_id: imageId,
          content_type: info.type,
          width: info.width,
          height: info.height,
          data: bytes.toString('base64'),
          created_by: actor(by),
          created_at: chDateTime(Date.now()),
        },
      ],
    });
    return { imageId, width: info.width, height: info.height, type: info.type, bytes: bytes.length };
  }

  /** Saves a design as the menu's next version (a draft); saves of one menu run one at a time (version numbers). */
  saveDraft(tenantId: string, menuId: string, input: unknown, by: AuditContext): Promise<MenuVersion> {
    const key = `${tenantId}/${menuId}`;
    const run = (this.#saving.get(key) ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => this.#saveDraft(tenantId, menuId, input, by));
    const tail = run.catch(() => undefined);
    this.#saving.set(key, tail);
    void tail.then(() => {
      if (this.#saving.get(key) === tail) this.#saving.delete(key);
    });
    return run;
  }

  async #saveDraft(tenantId: string, menuId: string, input: unknown, by: AuditContext): Promise<MenuVersion> {
    const menu = await this.menu(tenantId, menuId);
    const v = parse(designSchema, input);
    if (!v.imageId) throw invalidDesign([{ field: 'imageId', message: '画像を登録してください' }]);
    const row = z.object({ content_type: z.string(), width: z.coerce.number(), height: z.coerce.number() });
    const img = (await query(this.d.ch, 'rich_menus.image_info', { tenant: tenantId, image: v.imageId }, row))[0];
    if (!img) throw invalidDesign([{ field: 'imageId', message: '画像が見つかりません。もう一度登録してください' }]);
    const size = { width: img.width, height: img.height };
    const areas = placeAreas(v, size);
    const errors: FieldError[] = [];
    const menus = await this.#menus(tenantId);
    areas.forEach((a, i) => {
      if (a.action.type !== 'switch') return;
      const target = menus.find((m) => m.menuId === (a.action as { menuId: string }).menuId);
      if (!target) errors.push({ field: `areas.${i}.action.menuId`, message: '切り替え先のメニューが見つかりません' });
      else if (target.menuId === menuId)
        errors.push({ field: `areas.${i}.action.menuId`, message: '同じメニューには切り替えられません' });
    });
    if (errors.length) throw invalidDesign(errors);
    const design: Design = {
      name: v.name,
      chatBarText: v.chatBarText,
      layout: v.layout,
      imageId: v.imageId,
      size,
      areas,
    };
    const latest = (await this.versions(tenantId, menuId))[0]?.version ?? 0;
    const version: MenuVersion = {
      version: latest + 1,
      design,
      status: 'draft',
      lineRichMenuId: '',
      createdBy: actor(by),
      createdAt: Date.now(),
      publishedAt: null,
    };
    await this.audit.by(by, {
      action: 'rich_menu_saved',
      tenantId,
      target: menu.menuId,
      detail: { version: version.version, layout: design.layout, areas: design.areas.length },
    });
    await this.#putVersion(tenantId, menuId, version);
    return version;
  }

  /**
   * Publishes a version (a draft, or an earlier one: roll back) on LINE. Checked now (a design LINE
   * would refuse, a tab not yet published, no LIFF app: 400); the LINE work is queued and done in
   * order, waiting out LINE's limits. Resolves with the menu as queued; `done` resolves when applied.
   */
  async publish(
    tenantId: string,
    menuId: string,
    versionNo: number,
    by: AuditContext,
    action: 'rich_menu_published' | 'rich_menu_rolled_back' = 'rich_menu_published',
  ): Promise<{ menu: Menu; done: Promise<Menu> }> {
    const tenant = await this.d.tenants.require(tenantId);
    const menu = await this.menu(tenantId, menuId);
    const version = await this.version(tenantId, menuId, versionNo);
    if (action === 'rich_menu_rolled_back' && version.version === menu.liveVersion)
      throw new AppError('rich_menu_already_live', `版 ${versionNo} はすでに公開中です`, 409);
    const menus = await this.#menus(tenantId);
    // the LINE object, checked before anything is queued
    toLineRichMenu(version.design, this.#lineContext(tenant, menus));
    await this.audit.by(by, {
      action,
      tenantId,
      target: menuId,
      detail: { version: version.version, from: menu.liveVersion },
    });
    const queued = {
      ...menu,
      job: { kind: 'publish', version: version.version, state: 'queued', since: Date.now() } as MenuJob,
    };
    await this.#putMenu(tenantId, queued);
    const done = this.queue.run(tenantId, () => this.#publishNow(tenant, menuId, version.version));
    done.catch((err) => this.d.logger?.error({ err, tenantId, menuId }, 'rich menu not published'));
    return { menu: queued, done };
  }

  async #publishNow(tenant: Tenant, menuId: string, versionNo: number): Promise<Menu> {
    const tenantId = tenant.id;
    let menu = await this.menu(tenantId, menuId);
    const version = await this.version(tenantId, menuId, versionNo);
    const menus = await this.#menus(tenantId);
    const setJob = async (job: MenuJob | null) => {
      menu = { ...menu, job };
      await this.#putMenu(tenantId, menu);
    };
    const onWait = (w: Waiting) =>
      setJob({
        kind: 'publish',
        version: versionNo,
        state: 'waiting',
        since: Date.now(),
        note:
          w.reason === 'unreachable'
            ? `LINE に接続できないため再試行を待っています (${w.operation})`
            : `LINE の回数制限のため待機しています (${w.operation})`,
      });
    try {
      await setJob({ kind: 'publish', version: versionNo, state: 'running', since: Date.now() });
      const object = toLineRichMenu(version.design, this.#lineContext(tenant, menus));
      const image = await this.image(tenantId, version.design.imageId);
      if (!image) throw new AppError('rich_menu_image_missing', '画像が見つかりません', 409);
      const { messaging, blob } = await this.#clients(tenantId);
      const call = <T>(op: string, fn: () => Promise<T>) => this.queue.call(tenantId, op, fn, onWait);
      const lineId = (await call('createRichMenu', () => messaging.createRichMenu(object))).richMenuId;
      try {
        await call('setRichMenuImage', () =>
          blob.setRichMenuImage(lineId, new Blob([new Uint8Array(image.bytes)], { type: image.type })),
        );
        await call('updateRichMenuAlias', async () => {
          try {
            await messaging.updateRichMenuAlias(menu.aliasId, { richMenuId: lineId });
          } catch (err) {
            if (!(err instanceof HTTPFetchError && (err.status === 404 || err.status === 400))) throw err;
            await messaging.createRichMenuAlias({ richMenuAliasId: menu.aliasId, richMenuId: lineId });
          }
        });
        if (await this.#shouldBeDefault(tenantId, menu))
          await call('setDefaultRichMenu', () => messaging.setDefaultRichMenu(lineId));
        // residents linked to this (audience) menu follow it to the new LINE menu
        const linked = (await this.links(tenantId, menuId)).map((l) => l.userId);
        for (let i = 0; i < linked.length; i += BULK_LIMIT) {
          const userIds = linked.slice(i, i + BULK_LIMIT);
          await call('linkRichMenuIdToUsers', () => messaging.linkRichMenuIdToUsers({ richMenuId: lineId, userIds }));
        }
      } catch (err) {
        await messaging.deleteRichMenu(lineId).catch(() => {});
        throw err;
      }
      const before = menu.lineRichMenuId;
      const beforeVersion = menu.liveVersion;
      const now = Date.now();
      await this.#putVersion(tenantId, menuId, {
        ...version,
        status: 'published',
        lineRichMenuId: lineId,
        publishedAt: now,
      });
      if (beforeVersion && beforeVersion !== versionNo) {
        const old = (await this.versions(tenantId, menuId, beforeVersion))[0];
        if (old) await this.#putVersion(tenantId, menuId, { ...old, status: 'superseded' });
      }
      menu = { ...menu, liveVersion: versionNo, lineRichMenuId: lineId, job: null, updatedAt: now };
      await this.#putMenu(tenantId, menu);
      // the replaced LINE menu is cleaned up (already gone: fine)
      if (before && before !== lineId)
        await call('deleteRichMenu', () => messaging.deleteRichMenu(before)).catch((err) => {
          if (!(err instanceof HTTPFetchError && err.status === 404)) throw err;
        });
      this.#audienceTenants.delete(tenantId);
      return menu;
    } catch (err) {
      // stopped: the job stays queued and is resumed at the next start
      if (!this.#stopped) await setJob(null).catch(() => {});
      throw err;
    }
  }

  /**
   * Deletes a tab: its residents unlinked, its alias and LINE menu deleted, its rows marked deleted.
   * Not the default, not a tab another published tab switches to, not one with a switch ahead (409).
   */
  async deleteMenu(tenantId: string, menuId: string, by: AuditContext): Promise<void> {
    const menu = await this.menu(tenantId, menuId);
    if (menu.isDefault) throw new AppError('rich_menu_is_default', '既定のメニューは削除できません', 409);
    const menus = await this.#menus(tenantId);
    for (const m of menus) {
      if (m.menuId === menuId || !m.liveVersion) continue;
      const live = (await this.versions(tenantId, m.menuId, m.liveVersion))[0];
      if (live?.design.areas.some((a) => a.action.type === 'switch' && a.action.menuId === menuId))
        throw new AppError(
          'rich_menu_in_use',
          `「${m.title}」のエリアがこのタブに切り替えます。先にそのエリアを変えて公開してください`,
          409,
        );
    }
    if (
      (await this.schedules(tenantId)).some(
        (s) => s.menuId === menuId && (s.state === 'pending' || s.state === 'active'),
      )
    )
      throw new AppError(
        'rich_menu_scheduled',
        'このタブへの切り替えが予約されています。先に予約を取り消してください',
        409,
      );
    await this.audit.by(by, { action: 'rich_menu_deleted', tenantId, target: menuId, detail: { title: menu.title } });
    await this.queue.run(tenantId, async () => {
      const { messaging } = await this.#clients(tenantId);
      const linked = (await this.links(tenantId, menuId)).map((l) => l.userId);
      for (let i = 0; i < linked.length; i += BULK_LIMIT) {
        const userIds = linked.slice(i, i + BULK_LIMIT);
        await this.queue.call(tenantId, 'unlinkRichMenuIdFromUsers', () =>
          messaging.unlinkRichMenuIdFromUsers({ userIds }),
        );
        await this.#putLinks(
          tenantId,
          userIds.map((u) => ({ userId: u, menuId: '' })),
        );
      }
      const gone = (err: unknown) => {
        if (!(err instanceof HTTPFetchError && err.status === 404)) throw err;
      };
      if (menu.liveVersion) {
        await this.queue
          .call(tenantId, 'deleteRichMenuAlias', () => messaging.deleteRichMenuAlias(menu.aliasId))
          .catch(gone);
        await this.queue
          .call(tenantId, 'deleteRichMenu', () => messaging.deleteRichMenu(menu.lineRichMenuId))
          .catch(gone);
      }
      await this.#putMenu(tenantId, { ...menu, audience: null, job: null }, true);
      this.#audienceTenants.delete(tenantId);
    });
  }

  /** Rolls a menu back to an earlier version in one step (published again on LINE). */
  rollback(tenantId: string, menuId: string, versionNo: number, by: AuditContext) {
    return this.publish(tenantId, menuId, versionNo, by, 'rich_menu_rolled_back');
  }

  /** Makes a published menu the channel's default (what residents without an audience menu see). */
  async makeDefault(tenantId: string, menuId: string, by: AuditContext): Promise<Menu> {
    const menu = await this.menu(tenantId, menuId);
    if (!menu.liveVersion)
      throw new AppError('rich_menu_not_published', '公開していないメニューは既定にできません', 409);
    if (menu.audience)
      throw new AppError(
        'rich_menu_has_audience',
        'セグメントに結び付けたメニューは既定にできません。先に結び付けをやめてください',
        409,
      );
    await this.audit.by(by, { action: 'rich_menu_default_changed', tenantId, target: menuId });
    const active = (await this.schedules(tenantId)).some((s) => s.state === 'active');
    await this.queue.run(tenantId, async () => {
      if (!active) {
        const { messaging } = await this.#clients(tenantId);
        await this.queue.call(tenantId, 'setDefaultRichMenu', () => messaging.setDefaultRichMenu(menu.lineRichMenuId));
      }
      for (const m of await this.#menus(tenantId))
        if (m.isDefault !== (m.menuId === menuId))
          await this.#putMenu(tenantId, { ...m, isDefault: m.menuId === menuId });
    });
    return this.menu(tenantId, menuId);
  }

  /** Links a menu to a segment (null: no longer); every resident is relinked (bulk, 500 a call). */
  async setAudience(
    tenantId: string,
    menuId: string,
    input: unknown,
    by: AuditContext,
  ): Promise<{ menu: Menu; linked: number; unlinked: number }> {
    const menu = await this.menu(tenantId, menuId);
    const v = parse(audienceInputSchema, input, 'invalid_audience');
    if (v.condition) compileCondition(v.condition);
    if (v.condition && !menu.liveVersion)
      throw new AppError('rich_menu_not_published', '公開していないメニューは配信対象に結び付けられません', 409);
    if (v.condition && menu.isDefault)
      throw new AppError(
        'rich_menu_is_default',
        '既定のメニューは全員に表示されます。別のメニューを選んでください',
        409,
      );
    await this.audit.by(by, {
      action: 'rich_menu_audience_changed',
      tenantId,
      target: menuId,
      detail: { condition: v.condition, priority: v.priority },
    });
    await this.#putMenu(tenantId, { ...menu, audience: v.condition, priority: v.priority });
    this.#audienceTenants.delete(tenantId);
    const counts = await this.queue.run(tenantId, () => this.#relinkAll(tenantId));
    return { menu: await this.menu(tenantId, menuId), ...counts };
  }

  /** Audience menus in force: none while a scheduled switch is active (the switched menu is for everyone). */
  async #audienceMenus(tenantId: string): Promise<Menu[]> {
    if ((await this.schedules(tenantId)).some((s) => s.state === 'active')) return [];
    return (await this.#menus(tenantId)).filter((m) => m.audience && m.liveVersion).sort(byPriority);
  }

  /** Which audience menu each friend should see, against who is linked now: the differences sent in bulk. */
  async #relinkAll(tenantId: string): Promise<{ linked: number; unlinked: number }> {
    const menus = await this.#audienceMenus(tenantId);
    const want = new Map<string, Menu>();
    for (const m of menus) for (const u of await this.#members(tenantId, m.audience!)) if (!want.has(u)) want.set(u, m);
    const have = new Map((await this.links(tenantId)).map((l) => [l.userId, l.menuId]));
    const toLink = new Map<string, string[]>();
    for (const [u, m] of want) if (have.get(u) !== m.menuId) toLink.set(m.menuId, [...(toLink.get(m.menuId) ?? []), u]);
    const toUnlink = [...have.keys()].filter((u) => !want.has(u));
    const { messaging } = await this.#clients(tenantId);
    let linked = 0;
    for (const [menuId, users] of toLink) {
      const m = menus.find((x) => x.menuId === menuId)!;
      for (let i = 0; i < users.length; i += BULK_LIMIT) {
        const userIds = users.slice(i, i + BULK_LIMIT);
        await this.queue.call(tenantId, 'linkRichMenuIdToUsers', () =>
          messaging.linkRichMenuIdToUsers({ richMenuId: m.lineRichMenuId, userIds }),
        );
        await this.#putLinks(
          tenantId,
          userIds.map((u) => ({ userId: u, menuId })),
        );
        linked += userIds.length;
      }
    }
    for (let i = 0; i < toUnlink.length; i += BULK_LIMIT) {
      const userIds = toUnlink.slice(i, i + BULK_LIMIT);
      await this.queue.call(tenantId, 'unlinkRichMenuIdFromUsers', () =>
        messaging.unlinkRichMenuIdFromUsers({ userIds }),
      );
      await this.#putLinks(
        tenantId,
        userIds.map((u) => ({ userId: u, menuId: '' })),
      );
    }
    return { linked, unlinked: toUnlink.length };
  }

  async #members(tenantId: string, condition: Condition, userId = ''): Promise<string[]> {
    const c = compileCondition(condition);
    const rows = await query(
      this.d.ch,
      'rich_menus.segment_members',
      { tenant: tenantId, user: userId, ...c.params },
      z.object({ user_id: z.string() }),
      { segment: c.sql },
    );
    return rows.map((r) => r.user_id);
  }

  /** A resident registered or changed their attributes (or followed): their audience menu is made current. */
  residentChanged(tenantId: string, userId: string): void {
    if (this.#audienceTenants.get(tenantId) === false) return;
    let set = this.#pendingUsers.get(tenantId);
    if (!set) this.#pendingUsers.set(tenantId, (set = new Set()));
    set.add(userId);
    this.#flushTimer ??= setTimeout(() => {
      this.#flushTimer = undefined;
      void this.#flushResidents();
    }, 50);
  }

  async #flushResidents(): Promise<void> {
    const pending = [...this.#pendingUsers];
    this.#pendingUsers.clear();
    for (const [tenantId, users] of pending) {
      await this.queue
        .run(tenantId, () => this.#relinkUsers(tenantId, [...users]))
        .catch((err) => this.d.logger?.warn({ err, tenantId }, 'rich menu links not updated'));
    }
  }

  /** Resolves once residents' changes seen so far are applied on LINE. */
  async settled(): Promise<void> {
    while (this.#flushTimer || this.#pendingUsers.size) await new Promise((r) => setTimeout(r, 20));
    await this.queue.idle();
  }

  async #relinkUsers(tenantId: string, userIds: string[]): Promise<void> {
    const any = (await this.#menus(tenantId)).some((m) => m.audience && m.liveVersion);
    this.#audienceTenants.set(tenantId, any);
    const menus = any ? await this.#audienceMenus(tenantId) : [];
    if (!menus.length) return;
    const { messaging } = await this.#clients(tenantId);
    for (const userId of userIds) {
      let want: Menu | undefined;
      for (const m of menus) {
        if ((await this.#members(tenantId, m.audience!, userId)).length) {
          want = m;
          break;
        }
      }
      const have = (await this.links(tenantId, '', userId))[0]?.menuId;
      if (want && have !== want.menuId) {
        await this.queue.call(tenantId, 'linkRichMenuIdToUser', () =>
          messaging.linkRichMenuIdToUser(userId, want.lineRichMenuId),
        );
        await this.#putLinks(tenantId, [{ userId, menuId: want.menuId }]);
      } else if (!want && have) {
        await this.queue.call(tenantId, 'unlinkRichMenuIdFromUser', () => messaging.unlinkRichMenuIdFromUser(userId));
        await this.#putLinks(tenantId, [{ userId, menuId: '' }]);
      }
    }
  }

  // ------------------------------------------------------------------ scheduled switches

  async addSchedule(tenantId: string, input: unknown, by: AuditContext): Promise<Schedule> {
    const v = parse(scheduleInputSchema, input, 'invalid_schedule');
    const startsAt = Date.parse(v.startsAt);
    const endsAt = Date.parse(v.endsAt);
    if (endsAt <= startsAt)
      throw invalidDesign([{ field: 'endsAt', message: '終了日時は開始日時より後にしてください' }], 'invalid_schedule');
    if (endsAt <= this.#now())
      throw invalidDesign([{ field: 'endsAt', message: '終了日時が過ぎています' }], 'invalid_schedule');
    const menu = await this.menu(tenantId, v.menuId);
    if (!menu.liveVersion)
      throw new AppError('rich_menu_not_published', '公開していないメニューは切り替えの予約ができません', 409);
    const overlapping = (await this.schedules(tenantId)).find(
      (s) => (s.state === 'pending' || s.state === 'active') && s.startsAt < endsAt && startsAt < s.endsAt,
    );
    if (overlapping)
      throw new AppError('rich_menu_schedule_overlaps', 'この期間には別の切り替えが予約されています', 409);
    const s: Schedule = {
      tenantId,
      scheduleId: randomUUID(),
      menuId: menu.menuId,
      startsAt,
      endsAt,
      state: 'pending',
      createdBy: actor(by),
    };
    await this.audit.by(by, {
      action: 'rich_menu_schedule_added',
      tenantId,
      target: s.scheduleId,
      detail: { menuId: s.menuId, startsAt: v.startsAt, endsAt: v.endsAt },
    });
    await this.#putSchedule(tenantId, s);
    await this.tick();
    return s;
  }

  async cancelSchedule(tenantId: string, scheduleId: string, by: AuditContext): Promise<Schedule> {
    const s = (await this.schedules(tenantId)).find((x) => x.scheduleId === scheduleId);
    if (!s) throw new AppError('rich_menu_schedule_not_found', '予約が見つかりません', 404);
    if (s.state === 'done' || s.state === 'cancelled')
      throw new AppError('rich_menu_schedule_over', 'この予約はすでに終わっています', 409);
    await this.audit.by(by, { action: 'rich_menu_schedule_cancelled', tenantId, target: scheduleId });
    const wasActive = s.state === 'active';
    const next = { ...s, state: 'cancelled' as const };
    await this.queue.run(tenantId, async () => {
      if (wasActive) await this.#restoreDefault(tenantId);
      await this.#putSchedule(tenantId, next);
      if (wasActive) await this.#relinkAll(tenantId);
    });
    return next;
  }

  /** Starts and ends scheduled switches that are due by the clock. */
  async tick(): Promise<void> {
    const now = this.#now();
    for (const s of await this.schedules()) {
      const tenantId = s.tenantId;
      if ((s.state === 'pending' || s.state === 'active') && s.endsAt <= now) {
        await this.queue.run(tenantId, async () => {
          if (s.state === 'active') await this.#restoreDefault(tenantId);
          await this.#putSchedule(tenantId, { ...s, state: 'done' });
          // audience menus again
          if (s.state === 'active') await this.#relinkAll(tenantId);
        });
      } else if (s.state === 'pending' && s.startsAt <= now) {
        await this.queue.run(tenantId, async () => {
          const menu = await this.menu(tenantId, s.menuId);
          const { messaging } = await this.#clients(tenantId);
          await this.queue.call(tenantId, 'setDefaultRichMenu', () =>
            messaging.setDefaultRichMenu(menu.lineRichMenuId),
          );
          await this.#putSchedule(tenantId, { ...s, state: 'active' });
          // the switched menu is for everyone: residents linked to audience menus are unlinked meanwhile
          await this.#relinkAll(tenantId);
        });
      }
    }
  }

  async #restoreDefault(tenantId: string): Promise<void> {
    const def = (await this.#menus(tenantId)).find((m) => m.isDefault && m.liveVersion);
    const { messaging } = await this.#clients(tenantId);
    if (def)
      await this.queue.call(tenantId, 'setDefaultRichMenu', () => messaging.setDefaultRichMenu(def.lineRichMenuId));
    else await this.queue.call(tenantId, 'cancelDefaultRichMenu', () => messaging.cancelDefaultRichMenu());
  }

  async #shouldBeDefault(tenantId: string, menu: Menu): Promise<boolean> {
    const active = (await this.schedules(tenantId)).find((s) => s.state === 'active');
    return active ? active.menuId === menu.menuId : menu.isDefault;
  }

  // ------------------------------------------------------------------ the existing default menu

  /** A tenant without menus gets 基本メニュー: its applied default menu as version 1 (published), or a draft of it. */
  #ensureBase(tenantId: string): Promise<void> {
    let p = this.#basing.get(tenantId);
    if (!p) {
      p = this.#makeBase(tenantId).finally(() => this.#basing.delete(tenantId));
      this.#basing.set(tenantId, p);
    }
    return p;
  }

  async #makeBase(tenantId: string): Promise<void> {
    if ((await this.#menus(tenantId)).length) return;
    const tenant = await this.d.tenants.require(tenantId);
    const applied = await this.d.legacy.applied(tenantId);
    const menuId = randomUUID();
    const png = renderRichMenuImage(tenant.name);
    const imageId = createHash('sha256').update(png).digest('hex');
    await this.d.ch.insert({
      table: 'delivery_rich_menu_images',
      format: 'JSONEachRow',
      values: [
        {
          tenant_id: tenantId,
          image_id: imageId,
          content_type: 'image/png',
          width: 2500,
          height: 843,
          data: png.toString('base64'),
          created_by: 'tayori',
          created_at: chDateTime(Date.now()),
        },
      ],
    });
    const object = richMenuObject(
      tenant.name,
      applied?.newsUrl ?? 'https://example.invalid/',
      applied?.contactUrl ?? 'https://example.invalid/',
    );
    const areas: Area[] = (object.areas ?? []).map((a, i) => ({
      label: String((a.action as { label?: string }).label ?? ''),
      bounds: a.bounds as Area['bounds'],
      action:
        i === 0
          ? { type: 'registration' }
          : { type: 'uri', uri: i === 1 ? (applied?.newsUrl ?? '') : (applied?.contactUrl ?? '') },
    }));
    const design: Design = {
      name: object.name ?? tenant.name,
      chatBarText: object.chatBarText ?? 'メニュー',
      layout: 'compact-3',
      imageId,
      size: { width: 2500, height: 843 },
      areas,
    };
    const now = Date.now();
    await this.#putVersion(tenantId, menuId, {
      version: 1,
      design,
      status: applied ? 'published' : 'draft',
      lineRichMenuId: applied?.richMenuId ?? '',
      createdBy: 'tayori',
      createdAt: applied?.appliedAt ?? now,
      publishedAt: applied?.appliedAt ?? null,
    });
    await this.#putMenu(tenantId, {
      menuId,
      title: '基本メニュー',
      aliasId: `tayori-${menuId.replaceAll('-', '').slice(0, 20)}`,
      liveVersion: applied ? 1 : 0,
      lineRichMenuId: applied?.richMenuId ?? '',
      isDefault: true,
      audience: null,
      priority: 100,
      job: null,
      updatedBy: 'tayori',
      updatedAt: now,
    });
  }

  // ------------------------------------------------------------------ rows

  #lineContext(tenant: Tenant, menus: Menu[]) {
    return {
      liffUrl: (path: string) => this.d.liffUrl?.(tenant, path),
      aliasOf: (menuId: string) => {
        const m = menus.find((x) => x.menuId === menuId && x.liveVersion > 0);
        return m && { aliasId: m.aliasId, title: m.title };
      },
    };
  }

  async #putMenu(tenantId: string, m: Menu, deleted = false): Promise<void> {
    await this.d.ch.insert({
      table: 'delivery_rich_menu_menus',
      format: 'JSONEachRow',
      values: [
        {
          tenant_id: tenantId,
          menu_id: m.menuId,
          title: m.title,
          alias_id: m.aliasId,
          live_version: m.liveVersion,
          line_rich_menu_id: m.lineRichMenuId,
          is_default: m.isDefault ? 1 : 0,
          audience: m.audience ? JSON.stringify(m.audience) : '',
          priority: m.priority,
          job: m.job ? JSON.stringify(m.job) : '',
          updated_by: m.updatedBy,
          updated_at: chDateTime(Date.now()),
          row_version: nextVersion(),
          is_deleted: deleted ? 1 : 0,
        },
      ],
    });
  }

  async #putVersion(tenantId: string, menuId: string, v: MenuVersion): Promise<void> {
    await this.d.ch.insert({
      table: 'delivery_rich_menu_versions',
      format: 'JSONEachRow',
      values: [
        {
          tenant_id: tenantId,
          menu_id: menuId,
          version_no: v.version,
          design: JSON.stringify(v.design),
          status: v.status,
          line_rich_menu_id: v.lineRichMenuId,
          created_by: v.createdBy,
          created_at: chDateTime(v.createdAt),
          published_at: v.publishedAt === null ? null : chDateTime(v.publishedAt),
          row_version: nextVersion(),
        },
      ],
    });
  }

  async #putLinks(tenantId: string, links: Array<{ userId: string; menuId: string }>): Promise<void> {
    const at = chDateTime(Date.now());
    await this.d.ch.insert({
      table: 'delivery_rich_menu_links',
      format: 'JSONEachRow',
      values: links.map((l) => ({
        tenant_id: tenantId,
        user_id: l.userId,
        menu_id: l.menuId,
        linked_at: at,
        row_version: nextVersion(),
        is_deleted: l.menuId ? 0 : 1,
      })),
    });
  }

  async #putSchedule(tenantId: string, s: Schedule): Promise<void> {
    await this.d.ch.insert({
      table: 'delivery_rich_menu_schedules',
      format: 'JSONEachRow',
      values: [
        {
          tenant_id: tenantId,
          schedule_id: s.scheduleId,
          menu_id: s.menuId,
          starts_at: chDateTime(s.startsAt),
          ends_at: chDateTime(s.endsAt),
          state: s.state,
          created_by: s.createdBy,
          row_version: nextVersion(),
          is_deleted: 0,
        },
      ],
    });
  }

  async #clients(tenantId: string): Promise<Clients> {
    const creds = await this.d.tenants.credentials(tenantId);
    const baseURL = lineBaseUrl(creds, this.d.endpoints());
    return {
      messaging: new messagingApi.MessagingApiClient({ channelAccessToken: creds.channelAccessToken, baseURL }),
      blob: new messagingApi.MessagingApiBlobClient({
        channelAccessToken: creds.channelAccessToken,
        baseURL: baseURL.replace(/^https:\/\/api\.line\.me(?=\/|$)/, 'https://api-data.line.me'),
      }),
    };
  }
}

const byPriority = (a: Menu, b: Menu) => a.priority - b.priority || a.title.localeCompare(b.title);

function actor(by: AuditContext): string {
  return by.actor.kind === 'staff' ? by.actor.username : 'operator';
}

export { CUSTOM_LAYOUT };
