/**
 * Rich menus: create / validate / get / list / delete, upload and download the image, set, get and
 * cancel the default (the menu every friend sees). Bodies arrive validated against the OpenAPI
 * schema (RichMenuRequest); the rules LINE documents beyond it are checked here:
 *
 * - size: width 800–2500 px, height ≥ 250 px, width ÷ height ≥ 1.45; selected, name (≤ 300),
 *   chatBarText (≤ 14) and areas (≤ 20) required;
 * - every area has bounds inside the menu and an action: postback (data ≤ 300, displayText ≤ 300),
 *   message (text ≤ 300), uri (≤ 1000, http/https/line/tel), datetimepicker, richmenuswitch;
 *   labels ≤ 20;
 * - the image: image/png or image/jpeg (else 415), at most 1 MB (else 413), exactly the menu's
 *   size, uploaded once; a menu without its image cannot be the default;
 * - at most 1,000 menus per channel.
 *
 * Aliases (create / get / update / delete / list; id `^[a-z0-9_-]{1,32}$`, at most 1,000 per
 * channel, the menu must exist and have its image), per-user links (link / unlink / get), bulk
 * link and unlink (1–500 user IDs a call, answered 202). Deleting a menu unlinks its users.
 *
 * A resident sees the menu linked to them, else the default; tapping a `richmenuswitch` area shows
 * the alias's menu to that resident (as the LINE app does, until a link or the default changes)
 * and sends a postback with `params.newRichMenuAliasId` and `params.status` (SUCCESS or
 * RICHMENU_ALIAS_ID_NOTFOUND). Test hook `{"type": "richMenu", "area": n}` taps an area; a postback
 * or message area becomes that event, as from the LINE app; rich-menu-page.ts draws the menu a
 * resident sees with clickable areas.
 */
import { randomBytes } from 'node:crypto';
import type { LineErrorDetail } from '../openapi.ts';
import type { Handler } from './context.ts';
import { invalidRequestBody, LineApiError, notFound } from './errors.ts';

export const MAX_RICH_MENUS = 1000;
export const MAX_ALIASES = 1000;
export const MAX_BULK_USERS = 500;
const MAX_IMAGE_BYTES = 1024 * 1024;

export interface RichMenuArea {
  bounds: { x: number; y: number; width: number; height: number };
  action: Record<string, unknown> & { type: string };
}

export interface RichMenu {
  size: { width: number; height: number };
  selected: boolean;
  name: string;
  chatBarText: string;
  areas: RichMenuArea[];
}

interface Stored {
  richMenuId: string;
  menu: RichMenu;
  image?: { contentType: string; bytes: Buffer };
}

/** Every channel's rich menus, default menu, aliases and per-user links. */
export class RichMenuBook {
  private readonly menus = new Map<string, Map<string, Stored>>();
  private readonly defaults = new Map<string, string>();
  private readonly aliasMaps = new Map<string, Map<string, string>>();
  private readonly links = new Map<string, Map<string, string>>();
  /** What a richmenuswitch tap made the LINE app show a resident (until a link or the default changes). */
  private readonly switched = new Map<string, Map<string, string>>();

  private map<V>(m: Map<string, Map<string, V>>, channelId: string): Map<string, V> {
    let x = m.get(channelId);
    if (!x) m.set(channelId, (x = new Map()));
    return x;
  }

  aliases(channelId: string): Map<string, string> {
    return this.map(this.aliasMaps, channelId);
  }

  /** The menu linked to a user (per-user link), if any. */
  linkedTo(channelId: string, userId: string): string | undefined {
    return this.links.get(channelId)?.get(userId);
  }

  link(channelId: string, userId: string, richMenuId: string): void {
    this.map(this.links, channelId).set(userId, richMenuId);
    this.switched.get(channelId)?.delete(userId);
  }

  unlink(channelId: string, userId: string): void {
    this.links.get(channelId)?.delete(userId);
    this.switched.get(channelId)?.delete(userId);
  }

  /** A richmenuswitch tap: the app shows this menu to the user. */
  switchTo(channelId: string, userId: string, richMenuId: string): void {
    this.map(this.switched, channelId).set(userId, richMenuId);
  }

  private of(channelId: string): Map<string, Stored> {
    let m = this.menus.get(channelId);
    if (!m) this.menus.set(channelId, (m = new Map()));
    return m;
  }

  create(channelId: string, menu: RichMenu): string {
    const m = this.of(channelId);
    if (m.size >= MAX_RICH_MENUS)
      throw new LineApiError(400, { message: `The number of rich menus has reached the limit (${MAX_RICH_MENUS})` });
    const richMenuId = `richmenu-${randomBytes(16).toString('hex')}`;
    m.set(richMenuId, { richMenuId, menu: structuredClone(menu) });
    return richMenuId;
  }

