/**
 * The shop code's barcode. What the route serves is rendered to pixels (resvg) and read back by a
 * Code 128 reader written from the symbology (./code128.ts), on several scan lines: letters, digits
 * (bwip-js switches to code set C for them), hyphens, the longest code allowed; a 10-module quiet zone
 * each side, a white background, the code in text under the bars, no script. The route: public, the
 * SVG with an hour's cache and an ETag (304 when unchanged), a changed code a new barcode and ETag, 404 in Japanese without a code or
 * for a malformed tenant, unknown query parameters ignored; it reads only the cards' local store.
 */
import { Resvg } from '@resvg/resvg-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CardImages, CardStore, cardsStoreDir, shopCodeBarcodeUrl, shopCodeSvg } from '../../cards/index.ts';
import { registerShopCodeBarcode } from '../../cards/barcode.ts';
import { createHttpApp } from '../../core/http.ts';
import { createLogger } from '../../core/logger.ts';
import { harness, type Harness } from '../helpers/index.ts';
import { readCode128, rowOf } from './code128.ts';

/** Reads the barcode of an SVG as a scanner would, on scan lines across the top, middle and bottom of its bars. */
function scan(svg: string): Array<ReturnType<typeof readCode128>> {
  const img = new Resvg(svg, { fitTo: { mode: 'zoom', value: 3 } }).render();
  const lines: Array<ReturnType<typeof readCode128>> = [];
  for (const f of [0.2, 0.4, 0.6]) lines.push(readCode128(rowOf(img.pixels, img.width, Math.round(img.height * f))));
  return lines;
}

describe('the shop code as Code 128', () => {
  const codes = [
    '1100-2233',
    'SAITAMA-0001',
    'a1B2-c3D4',
    '0',
    '12345678901234567890',
    'Z'.repeat(16) + '-'.repeat(16),
  ];
  it.each(codes)('%s reads back exactly, with a quiet zone of 10 modules', (code) => {
    const svg = shopCodeSvg(code);
    for (const line of scan(svg)) {
      expect(line.text).toBe(code);
      expect(line.quietLeft).toBeGreaterThanOrEqual(10);
      expect(line.quietRight).toBeGreaterThanOrEqual(10);
    }
  });

  it('is an SVG with a white background, the text drawn as outlines, and nothing that runs', () => {
    const svg = shopCodeSvg('1100-2233');
    expect(svg).toMatch(/^<svg viewBox="0 0 \d+ \d+" xmlns="http:\/\/www\.w3\.org\/2000\/svg">/);
    expect(svg).toContain('<rect width="100%" height="100%" fill="#FFFFFF" />');
    expect(svg).not.toMatch(/<script|\son[a-z]+=|javascript:|<text|href=/i);
    // the human-readable line is there: below the bars, outlines (paths) rather than text
    const img = new Resvg(svg, { fitTo: { mode: 'zoom', value: 3 } }).render();
    const x = rowOf(img.pixels, img.width, Math.round(img.height * 0.4)).indexOf(true);
    let barsEnd = Math.round(img.height * 0.4);
    while (rowOf(img.pixels, img.width, barsEnd + 1)[x]) barsEnd++;
    const below = Array.from({ length: img.height - barsEnd - 1 }, (_, i) => barsEnd + 1 + i);
    expect(below.filter((y) => rowOf(img.pixels, img.width, y).some(Boolean)).length).toBeGreaterThan(10);
  });

  it('tells a reader the bars of another code apart (the reader is no rubber stamp)', () => {
    const a = scan(shopCodeSvg('1100-2233'))[0]!.text;
    const b = scan(shopCodeSvg('1100-2234'))[0]!.text;
    expect([a, b]).toEqual(['1100-2233', '1100-2234']);
    // a damaged bar fails the check value instead of reading wrong
    const img = new Resvg(shopCodeSvg('1100-2233'), { fitTo: { mode: 'zoom', value: 3 } }).render();
    const row = rowOf(img.pixels, img.width, Math.round(img.height * 0.4));
    const mid = row.indexOf(false, Math.round(row.length / 2));
    const damaged = row.map((d, x) => (x >= mid && x < mid + 3 ? true : d));
    expect(() => readCode128(damaged)).toThrow();
  });
});

describe('GET /liff/:tenantId/cards/shop-code.svg', () => {
  let h: Harness;
  let base: string;
  let images: CardImages;
  beforeAll(async () => {
    h = await harness({ prefix: 'tayori-cards-barcode-', clickhouse: false });
    const store = new CardStore(cardsStoreDir(h.dir));
    h.defer('cards store', () => store.close());
    images = new CardImages(store);
    const app = createHttpApp(createLogger('silent'));
    registerShopCodeBarcode(app, images);
    base = await h.serve(app);
  });
  afterAll(() => h?.close());

  it('404 in Japanese until a code is set, and for a malformed tenant', async () => {
    const none = await fetch(`${base}/liff/24201/cards/shop-code.svg`);
    expect(none.status).toBe(404);
    expect((await none.json()).error).toMatchObject({
      code: 'no_shop_code',
      message: 'ショップコードは登録されていません',
    });
    await images.setShopCode('24201', { shopCode: '1100-2233' });
    expect((await fetch(`${base}/liff/..%2F24201/cards/shop-code.svg`)).status).toBe(404);
    expect((await fetch(`${base}/liff/99999/cards/shop-code.svg`)).status).toBe(404);
  });

  it('serves the SVG with caching and an ETag; a changed code is a new barcode', async () => {
    await images.setShopCode('24201', { shopCode: '1100-2233' });
    const url = `${base}${shopCodeBarcodeUrl('24201', '1100-2233')}&utm_source=line`;
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/svg+xml; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('public, max-age=3600');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const etag = res.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]{22}"$/);
    const svg = await res.text();
    expect(scan(svg).map((l) => l.text)).toEqual(['1100-2233', '1100-2233', '1100-2233']);

    const again = await fetch(url, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);

    await images.setShopCode('24201', { shopCode: 'SHOP-42' });
    const changed = await fetch(url, { headers: { 'if-none-match': etag } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect(scan(await changed.text())[0]!.text).toBe('SHOP-42');
  });
});
