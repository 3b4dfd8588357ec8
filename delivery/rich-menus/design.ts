/**
 * A rich menu as staff design it: a name, the chat-bar text, a layout (one of LINE's standard
 * layouts, full or compact with 1–6 areas, or areas drawn on the image) and each area's action.
 * The image's size is the menu's size; a standard layout's areas are fractions of it.
 *
 * Actions staff choose from, and what LINE receives:
 *   uri {uri}              → uri
 *   registration           → postback tayori-attr:menu (the registration flow's menu)
 *   mileage | faq | card   → uri: the tenant's LIFF URL of `mileage`, `faq`, `cards/card`
 *   survey {surveyId}      → uri: the LIFF URL of `surveys/<surveyId>`
 *   postback {data, displayText?} → postback
 *   switch {menuId}        → richmenuswitch to the alias of another of the tenant's menus (a tab)
 */
import type { messagingApi } from '@line/bot-sdk';
import { AppError } from '../../core/errors.ts';
import { z } from '../../core/zod.ts';
import { REGISTRATION_PREFIX } from '../registration.ts';

export const MAX_IMAGE_BYTES = 1024 * 1024;
export const SWITCH_PREFIX = 'tayori-richmenu:';

type Frac = [x: number, y: number, w: number, h: number];
const cols = (n: number, y = 0, h = 1): Frac[] => Array.from({ length: n }, (_, i) => [i / n, y, 1 / n, h]);

/** LINE's standard layouts (as in the Official Account Manager), as fractions of the image. */
export const LAYOUTS: Record<string, { label: string; kind: 'full' | 'compact'; areas: Frac[] }> = {
  'full-6': { label: '大 6 分割 (3×2)', kind: 'full', areas: [...cols(3, 0, 0.5), ...cols(3, 0.5, 0.5)] },
  'full-4': { label: '大 4 分割 (2×2)', kind: 'full', areas: [...cols(2, 0, 0.5), ...cols(2, 0.5, 0.5)] },
  'full-1-3': { label: '大 上 1 + 下 3', kind: 'full', areas: [[0, 0, 1, 0.5], ...cols(3, 0.5, 0.5)] },
  'full-1-2': { label: '大 上 1 + 下 2', kind: 'full', areas: [[0, 0, 1, 0.5], ...cols(2, 0.5, 0.5)] },
  'full-2-cols': { label: '大 左右 2 分割', kind: 'full', areas: cols(2) },
  'full-2-rows': {
    label: '大 上下 2 分割',
    kind: 'full',
    areas: [
      [0, 0, 1, 0.5],
      [0, 0.5, 1, 0.5],
    ],
  },
  'full-1': { label: '大 1 面', kind: 'full', areas: [[0, 0, 1, 1]] },
  'compact-3': { label: '小 3 分割', kind: 'compact', areas: cols(3) },
  'compact-2': { label: '小 2 分割', kind: 'compact', areas: cols(2) },
  'compact-1-2': {
    label: '小 左 1/3 + 右 2/3',
    kind: 'compact',
    areas: [
      [0, 0, 1 / 3, 1],
      [1 / 3, 0, 2 / 3, 1],
    ],
  },
  'compact-2-1': {
    label: '小 左 2/3 + 右 1/3',
    kind: 'compact',
    areas: [
      [0, 0, 2 / 3, 1],
      [2 / 3, 0, 1 / 3, 1],
    ],
  },
  'compact-1': { label: '小 1 面', kind: 'compact', areas: [[0, 0, 1, 1]] },
};
export const CUSTOM_LAYOUT = 'custom';

export const ACTION_LABELS: Record<string, string> = {
  uri: 'リンクを開く',
  registration: '登録内容の確認・変更',
  mileage: '健康マイレージカード',
  faq: 'よくある質問',
  card: '優待カード',
  survey: 'アンケート',
  postback: 'ポストバックを送る',
  switch: '別のタブに切り替える',
};

/** Resident LIFF paths of the built-in actions (the capabilities' pages; delivery does not import them). */
export const LIFF_PATHS: Record<string, string> = { mileage: 'mileage', faq: 'faq', card: 'cards/card' };

const label = z.string().trim().min(1, 'ラベルを入力してください').max(20, 'ラベルは 20 文字以内です');
const id = z.string().regex(/^[0-9a-f-]{8,40}$/, 'ID が正しくありません');

