/**
 * The shop code on the benefit card as a barcode a till's scanner reads: Code 128 (any printable
 * ASCII, so the shop code's letters, digits and hyphens; bwip-js picks code sets A/B/C), drawn by
 * bwip-js as SVG — bars, then the code in text under them (as outlines, no font needed) — with a
 * quiet zone of 10 modules on each side and a white background, so it reads as dark on light on a
 * phone in dark mode too.
 *
 *   GET /liff/:tenantId/cards/shop-code.svg     public: the code is common to every holder and shown at
 *       the till, not personal; read from the cards' local store only (no ClickHouse, no Redis), so it
 *       draws while either is down. The card page asks for it with ?v=<code>, so a changed code is a new
 *       URL; the answer is cached for an hour and revalidated by its ETag.
 */
import { createHash } from 'node:crypto';
import { toSVG } from 'bwip-js/node';
import { AppError } from '../core/errors.ts';
import type { FastifyInstance } from '../core/http.ts';
import { tenantIdSchema } from '../core/tenants.ts';
import type { CardImages } from './images.ts';

export const SHOP_CODE_BARCODE_PATH = '/liff/:tenantId/cards/shop-code.svg';

/** Where a tenant's shop-code barcode is served (the card page and the staff preview show it). */
export const shopCodeBarcodeUrl = (tenantId: string, shopCode: string) =>
  `/liff/${encodeURIComponent(tenantId)}/cards/shop-code.svg?v=${encodeURIComponent(shopCode)}`;

/** bwip-js's options for the shop code: one module is one SVG unit. */
export function shopCodeBarcodeOptions(shopCode: string) {
  return {
    bcid: 'code128',
    text: shopCode,
    scale: 1,
    height: 12, // mm of bars (bwip-js units): about a third of the width of a typical code
    includetext: true,
    textxalign: 'center',
    paddingwidth: 10, // the quiet zone Code 128 asks for: 10 modules each side
    paddingheight: 4,
    backgroundcolor: 'FFFFFF',
    barcolor: '000000',
    textcolor: '000000',
  } as const;
}

const cache = new Map<string, string>();
const CACHE_MAX = 64;

/** The barcode of a shop code as an SVG document (kept: one per code, a few at most). */
export function shopCodeSvg(shopCode: string): string {
  let svg = cache.get(shopCode);
  if (svg === undefined) {
    svg = toSVG(shopCodeBarcodeOptions(shopCode));
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
    cache.set(shopCode, svg);
  }
  return svg;
}

export function registerShopCodeBarcode(app: FastifyInstance, images: Pick<CardImages, 'shopCode'>): void {
  app.get(SHOP_CODE_BARCODE_PATH, async (req, reply) => {
    const tenant = tenantIdSchema.safeParse((req.params as { tenantId?: unknown }).tenantId);
    const shopCode = tenant.success ? images.shopCode(tenant.data) : '';
    if (!shopCode) throw new AppError('no_shop_code', 'ショップコードは登録されていません', 404);
    const etag = `"${createHash('sha256').update(shopCode).digest('base64url').slice(0, 22)}"`;
    void reply.header('cache-control', 'public, max-age=3600').header('etag', etag);
    if (req.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply
      .header('content-type', 'image/svg+xml; charset=utf-8')
      .header('x-content-type-options', 'nosniff')
      .send(shopCodeSvg(shopCode));
  });
}