  get(channelId: string, richMenuId: string): Stored | undefined {
    return this.menus.get(channelId)?.get(richMenuId);
  }

  list(channelId: string): Stored[] {
    return [...this.of(channelId).values()];
  }

  delete(channelId: string, richMenuId: string): boolean {
    if (this.defaults.get(channelId) === richMenuId) this.defaults.delete(channelId);
    for (const m of [this.links.get(channelId), this.switched.get(channelId)])
      for (const [user, id] of m ?? []) if (id === richMenuId) m!.delete(user);
    return this.of(channelId).delete(richMenuId);
  }

  setDefault(channelId: string, richMenuId: string): void {
    this.defaults.set(channelId, richMenuId);
    this.#forgetSwitchesOfUnlinked(channelId);
  }

  cancelDefault(channelId: string): void {
    this.defaults.delete(channelId);
    this.#forgetSwitchesOfUnlinked(channelId);
  }

  #forgetSwitchesOfUnlinked(channelId: string): void {
    const sw = this.switched.get(channelId);
    for (const user of sw?.keys() ?? []) if (!this.linkedTo(channelId, user)) sw!.delete(user);
  }

  defaultId(channelId: string): string | undefined {
    return this.defaults.get(channelId);
  }

  /** The menu a friend sees: one a switch showed, else the one linked to them, else the default. */
  shownTo(channelId: string, userId?: string): Stored | undefined {
    const id =
      (userId !== undefined
        ? (this.switched.get(channelId)?.get(userId) ?? this.linkedTo(channelId, userId))
        : undefined) ?? this.defaults.get(channelId);
    return id === undefined ? undefined : this.get(channelId, id);
  }
}

/** LINE's documented rules for a rich menu object beyond the OpenAPI schema. */
export function checkRichMenu(body: Record<string, any>): LineErrorDetail[] {
  const d: LineErrorDetail[] = [];
  const need = (v: unknown, property: string) => {
    if (v === undefined || v === null) d.push({ message: 'must be specified', property });
    return v !== undefined && v !== null;
  };
  const length = (v: unknown, max: number, property: string, min = 0) => {
    if (typeof v === 'string' && (v.length < min || v.length > max))
      d.push({ message: `Length must be between ${min} and ${max}`, property });
  };
  if (need(body.size, 'size')) {
    const { width, height } = body.size as { width?: number; height?: number };
    if (need(width, 'size.width') && need(height, 'size.height')) {
      if (width! < 800 || width! > 2500) d.push({ message: 'must be between 800 and 2500', property: 'size.width' });
      if (height! < 250) d.push({ message: 'must be greater than or equal to 250', property: 'size.height' });
      if (width! / height! < 1.45)
        d.push({ message: 'The aspect ratio (width / height) must be at least 1.45', property: 'size' });
    }
  }
  need(body.selected, 'selected');
  if (need(body.name, 'name')) length(body.name, 300, 'name', 1);
  if (need(body.chatBarText, 'chatBarText')) length(body.chatBarText, 14, 'chatBarText', 1);
  if (!need(body.areas, 'areas')) return d;
  const areas = body.areas as Array<Record<string, any>>;
  if (areas.length > 20) d.push({ message: 'Size must be between 0 and 20', property: 'areas' });
  areas.forEach((area, i) => {
    const at = `areas[${i}]`;
    if (need(area.bounds, `${at}.bounds`)) {
      const b = area.bounds as Record<string, number | undefined>;
      const complete = ['x', 'y', 'width', 'height'].every((k) => need(b[k], `${at}.bounds.${k}`));
      const size = body.size as { width?: number; height?: number } | undefined;
      if (complete && size?.width && size.height && (b.x! + b.width! > size.width || b.y! + b.height! > size.height)) {
        d.push({ message: 'The area must be inside the rich menu', property: `${at}.bounds` });
      }
    }
    if (!need(area.action, `${at}.action`)) return;
    const a = area.action as Record<string, any>;
    const p = `${at}.action`;
    length(a.label, 20, `${p}.label`);
    switch (a.type) {
      case 'postback':
        if (need(a.data, `${p}.data`)) length(a.data, 300, `${p}.data`, 1);
        length(a.displayText, 300, `${p}.displayText`);
        break;
      case 'message':
        if (need(a.text, `${p}.text`)) length(a.text, 300, `${p}.text`, 1);
        break;
      case 'uri':
        if (need(a.uri, `${p}.uri`)) {
          length(a.uri, 1000, `${p}.uri`, 1);
          if (typeof a.uri === 'string' && !/^(https?|line|tel):/i.test(a.uri))
            d.push({ message: 'must be an http, https, line or tel URI', property: `${p}.uri` });
        }
        break;
      case 'datetimepicker':
        if (need(a.data, `${p}.data`)) length(a.data, 300, `${p}.data`, 1);
        need(a.mode, `${p}.mode`);
        break;
      case 'richmenuswitch':
        need(a.richMenuAliasId, `${p}.richMenuAliasId`);
        if (need(a.data, `${p}.data`)) length(a.data, 300, `${p}.data`, 1);
        break;
      default:
        d.push({ message: 'This action type is not allowed in a rich menu', property: `${p}.type` });
    }
  });
  return d;
}

