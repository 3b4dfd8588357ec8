/**
 * Each tenant's default rich menu, the way into the registration flow: three areas across a
 * compact menu (2500 × 843) — 登録内容の確認・変更 (postback `tayori-attr:menu`, the flow's menu),
 * お知らせ and 問い合わせ (links to the tenant's pages). Applying it creates the menu through LINE's
 * rich menu API, uploads its image (rendered here: SVG → PNG with resvg and IPAex Gothic), makes
 * it the default, records it in ClickHouse, and deletes the menu it replaces. A step that fails
 * deletes the new menu again: nothing half-made is left on the channel. Once the rich menu editor
 * (rich-menus/) has a tenant's menus on LINE, applying this one is refused (409): the editor owns them.
 *
 *   POST /api/v1/tenants/:tenantId/rich-menu {newsUrl?, contactUrl?}   (re)apply (deliver permission)
 *   GET  /api/v1/tenants/:tenantId/rich-menu                          what is applied
 */
import { Resvg } from '@resvg/resvg-js';
import { HTTPFetchError, messagingApi } from '@line/bot-sdk';
import { type ClickHouseClient, query } from '../core/clickhouse.ts';
import { AppError } from '../core/errors.ts';
import { lineBaseUrl, type LineEndpoints } from '../core/line.ts';
import type { TenantStore } from '../core/tenants.ts';
import { chDateTime, nextVersion } from '../core/time.ts';
import { z } from '../core/zod.ts';
import { REGISTRATION_PREFIX } from './registration.ts';

export const RICH_MENU_SIZE = { width: 2500, height: 843 };
const FONT = process.env.TAYORI_FONT ?? '/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf';

const httpsUrl = (what: string) =>
  z
    .string({ error: `${what}の URL を入力してください` })
    .trim()
    .max(1000, `${what}の URL は 1000 文字以内です`)
    .refine((s) => /^https:\/\/[^\s]+$/.test(s), `${what}の URL は https:// で始まる URL で指定してください`);

export const richMenuInputSchema = z
  .object(
    { newsUrl: httpsUrl('お知らせ').optional(), contactUrl: httpsUrl('問い合わせ').optional() },
    { error: '本文は JSON オブジェクトです' },
  )
  .strict();

export interface AppliedRichMenu {
  tenantId: string;
  richMenuId: string;
  newsUrl: string;
  contactUrl: string;
  appliedAt: number;
  /** Whether LINE still has it as the channel's default (false when someone changed it elsewhere). */
  isDefault?: boolean;
}

/** The menu object: three areas, left to right. */
export function richMenuObject(tenantName: string, newsUrl: string, contactUrl: string): messagingApi.RichMenuRequest {
  const { width, height } = RICH_MENU_SIZE;
  const third = Math.floor(width / 3);
  return {
    size: { width, height },
    selected: true,
    name: `Tayori ${tenantName}`.slice(0, 300),
    chatBarText: 'メニュー',
    areas: [
      {
        bounds: { x: 0, y: 0, width: third, height },
        action: {
          type: 'postback',
          label: '登録内容の確認・変更',
          data: `${REGISTRATION_PREFIX}menu`,
          displayText: '登録内容の確認・変更',
        },
      },
      {
        bounds: { x: third, y: 0, width: width - 2 * third, height },
        action: { type: 'uri', label: 'お知らせ', uri: newsUrl },
      },
      {
        bounds: { x: width - third, y: 0, width: third, height },
        action: { type: 'uri', label: '問い合わせ', uri: contactUrl },
      },
    ],
  };
}