export const actionSchema = z.discriminatedUnion(
  'type',
  [
    z.object({
      type: z.literal('uri'),
      uri: z
        .string({ error: 'リンク先の URL を入力してください' })
        .trim()
        .max(1000, 'URL は 1000 文字以内です')
        .regex(
          /^(https:\/\/[^\s]+|tel:[0-9+-]{3,20})$/,
          'リンク先は https:// で始まる URL か tel: の電話番号にしてください',
        ),
    }),
    z.object({ type: z.literal('registration') }),
    z.object({ type: z.literal('mileage') }),
    z.object({ type: z.literal('faq') }),
    z.object({ type: z.literal('card') }),
    z.object({ type: z.literal('survey'), surveyId: id }),
    z.object({
      type: z.literal('postback'),
      data: z
        .string({ error: 'ポストバックのデータを入力してください' })
        .min(1, 'ポストバックのデータを入力してください')
        .max(300, 'ポストバックのデータは 300 文字以内です')
        .refine((s) => !s.startsWith(SWITCH_PREFIX), `「${SWITCH_PREFIX}」で始まるデータは使えません`),
      displayText: z.string().max(300, '表示テキストは 300 文字以内です').optional(),
    }),
    z.object({ type: z.literal('switch'), menuId: id }),
  ],
  { error: 'エリアの動作を選んでください' },
);
export type AreaAction = z.infer<typeof actionSchema>;

const bounds = z.object({
  x: z.number().int('整数で指定してください').min(0, '0 以上で指定してください'),
  y: z.number().int('整数で指定してください').min(0, '0 以上で指定してください'),
  width: z.number().int('整数で指定してください').min(1, '1 以上で指定してください'),
  height: z.number().int('整数で指定してください').min(1, '1 以上で指定してください'),
});
export type Bounds = z.infer<typeof bounds>;

export const designSchema = z
  .object({
    name: z.string().trim().min(1, 'メニュー名を入力してください').max(100, 'メニュー名は 100 文字以内です'),
    chatBarText: z
      .string()
      .trim()
      .min(1, 'メニューバーのテキストを入力してください')
      .max(14, 'メニューバーのテキストは 14 文字以内です'),
    layout: z.string().refine((l) => l === CUSTOM_LAYOUT || l in LAYOUTS, 'レイアウトを選んでください'),
    imageId: z
      .string()
      .regex(/^[0-9a-f]{64}$/, '画像を登録してください')
      .optional(),
    areas: z
      .array(z.object({ label, action: actionSchema, bounds: bounds.optional() }))
      .min(1, 'エリアを 1 つ以上設定してください')
      .max(20, 'エリアは 20 個までです'),
  })
  .strict();
export type DesignInput = z.infer<typeof designSchema>;

export interface Area {
  label: string;
  action: AreaAction;
  bounds: Bounds;
}

export interface Design {
  name: string;
  chatBarText: string;
  layout: string;
  imageId: string;
  size: { width: number; height: number };
  areas: Area[];
}

export interface FieldError {
  field: string;
  message: string;
}

export function invalidDesign(errors: FieldError[], code = 'invalid_rich_menu'): AppError {
  return new AppError(
    code,
    `入力内容に誤りがあります: ${errors.map((e) => `${e.field || '(全体)'} — ${e.message}`).join(' / ')}`,
    400,
    errors,
  );
}

/** The areas' bounds for an image of `size`: a standard layout's fractions, or the drawn ones (checked inside). */
export function placeAreas(input: DesignInput, size: { width: number; height: number }): Area[] {
  if (input.layout === CUSTOM_LAYOUT) {
    const errors: FieldError[] = [];
    const areas = input.areas.map((a, i) => {
      if (!a.bounds) errors.push({ field: `areas.${i}.bounds`, message: '範囲を画像の上に描いてください' });
      else if (a.bounds.x + a.bounds.width > size.width || a.bounds.y + a.bounds.height > size.height)
        errors.push({ field: `areas.${i}.bounds`, message: '範囲が画像からはみ出しています' });
      return { label: a.label, action: a.action, bounds: a.bounds ?? { x: 0, y: 0, width: 1, height: 1 } };
    });
    if (errors.length) throw invalidDesign(errors);
    return areas;
  }
  const layout = LAYOUTS[input.layout]!;
  if (input.areas.length !== layout.areas.length)
    throw invalidDesign([
      { field: 'areas', message: `レイアウト「${layout.label}」のエリアは ${layout.areas.length} 個です` },
    ]);
  return input.areas.map((a, i) => {
    const [fx, fy, fw, fh] = layout.areas[i]!;
    const x = Math.round(fx * size.width);
    const y = Math.round(fy * size.height);
    const right = Math.round((fx + fw) * size.width);
    const bottom = Math.round((fy + fh) * size.height);
    return { label: a.label, action: a.action, bounds: { x, y, width: right - x, height: bottom - y } };
  });
}

export interface ImageInfo {
  type: 'image/png' | 'image/jpeg';
  width: number;
  height: number;
}

/** Width and height of a PNG or JPEG from its header; undefined when it is neither. */
export function readImageHeader(bytes: Buffer): ImageInfo | undefined {
  if (bytes.length >= 24 && bytes.readUInt32BE(0) === 0x89504e47 && bytes.toString('latin1', 12, 16) === 'IHDR')
    return { type: 'image/png', width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8) {
    let p = 2;
    while (p + 9 < bytes.length) {
      if (bytes[p] !== 0xff) return undefined;
      const marker = bytes[p + 1]!;
      // SOF0…SOF15 except DHT (C4), JPG (C8), DAC (CC)
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
        return { type: 'image/jpeg', height: bytes.readUInt16BE(p + 5), width: bytes.readUInt16BE(p + 7) };
      p += 2 + bytes.readUInt16BE(p + 2);
    }
  }
  return undefined;
}

