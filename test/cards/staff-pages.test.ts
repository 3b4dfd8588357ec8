/**
 * The cards' staff page in Chromium: without カード利用者情報 counts only (a planted name nowhere on
 * the page); with it, the search shows holders; a prefecture account uploads a pass image as a draft,
 * sees its preview and publishes it, and a resident's pass page shows it. axe WCAG 2.1 AA.
 */
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { launchChromium, signedInPage } from '../helpers/browser.ts';
import { openResidentPage, residentCall, residentIdToken, sandboxResidents } from '../helpers/resident.ts';
import { type CardsSuite, startCardsSuite, testPng } from './cards-suite.ts';

const TSU = '24201';
const PLANTED = '頁試験ＫＷＹ花子';
const PASSWORD = 'correct horse battery 42';
let s: CardsSuite;
let browser: Browser;
let resident = '';

async function axe(page: Page, name: string): Promise<void> {
  const r = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  expect(
    r.violations.map((v) => `${name}: ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(' | ')}`),
  ).toEqual([]);
}

beforeAll(async () => {
  s = await startCardsSuite('tayori-cards-staff-pages-');
  browser = await launchChromium();
  resident = (await sandboxResidents(s.url, TSU, 1))[0]!.userId;
  const t = await residentIdToken(s.url, TSU, resident);
  const put = await residentCall(s.url, TSU, t, 'PUT', 'cards/household', {
    holderName: PLANTED,
    relationship: '母',
    kind: 'children',
    children: [{ name: '頁 太郎', birthDate: '2018-01-01' }],
  });
  expect(put.status).toBe(200);
  for (const [username, permissions] of [
    ['pref-plain', undefined],
    ['pref-cards', ['card_holders']],
  ] as const) {
    const u = await s.op('POST', '/api/v1/users', {
      username,
      role: 'prefecture',
      password: PASSWORD,
      ...(permissions ? { permissions } : {}),
    });
    expect(u.status).toBe(201);
  }
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await s?.close();
});

describe('/cards', () => {
  it('without the permission: counts only', async () => {
    const page = await signedInPage(browser, s.url, 'pref-plain', PASSWORD);
    await page.goto(`${s.url}/cards?tenant=${TSU}&q=`);
    expect(await page.textContent('[data-testid=total-registered]')).toBe('1');
    await page.getByTestId('no-permission').waitFor();
    expect(await page.content()).not.toContain(PLANTED);
    await axe(page, '/cards (counts)');
    await page.context().close();
  });

  it('with the permission: the search shows holders; a pass image uploaded, previewed, published, shown to residents', async () => {
    const page = await signedInPage(browser, s.url, 'pref-cards', PASSWORD);
    await page.goto(`${s.url}/cards?tenant=${TSU}&q=${encodeURIComponent('ＫＷＹ')}`);
    expect(await page.textContent('#push-form table')).toContain(PLANTED);
    await axe(page, '/cards (holders)');
    const file = path.join(s.h.dir, 'pass.png');
    fs.writeFileSync(file, testPng(600, 360, '#2266aa'));
    await page.setInputFiles('#file-pass', file);
    await Promise.all([page.waitForEvent('load'), page.click('#img-pass-h ~ form button[type=submit]')]);
    await page.locator('img[alt="下書きのまいたまパスの画像"]').waitFor();
    page.once('dialog', (d) => void d.accept());
    await Promise.all([page.waitForEvent('load'), page.click('[data-publish$="/pass/publish"]')]);
    await page.locator('img[alt="公開中のまいたまパスの画像"]').waitFor();
    // a file that is not an image is refused in Japanese
    fs.writeFileSync(file, 'not a png');
    await page.setInputFiles('#file-pass', { name: 'x.png', mimeType: 'image/png', buffer: Buffer.from('not a png') });
    await page.click('#img-pass-h ~ form button[type=submit]');
    await expect.poll(() => page.textContent('#img-pass-h ~ form .status')).toContain('画像を読み取れません');
    // the shop code, with the barcode residents' cards show
    await page.fill('#shop-code', 'SHOP-0042');
    await page.click('#shop-code-form button[type=submit]');
    await expect.poll(() => page.textContent('#shop-code-form .status')).toBe('保存しました');
    await page.reload();
    const preview = page.getByTestId('shop-barcode-preview');
    expect(await preview.getAttribute('alt')).toBe('ショップコード SHOP-0042 のバーコード');
    await expect.poll(() => preview.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
    await axe(page, '/cards (shop code)');
    await page.context().close();

    const pass = await openResidentPage(browser, s.url, TSU, 'cards/pass', resident);
    await pass.getByTestId('pass-image').waitFor();
    await pass.context().close();
  }, 60_000);
});
