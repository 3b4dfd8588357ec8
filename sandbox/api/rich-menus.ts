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
 * A resident can tap an area of the default menu (test hook `{"type": "richMenu", "area": n}`):
 * a postback or message area becomes that event, as from the LINE app.
 */
import { randomBytes } from 'node:crypto';
import type { LineErrorDetail } from '../openapi.ts';
import type { Handler } from './context.ts';
import { invalidRequestBody, LineApiError, notFound } from './errors.ts';

export const MAX_RICH_MENUS = 1000;
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

/** Every channel's rich menus and default menu. */
export class RichMenuBook {
  private readonly menus = new Map<string, Map<string, Stored>>();
  private readonly defaults = new Map<string, string>();

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
    return this.of(channelId).delete(richMenuId);
  }

  setDefault(channelId: string, richMenuId: string): void {
    this.defaults.set(channelId, richMenuId);
  }

  cancelDefault(channelId: string): void {
    this.defaults.delete(channelId);
  }

  defaultId(channelId: string): string | undefined {
    return this.defaults.get(channelId);
  }

  /** The menu a friend of the channel sees (the default; per-user menus are not simulated). */
  shownTo(channelId: string): Stored | undefined {
    const id = this.defaults.get(channelId);
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

export const richMenuRoutes: Record<string, Handler> = {
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