/**
 * LINE's rules for a rich menu image: PNG or JPEG (the bytes, not only the declared type), at most
 * 1 MB, width 800–2500 px, height at least 250 px, width ÷ height at least 1.45. 400/413 in Japanese.
 */
export function checkImage(bytes: Buffer, declaredType: string): ImageInfo {
  if (declaredType !== 'image/png' && declaredType !== 'image/jpeg')
    throw new AppError('image_type', '画像は PNG か JPEG にしてください', 415);
  if (bytes.length === 0) throw new AppError('image_empty', '画像を選んでください', 400);
  if (bytes.length > MAX_IMAGE_BYTES)
    throw new AppError(
      'image_too_large',
      `画像は 1 MB 以下にしてください (この画像は ${(bytes.length / 1024 / 1024).toFixed(2)} MB)`,
      413,
    );
  const info = readImageHeader(bytes);
  if (!info || info.type !== declaredType)
    throw new AppError(
      'image_unreadable',
      `画像を読み取れません (${declaredType === 'image/png' ? 'PNG' : 'JPEG'} ではありません)`,
      400,
    );
  const { width, height } = info;
  if (width < 800 || width > 2500)
    throw new AppError(
      'image_width',
      `画像の幅は 800〜2500 ピクセルにしてください (この画像は ${width} ピクセル)`,
      400,
    );
  if (height < 250)
    throw new AppError(
      'image_height',
      `画像の高さは 250 ピクセル以上にしてください (この画像は ${height} ピクセル)`,
      400,
    );
  if (width / height < 1.45)
    throw new AppError(
      'image_ratio',
      `画像の縦横比 (幅 ÷ 高さ) は 1.45 以上にしてください (この画像は ${width}×${height} で ${(width / height).toFixed(2)})`,
      400,
    );
  return info;
}

export interface LineContext {
  /** The LIFF URL of a resident page (core/resident-shell.ts liffUrl), undefined without a LIFF app. */
  liffUrl: (path: string) => string | undefined;
  /** The alias of another menu of the tenant, when it is published (undefined otherwise). */
  aliasOf: (menuId: string) => { aliasId: string; title: string } | undefined;
}

/** The rich menu object LINE receives for a design; throws 400 when a LIFF page or a tab it needs is missing. */
export function toLineRichMenu(d: Design, ctx: LineContext): messagingApi.RichMenuRequest {
  const errors: FieldError[] = [];
  const areas = d.areas.map((a, i): messagingApi.RichMenuArea => {
    const field = `areas.${i}.action`;
    const liff = (path: string): messagingApi.Action => {
      const uri = ctx.liffUrl(path);
      if (!uri)
        errors.push({ field, message: 'LIFF アプリが設定されていないため、住民のページを開くエリアは使えません' });
      return { type: 'uri', label: a.label, uri: uri ?? 'https://liff.line.me/' };
    };
    const act = a.action;
    let action: messagingApi.Action;
    switch (act.type) {
      case 'uri':
        if (!act.uri) errors.push({ field: `areas.${i}.action.uri`, message: 'リンク先の URL を入力してください' });
        action = { type: 'uri', label: a.label, uri: act.uri || 'https://example.invalid/' };
        break;
      case 'registration':
        action = {
          type: 'postback',
          label: a.label,
          data: `${REGISTRATION_PREFIX}menu`,
          displayText: '登録内容の確認・変更',
        } as messagingApi.Action;
        break;
      case 'mileage':
      case 'faq':
      case 'card':
        action = liff(LIFF_PATHS[act.type]!);
        break;
      case 'survey':
        action = liff(`surveys/${act.surveyId}`);
        break;
      case 'postback':
        action = {
          type: 'postback',
          label: a.label,
          data: act.data,
          ...(act.displayText ? { displayText: act.displayText } : {}),
        } as messagingApi.Action;
        break;
      case 'switch': {
        const target = ctx.aliasOf(act.menuId);
        if (!target) errors.push({ field, message: '切り替え先のメニューを先に公開してください' });
        action = {
          type: 'richmenuswitch',
          label: a.label,
          richMenuAliasId: target?.aliasId ?? 'missing',
          data: `${SWITCH_PREFIX}switch:${act.menuId}`,
        } as messagingApi.Action;
        break;
      }
    }
    return { bounds: a.bounds, action };
  });
  if (errors.length) throw invalidDesign(errors, 'rich_menu_not_ready');
  return { size: d.size, selected: true, name: d.name.slice(0, 300), chatBarText: d.chatBarText, areas };
}
