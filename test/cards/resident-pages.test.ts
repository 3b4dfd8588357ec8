/**
 * The card pages in real Chromium on a 360×740 phone as simulated residents (LIFF mock, real ID
 * tokens): register through the form (errors shown under their fields first), see the card with the
 * registered data, the shop code's barcode (read back from the pixels the page shows) and a running clock, change a child's birth date past the eligibility boundary and
 * see the card image hidden with the reason; the まいたまパス page. axe-core WCAG 2.1 AA on each.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.ts';
import { repoRoot } from '../helpers/index.ts';
import { openResidentPage, type SandboxResident, sandboxResidents } from '../helpers/resident.ts';
import { type CardsSuite, startCardsSuite, testPng } from './cards-suite.ts';
import { readCode128, rowOf } from './code128.ts';

const TSU = '24201';
const shots = path.join(repoRoot, 'test-artifacts', 'cards');
let s: CardsSuite;
let browser: Browser;
let people: SandboxResident[];

async function axe(page: Page, name: string): Promise<void> {
  const r = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  expect(
    r.violations.map((v) => `${name}: ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(' | ')}`),
  ).toEqual([]);
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
}

beforeAll(async () => {
  fs.mkdirSync(shots, { recursive: true });
  s = await startCardsSuite('tayori-cards-pages-');
  people = await sandboxResidents(s.url, TSU, 2);
  browser = await launchChromium();
  const card = testPng(640, 400, '#f7c6d0');
  await s.cards.images.upload(TSU, 'card', { type: 'image/png', data: card.toString('base64') }, 'test');
  await s.cards.images.publish(TSU, 'card', 'test');
  await s.cards.images.setShopCode(TSU, { shopCode: '1100-2233' });
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await s?.close();
});

describe('the card as a resident', () => {
  it('register (field errors first), see the card, then the card hidden with the reason past the boundary', async () => {
    const me = people[0]!.userId;
    const card0 = await openResidentPage(browser, s.url, TSU, 'cards/card', me);
    await card0.getByTestId('unregistered').waitFor();
    await axe(card0, 'cards/card (unregistered)');
    await card0.getByRole('link', { name: '登録する' }).click();
    await card0.waitForURL(/cards\/register/);
    await card0.locator('#c-form:not([aria-busy])').waitFor();
    await axe(card0, 'cards/register');
    await card0.getByRole('button', { name: '登録する' }).click();
    await expect.poll(() => card0.textContent('#err-holderName')).toBe('カード対象者の氏名を入力してください');
    expect(await card0.textContent('#err-relationship')).toBe('続柄を入力してください');
    expect(await card0.getAttribute('#holderName', 'aria-invalid')).toBe('true');
    await axe(card0, 'cards/register (errors)');
    await card0.fill('#holderName', '埼玉 花子');
    await card0.fill('#relationship', '母');
    await card0.fill('#child-0-name', '埼玉 太郎');
    await card0.fill('#child-0-birth', '2012-05-05');
    await card0.fill('#child-1-name', '埼玉 次郎');
    await card0.fill('#child-1-birth', '2016-09-09');
    await card0.screenshot({ path: path.join(shots, 'register.png'), fullPage: true });
    await card0.getByRole('button', { name: '登録する' }).click();
    await card0.waitForURL(/cards\/card/);
    await card0.context().close();

    const card = await openResidentPage(browser, s.url, TSU, 'cards/card', me);
    await card.getByTestId('card').waitFor();
    expect(await card.textContent('[data-testid=holder-name]')).toBe('埼玉 花子');
    expect(await card.textContent('[data-testid=children]')).toContain('埼玉 次郎');
    expect(await card.textContent('[data-testid=shop-code]')).toBe('1100-2233');
    // the barcode as the phone shows it (its displayed size on a 360-px screen), read by a scan line
    const bars = card.getByTestId('shop-barcode');
    expect(await bars.getAttribute('alt')).toBe('ショップコード 1100-2233 のバーコード');
    await expect
      .poll(() => bars.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth))
      .toBeGreaterThan(0);
    const shown = await bars.evaluate((img: HTMLImageElement) => {
      const c = document.createElement('canvas');
      c.width = Math.round(img.getBoundingClientRect().width);
      c.height = Math.round(img.getBoundingClientRect().height);
      const g = c.getContext('2d')!;
      g.drawImage(img, 0, 0, c.width, c.height);
      return { width: c.width, pixels: [...g.getImageData(0, Math.round(c.height * 0.4), c.width, 1).data] };
    });
    expect(shown.width).toBeGreaterThanOrEqual(280);
    expect(readCode128(rowOf(Uint8Array.from(shown.pixels), shown.width, 0)).text).toBe('1100-2233');
    await card.getByTestId('card-image').waitFor();
    const first = await card.textContent('[data-testid=clock]');
    await expect.poll(() => card.textContent('[data-testid=clock]'), { timeout: 5000 }).not.toBe(first);
    expect(await card.textContent('[data-testid=today]')).toMatch(/^令和\d+年\d+月\d+日/);
    await axe(card, 'cards/card');
    await card.screenshot({ path: path.join(shots, 'card.png'), fullPage: true });
    await card.context().close();

    // both children born long ago: the youngest reached 18 and the following 31 March has passed
    const change = await openResidentPage(browser, s.url, TSU, 'cards/register', me);
    await change.locator('#c-form:not([aria-busy])').waitFor();
    expect(await change.inputValue('#holderName')).toBe('埼玉 花子');
    await change.fill('#child-0-birth', '2000-05-05');
    await change.fill('#child-1-birth', '2006-09-09');
    await change.getByRole('button', { name: '変更を保存する' }).click();
    await change.waitForURL(/cards\/card/);
    await change.getByTestId('ineligible').waitFor();
    expect(await change.textContent('[data-testid=ineligible-reason]')).toContain('2025年3月31日');
    expect(await change.isHidden('[data-testid=card]')).toBe(true);
    expect(await change.isHidden('[data-testid=card-image]')).toBe(true);
    await axe(change, 'cards/card (ineligible)');
    await change.screenshot({ path: path.join(shots, 'card-ineligible.png'), fullPage: true });
    await change.context().close();
  }, 120_000);
});

describe('まいたまパス', () => {
  it('shows the pass image to a resident who registered nothing', async () => {
    const page = await openResidentPage(browser, s.url, TSU, 'cards/pass', people[1]!.userId);
    await page.locator('#c-no-pass:not([hidden])').waitFor();
    await page.context().close();
    const pass = testPng(600, 360, '#c6e0f7');
    await s.cards.images.upload(TSU, 'pass', { type: 'image/png', data: pass.toString('base64') }, 'test');
    await s.cards.images.publish(TSU, 'pass', 'test');
    const again = await openResidentPage(browser, s.url, TSU, 'cards/pass', people[1]!.userId);
    await again.getByTestId('pass-image').waitFor();
    expect(await again.getAttribute('[data-testid=pass-image]', 'alt')).toBe('まいたまパス');
    await axe(again, 'cards/pass');
    await again.screenshot({ path: path.join(shots, 'pass.png'), fullPage: true });
    await again.context().close();
  }, 60_000);
});