const escapeXml = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The menu's image: a panel per area with its label, PNG of exactly RICH_MENU_SIZE. */
export function renderRichMenuImage(tenantName: string): Buffer {
  const { width, height } = RICH_MENU_SIZE;
  const third = Math.floor(width / 3);
  const panels: Array<{ x: number; w: number; fill: string; lines: string[]; note: string }> = [
    { x: 0, w: third, fill: '#2e7d32', lines: ['登録内容の', '確認・変更'], note: '受け取りたい情報を選べます' },
    { x: third, w: width - 2 * third, fill: '#1565c0', lines: ['お知らせ'], note: `${tenantName}からのお知らせ` },
    { x: width - third, w: third, fill: '#ef6c00', lines: ['問い合わせ'], note: '窓口・連絡先' },
  ];
  const body = panels
    .map((p) => {
      const cx = p.x + p.w / 2;
      const top = height / 2 - (p.lines.length - 1) * 70 - 30;
      const text = p.lines
        .map(
          (l, i) =>
            `<text x="${cx}" y="${top + i * 140}" font-size="120" fill="#fff" text-anchor="middle" dominant-baseline="middle">${escapeXml(l)}</text>`,
        )
        .join('');
      return `<rect x="${p.x}" y="0" width="${p.w}" height="${height}" fill="${p.fill}"/>${text}<text x="${cx}" y="${height - 110}" font-size="56" fill="#fff" fill-opacity="0.85" text-anchor="middle">${escapeXml(p.note.slice(0, 20))}</text>`;
    })
    .join('');
  const lines = `<line x1="${third}" y1="0" x2="${third}" y2="${height}" stroke="#fff" stroke-width="6"/><line x1="${width - third}" y1="0" x2="${width - third}" y2="${height}" stroke="#fff" stroke-width="6"/>`;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="IPAexGothic">${body}${lines}</svg>`;
  const resvg = new Resvg(svg, {
    font: {
      fontFiles: [FONT],
      loadSystemFonts: false,
      defaultFontFamily: 'IPAexGothic',
      sansSerifFamily: 'IPAexGothic',
    },
  });
  return resvg.render().asPng();
}

/** LINE's blob API (images) lives on api-data.line.me; a sandbox or proxy answers both on one base. */
function dataBaseUrl(base: string): string {
  return base.replace(/^https:\/\/api\.line\.me(?=\/|$)/, 'https://api-data.line.me');
}

function lineFailure(step: string, err: unknown): AppError {
  if (err instanceof HTTPFetchError) {
    let message = err.statusText;
    try {
      message = (JSON.parse(err.body) as { message?: string }).message ?? message;
    } catch {
      /* not JSON */
    }
    return new AppError(
      'line_rich_menu_failed',
      `LINE がリッチメニューの${step}を受け付けませんでした (${err.status}: ${message})`,
      502,
    );
  }
  if (err instanceof AppError) return err;
  return new AppError(
    'line_unreachable',
    `LINE に接続できません (リッチメニューの${step}): ${(err as Error).message}`,
    503,
  );
}

/** A row of delivery.rich_menu (applied_ms: bare from chDB, quoted from a server). */
const appliedRow = z.object({
  rich_menu_id: z.string(),
  news_url: z.string(),
  contact_url: z.string(),
  applied_ms: z.coerce.number(),
});

export class RichMenuService {
  constructor(private readonly d: { ch: ClickHouseClient; tenants: TenantStore; endpoints: () => LineEndpoints }) {}

  async applied(tenantId: string): Promise<AppliedRichMenu | undefined> {
    const row = (await query(this.d.ch, 'delivery.rich_menu', { tenant: tenantId }, appliedRow))[0];
    if (!row) return undefined;
    return {
      tenantId,
      richMenuId: row.rich_menu_id,
      newsUrl: row.news_url,
      contactUrl: row.contact_url,
      appliedAt: row.applied_ms,
    };
  }

  /** What is applied, and whether LINE still shows it as the default. */
  async current(tenantId: string): Promise<AppliedRichMenu | null> {
    const tenant = await this.d.tenants.require(tenantId);
    const applied = await this.applied(tenant.id);
    if (!applied) return null;
    const { messaging } = await this.#clients(tenant.id);
    let isDefault = false;
    try {
      isDefault = (await messaging.getDefaultRichMenuId()).richMenuId === applied.richMenuId;
    } catch (err) {
      if (!(err instanceof HTTPFetchError && err.status === 404)) throw lineFailure('確認', err);
    }
    return { ...applied, isDefault };
  }

  /** Creates the tenant's menu, uploads its image, makes it the default; the one it replaces is deleted. */
  async apply(tenantId: string, input: unknown): Promise<AppliedRichMenu> {
    const tenant = await this.d.tenants.require(tenantId);
    const parsed = richMenuInputSchema.safeParse(input ?? {});
    if (!parsed.success) {
      const details = parsed.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message }));
      throw new AppError(
        'invalid_rich_menu',
        `入力内容に誤りがあります: ${details.map((e) => `${e.field || '(全体)'} — ${e.message}`).join(' / ')}`,
        400,
        details,
      );
    }
    const managed = await query(
      this.d.ch,
      'rich_menus.managed',
      { tenant: tenant.id },
      z.object({ n: z.coerce.number() }),
    );
    if ((managed[0]?.n ?? 0) > 0)
      throw new AppError(
        'rich_menu_managed_by_editor',
        'このテナントのリッチメニューは「リッチメニュー」のページで管理しています。そちらで編集・公開してください',
        409,
      );
    const before = await this.applied(tenant.id);
    const newsUrl = parsed.data.newsUrl ?? before?.newsUrl;
    const contactUrl = parsed.data.contactUrl ?? before?.contactUrl;
    const missing = [
      ...(newsUrl ? [] : [{ field: 'newsUrl', message: 'お知らせの URL を指定してください' }]),
      ...(contactUrl ? [] : [{ field: 'contactUrl', message: '問い合わせの URL を指定してください' }]),
    ];
    if (missing.length)
      throw new AppError(
        'rich_menu_urls_required',
        `はじめてリッチメニューを設定するときは、お知らせと問い合わせのリンク先 (https://…) を指定してください`,
        400,
        missing,
      );

    const { messaging, blob } = await this.#clients(tenant.id);
    let richMenuId: string;
    try {
      richMenuId = (await messaging.createRichMenu(richMenuObject(tenant.name, newsUrl!, contactUrl!))).richMenuId;
    } catch (err) {
      throw lineFailure('作成', err);
    }
    let step = '画像の登録';
    try {
      const png = renderRichMenuImage(tenant.name);
      await blob.setRichMenuImage(richMenuId, new Blob([new Uint8Array(png)], { type: 'image/png' }));
      step = '既定の設定';
      await messaging.setDefaultRichMenu(richMenuId);
    } catch (err) {
      await messaging.deleteRichMenu(richMenuId).catch(() => {});
      throw lineFailure(step, err);
    }
    const applied: AppliedRichMenu = {
      tenantId: tenant.id,
      richMenuId,
      newsUrl: newsUrl!,
      contactUrl: contactUrl!,
      appliedAt: Date.now(),
    };
    await this.d.ch.insert({
      table: 'delivery_rich_menus',
      format: 'JSONEachRow',
      values: [
        {
          tenant_id: tenant.id,
          rich_menu_id: richMenuId,
          news_url: applied.newsUrl,
          contact_url: applied.contactUrl,
          applied_at: chDateTime(applied.appliedAt),
          version: nextVersion(),
        },
      ],
    });
    // the menu it replaces (already gone, or never Tayori's to keep: a 404 is fine)
    if (before && before.richMenuId !== richMenuId) await messaging.deleteRichMenu(before.richMenuId).catch(() => {});
    return { ...applied, isDefault: true };
  }

  async #clients(
    tenantId: string,
  ): Promise<{ messaging: messagingApi.MessagingApiClient; blob: messagingApi.MessagingApiBlobClient }> {
    const creds = await this.d.tenants.credentials(tenantId);
    const baseURL = lineBaseUrl(creds, this.d.endpoints());
    return {
      messaging: new messagingApi.MessagingApiClient({ channelAccessToken: creds.channelAccessToken, baseURL }),
      blob: new messagingApi.MessagingApiBlobClient({
        channelAccessToken: creds.channelAccessToken,
        baseURL: dataBaseUrl(baseURL),
      }),
    };
  }
}