/** Width and height of a PNG or JPEG, from its header; undefined when it is neither. */
export function imageSize(
  bytes: Buffer,
): { type: 'image/png' | 'image/jpeg'; width: number; height: number } | undefined {
  if (bytes.length >= 24 && bytes.readUInt32BE(0) === 0x89504e47 && bytes.toString('latin1', 12, 16) === 'IHDR') {
    return { type: 'image/png', width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
  }
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8) {
    let p = 2;
    while (p + 9 < bytes.length) {
      if (bytes[p] !== 0xff) return undefined;
      const marker = bytes[p + 1]!;
      const len = bytes.readUInt16BE(p + 2);
      // SOF0…SOF15 except DHT (C4), JPG (C8), DAC (CC)
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { type: 'image/jpeg', height: bytes.readUInt16BE(p + 5), width: bytes.readUInt16BE(p + 7) };
      }
      p += 2 + len;
    }
  }
  return undefined;
}

const stored = (ctx: Parameters<Handler>[0]): Stored => {
  const s = ctx.state.richMenus.get(ctx.channel.config.channelId, ctx.params.richMenuId!);
  if (!s) throw notFound();
  return s;
};

const response = (s: Stored) => ({ richMenuId: s.richMenuId, ...s.menu });

const toMenu = (body: Record<string, any>): RichMenu => ({
  size: { width: body.size.width, height: body.size.height },
  selected: body.selected,
  name: body.name,
  chatBarText: body.chatBarText,
  areas: body.areas,
});

const createRichMenu: Handler = (ctx) => {
  const details = checkRichMenu(ctx.body);
  if (details.length) throw invalidRequestBody(details);
  return {
    status: 200,
    body: { richMenuId: ctx.state.richMenus.create(ctx.channel.config.channelId, toMenu(ctx.body)) },
  };
};

const validateRichMenuObject: Handler = (ctx) => {
  const details = checkRichMenu(ctx.body);
  if (details.length) throw invalidRequestBody(details);
  return { status: 200, body: {} };
};

const getRichMenu: Handler = (ctx) => ({ status: 200, body: response(stored(ctx)) });

const getRichMenuList: Handler = (ctx) => ({
  status: 200,
  body: { richmenus: ctx.state.richMenus.list(ctx.channel.config.channelId).map(response) },
});

const deleteRichMenu: Handler = (ctx) => {
  stored(ctx);
  ctx.state.richMenus.delete(ctx.channel.config.channelId, ctx.params.richMenuId!);
  return { status: 200, body: {} };
};

const setRichMenuImage: Handler = (ctx) => {
  const s = stored(ctx);
  const contentType = (ctx.contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (contentType !== 'image/png' && contentType !== 'image/jpeg') {
    throw new LineApiError(415, {
      message: `The content type, ${contentType || '(none)'}, is not supported (image/jpeg or image/png)`,
    });
  }
  const bytes = ctx.raw ?? Buffer.alloc(0);
  if (bytes.length > MAX_IMAGE_BYTES) throw new LineApiError(413, { message: 'The image must be 1 MB or smaller' });
  const image = imageSize(bytes);
  if (!image || image.type !== contentType)
    throw new LineApiError(400, {
      message: `The image is not a valid ${contentType === 'image/png' ? 'PNG' : 'JPEG'} file`,
    });
  if (image.width !== s.menu.size.width || image.height !== s.menu.size.height) {
    throw new LineApiError(400, {
      message: `The image size (${image.width}x${image.height}) must match the rich menu size (${s.menu.size.width}x${s.menu.size.height})`,
    });
  }
  if (s.image) throw new LineApiError(400, { message: 'An image has already been uploaded to the richmenu' });
  s.image = { contentType, bytes: Buffer.from(bytes) };
  return { status: 200, body: {} };
};

const getRichMenuImage: Handler = (ctx) => {
  const s = stored(ctx);
  if (!s.image) throw notFound();
  return { status: 200, body: undefined, raw: s.image };
};

const setDefaultRichMenu: Handler = (ctx) => {
  const s = stored(ctx);
  if (!s.image) throw new LineApiError(400, { message: 'must upload richmenu image before applying it to user' });
  ctx.state.richMenus.setDefault(ctx.channel.config.channelId, s.richMenuId);
  return { status: 200, body: {} };
};

const getDefaultRichMenuId: Handler = (ctx) => {
  const id = ctx.state.richMenus.defaultId(ctx.channel.config.channelId);
  if (!id) throw new LineApiError(404, { message: 'no default richmenu' });
  return { status: 200, body: { richMenuId: id } };
};

const cancelDefaultRichMenu: Handler = (ctx) => {
  ctx.state.richMenus.cancelDefault(ctx.channel.config.channelId);
  return { status: 200, body: {} };
};

const USER_ID = /^U[0-9a-f]{32}$/;
const ALIAS_ID = /^[a-z0-9_-]{1,32}$/;

/** A menu that may be shown to users: it exists (400 otherwise, as LINE answers) and has its image. */
const linkable = (ctx: Parameters<Handler>[0], richMenuId: string, notFoundStatus = 400): Stored => {
  const s = ctx.state.richMenus.get(ctx.channel.config.channelId, richMenuId);
  if (!s) throw new LineApiError(notFoundStatus, { message: 'richmenu not found' });
  if (!s.image) throw new LineApiError(400, { message: 'must upload richmenu image before applying it to user' });
  return s;
};

const checkUserIds = (userIds: unknown): string[] => {
  const ids = Array.isArray(userIds) ? (userIds as unknown[]) : [];
  if (ids.length < 1 || ids.length > MAX_BULK_USERS)
    throw invalidRequestBody([{ message: `Size must be between 1 and ${MAX_BULK_USERS}`, property: 'userIds' }]);
  const bad = ids.findIndex((u) => typeof u !== 'string' || !USER_ID.test(u));
  if (bad >= 0) throw invalidRequestBody([{ message: 'invalid user ID', property: `userIds[${bad}]` }]);
  return ids as string[];
};

const createRichMenuAlias: Handler = (ctx) => {
  const channelId = ctx.channel.config.channelId;
  const { richMenuAliasId, richMenuId } = ctx.body as { richMenuAliasId: string; richMenuId: string };
  if (!ALIAS_ID.test(richMenuAliasId))
    throw invalidRequestBody([{ message: 'must match ^[a-z0-9_-]{1,32}$', property: 'richMenuAliasId' }]);
  linkable(ctx, richMenuId);
  const aliases = ctx.state.richMenus.aliases(channelId);
  if (aliases.has(richMenuAliasId)) throw new LineApiError(400, { message: 'conflict richmenu alias id' });
  if (aliases.size >= MAX_ALIASES)
    throw new LineApiError(400, { message: `The number of rich menu aliases has reached the limit (${MAX_ALIASES})` });
  aliases.set(richMenuAliasId, richMenuId);
  return { status: 200, body: {} };
};

const aliasOf = (ctx: Parameters<Handler>[0]): string => {
  const id = ctx.params.richMenuAliasId!;
  if (!ctx.state.richMenus.aliases(ctx.channel.config.channelId).has(id))
    throw new LineApiError(404, { message: 'richmenu alias not found' });
  return id;
};

const getRichMenuAlias: Handler = (ctx) => {
  const id = aliasOf(ctx);
  return {
    status: 200,
    body: { richMenuAliasId: id, richMenuId: ctx.state.richMenus.aliases(ctx.channel.config.channelId).get(id) },
  };
};

const updateRichMenuAlias: Handler = (ctx) => {
  const id = aliasOf(ctx);
  const { richMenuId } = ctx.body as { richMenuId: string };
  linkable(ctx, richMenuId);
  ctx.state.richMenus.aliases(ctx.channel.config.channelId).set(id, richMenuId);
  return { status: 200, body: {} };
};

const deleteRichMenuAlias: Handler = (ctx) => {
  const id = aliasOf(ctx);
  ctx.state.richMenus.aliases(ctx.channel.config.channelId).delete(id);
  return { status: 200, body: {} };
};

const getRichMenuAliasList: Handler = (ctx) => ({
  status: 200,
  body: {
    aliases: [...ctx.state.richMenus.aliases(ctx.channel.config.channelId)].map(([richMenuAliasId, richMenuId]) => ({
      richMenuAliasId,
      richMenuId,
    })),
  },
});

const userOf = (ctx: Parameters<Handler>[0]): string => {
  const userId = ctx.params.userId!;
  if (!USER_ID.test(userId)) throw new LineApiError(400, { message: 'The value for the userId parameter is invalid' });
  return userId;
};

const getRichMenuIdOfUser: Handler = (ctx) => {
  const id = ctx.state.richMenus.linkedTo(ctx.channel.config.channelId, userOf(ctx));
  if (!id) throw new LineApiError(404, { message: 'the user has no richmenu' });
  return { status: 200, body: { richMenuId: id } };
};

const linkRichMenuIdToUser: Handler = (ctx) => {
  const userId = userOf(ctx);
  const s = linkable(ctx, ctx.params.richMenuId!);
  ctx.state.richMenus.link(ctx.channel.config.channelId, userId, s.richMenuId);
  return { status: 200, body: {} };
};

const unlinkRichMenuIdFromUser: Handler = (ctx) => {
  ctx.state.richMenus.unlink(ctx.channel.config.channelId, userOf(ctx));
  return { status: 200, body: {} };
};

const linkRichMenuIdToUsers: Handler = (ctx) => {
  const { richMenuId, userIds } = ctx.body as { richMenuId: string; userIds: unknown };
  const ids = checkUserIds(userIds);
  const s = linkable(ctx, richMenuId);
  for (const u of ids) ctx.state.richMenus.link(ctx.channel.config.channelId, u, s.richMenuId);
  return { status: 202, body: {} };
};

const unlinkRichMenuIdFromUsers: Handler = (ctx) => {
  const ids = checkUserIds((ctx.body as { userIds: unknown }).userIds);
  for (const u of ids) ctx.state.richMenus.unlink(ctx.channel.config.channelId, u);
  return { status: 202, body: {} };
};

/**
 * A resident's tap on area `area` of the menu they see, as the LINE app turns it into an event:
 * the postback / message to send, a link opened (`uri`), or for richmenuswitch the switch done and
 * its postback. Throws LineApiError 409 (no menu) / 400 (no such area) / 501 (other actions).
 */
export function tapRichMenuArea(
  book: RichMenuBook,
  channelId: string,
  userId: string,
  area: number,
  params?: Record<string, string>,
):
  | { kind: 'postback'; data: string; params?: Record<string, string> }
  | { kind: 'message'; text: string }
  | { kind: 'uri'; uri: string } {
  const menu = book.shownTo(channelId, userId);
  if (!menu) throw new LineApiError(409, { message: 'The resident sees no rich menu (none linked, no default)' });
  const a = menu.menu.areas[area]?.action as Record<string, unknown> | undefined;
  if (!a) {
    throw new LineApiError(400, {
      message: 'The request body has 1 error(s)',
      details: [{ message: `The rich menu has ${menu.menu.areas.length} area(s)`, property: 'area' }],
    });
  }
  if (a.type === 'postback' || a.type === 'datetimepicker')
    return params ? { kind: 'postback', data: String(a.data), params } : { kind: 'postback', data: String(a.data) };
  if (a.type === 'message') return { kind: 'message', text: String(a.text) };
  if (a.type === 'uri') return { kind: 'uri', uri: String(a.uri) };
  if (a.type === 'richmenuswitch') {
    const aliasId = String(a.richMenuAliasId);
    const target = book.aliases(channelId).get(aliasId);
    const shown = target ? book.get(channelId, target) : undefined;
    if (shown) book.switchTo(channelId, userId, shown.richMenuId);
    return {
      kind: 'postback',
      data: String(a.data ?? ''),
      params: { newRichMenuAliasId: aliasId, status: shown ? 'SUCCESS' : 'RICHMENU_ALIAS_ID_NOTFOUND' },
    };
  }
  throw new LineApiError(501, { message: `This sandbox world does not implement rich menu ${String(a.type)} actions` });
}

export const richMenuRoutes: Record<string, Handler> = {
  createRichMenuAlias,
  getRichMenuAlias,
  updateRichMenuAlias,
  deleteRichMenuAlias,
  getRichMenuAliasList,
  getRichMenuIdOfUser,
  linkRichMenuIdToUser,
  unlinkRichMenuIdFromUser,
  linkRichMenuIdToUsers,
  unlinkRichMenuIdFromUsers,
  createRichMenu,
  validateRichMenuObject,
  getRichMenu,
  getRichMenuList,
  deleteRichMenu,
  setRichMenuImage,
  getRichMenuImage,
  setDefaultRichMenu,
  getDefaultRichMenuId,
  cancelDefaultRichMenu,
};
