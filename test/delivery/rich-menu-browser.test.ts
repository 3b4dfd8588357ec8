/**
 * The rich menu editor in real Chromium against the suite (demo, small sandbox), and who may use it:
 * - permissions: reading for anyone who sees the tenant; designing, uploading, publishing only with
 *   チャネルの管理 (403 otherwise, in Japanese); another municipality's menus 403; no session 401;
 *   residents have no route (the LIFF API has none);
 * - a contractor with チャネルの管理 opens リッチメニュー from 配信設定, designs 基本メニュー on a
 *   standard layout with an uploaded image (a too-small image refused in Japanese), publishes it,
 *   adds a 防災 tab that switches back, switches 基本メニュー's second area to 防災, sees the
 *   phone-sized preview with the areas outlined, rolls back by the version list, and shows the
 *   防災 tab to a segment built with the composer's builder (as many residents as it counts);
 * - a resident opens the sandbox's page of the menu they see, taps the tab area and sees the 防災
 *   menu, taps its tab area and is back. The editor page passes axe-core (WCAG 2.1 AA).
 * Screenshot: test-artifacts/dashboard/rich-menu-editor.png.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Suite } from '../../cli/suite.ts';
import { launchChromium, operatorCall, signedInPage } from '../helpers/browser.ts';
import { harness, type Harness, repoRoot, sandboxHook, waitFor } from '../helpers/index.ts';
import { pngOf } from '../helpers/rich-menu-fixtures.ts';

const TENANT = '24201';
const OTHER = '24202';
const shots = path.join(repoRoot, 'test-artifacts', 'dashboard');
let h: Harness;
let suite: Suite;
let browser: Browser;
const tokens: Record<string, string> = {};
const op = <T = any>(method: string, p: string, body?: unknown) => operatorCall<T>(suite, method, p, body);
const as = async (who: string | undefined, method: string, p: string, body?: unknown) => {
  const res = await fetch(suite.url + p, {
    method,
    headers: {
      ...(who ? { authorization: `Bearer ${tokens[who]}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json().catch(() => ({}))) as any };
};

beforeAll(async () => {
  fs.mkdirSync(shots, { recursive: true });
  h = await harness({ clickhouse: false, env: { TAYORI_DEMO_RESIDENT_RATIO: '0.0001', TAYORI_DEMO_SPEED: '1000' } });
  suite = await h.startSuite({ demo: true });
  for (const [username, role, tenantId, permissions] of [
    ['itaku-rm', 'contractor', null, ['deliver', 'manage_channels']],
    ['tsu-rm', 'municipality', TENANT, ['deliver']],
    ['yokkaichi-rm', 'municipality', OTHER, ['deliver']],
  ] as const) {
    const r = await op('POST', '/api/v1/users', {
      username,
      displayName: username,
      role,
      tenantId,
      password: `${username}-pass-9`,
      permissions,
    });
    expect(r.status).toBe(201);
    tokens[username] = (await op<{ token: string }>('POST', `/api/v1/users/${username}/tokens`, {})).body.token;
  }
  browser = await launchChromium();
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

const base = `/api/v1/tenants/${TENANT}/rich-menus`;

describe('who may use the rich menu editor', () => {
  it('reads for those who see the tenant, changes only with チャネルの管理, never for residents', async () => {
    expect((await as(undefined, 'GET', base)).status).toBe(401);
    const read = await as('tsu-rm', 'GET', base);
    expect(read.status).toBe(200);
    expect(read.body.menus[0]).toMatchObject({ title: '基本メニュー', isDefault: true });
    expect(read.body.layouts.length).toBeGreaterThanOrEqual(10);
    const create = await as('tsu-rm', 'POST', base, { title: '防災' });
    expect(create.status).toBe(403);
    expect(create.body.error.code).toBe('forbidden');
    expect(create.body.error.message).toMatch(/チャネルの管理|権限/);
    const image = await as('tsu-rm', 'POST', `${base}/images`, {
      type: 'image/png',
      data: pngOf(2500, 843).toString('base64'),
    });
    expect(image.status).toBe(403);
    const menuId = read.body.menus[0].menuId as string;
    expect((await as('tsu-rm', 'POST', `${base}/${menuId}/publish`, { version: 1 })).status).toBe(403);
    expect((await as('tsu-rm', 'POST', `${base}/${menuId}/rollback`, { version: 1 })).status).toBe(403);
    expect((await as('yokkaichi-rm', 'GET', base)).status).toBe(403);
    // a resident's LIFF API has no rich menu route
    const resident = await fetch(`${suite.url}/liff-api/${TENANT}/rich-menus/images`, { method: 'POST' });
    expect([401, 404]).toContain(resident.status);
    // チャネルの管理: allowed, bad input in Japanese with a code
    const bad = await as('itaku-rm', 'POST', `${base}/images`, { type: 'image/gif', data: 'R0lGOD' });
    expect(bad.status).toBe(415);
    expect(bad.body.error).toMatchObject({ code: 'image_type', message: '画像は PNG か JPEG にしてください' });
    const badVersion = await as('itaku-rm', 'POST', `${base}/${menuId}/publish`, { version: 'x' });
    expect(badVersion.body.error.code).toBe('invalid_version');
    expect((await as('itaku-rm', 'GET', `${base}/not-a-menu`)).status).toBe(404);
  });
});

describe('areas that open resident pages', () => {
  it("point at the tenant's LIFF app (core/resident-shell.ts liffUrl; the sandbox's own LIFF pages here)", async () => {
    const menu = (await as('itaku-rm', 'POST', base, { title: 'LIFF' })).body.menu;
    const image = await as('itaku-rm', 'POST', `${base}/images`, {
      type: 'image/png',
      data: pngOf(2500, 843, '#0d47a1').toString('base64'),
    });
    expect(image.status).toBe(201);
    const saved = await as('itaku-rm', 'POST', `${base}/${menu.menuId}/versions`, {
      name: 'LIFF',
      chatBarText: 'メニュー',
      layout: 'compact-3',
      imageId: image.body.imageId,
      areas: [
        { label: 'マイレージ', action: { type: 'mileage' } },
        { label: 'よくある質問', action: { type: 'faq' } },
        { label: '優待カード', action: { type: 'card' } },
      ],
    });
    expect(saved.status).toBe(201);
    expect((await as('itaku-rm', 'POST', `${base}/${menu.menuId}/publish`, { version: 1 })).status).toBe(202);
    const live = await waitFor(
      async () => {
        const m = (await as('itaku-rm', 'GET', `${base}/${menu.menuId}`)).body.menu;
        return m.liveVersion === 1 && !m.job ? m : undefined;
      },
      30_000,
      'the publication',
    );
    const tenant = await suite.tenants.require(TENANT);
    const uris = suite
      .sandbox!.api.state.richMenus.get(tenant.channelId!, live.lineRichMenuId)!
      .menu.areas.map((a) => a.action.uri);
    expect(uris).toEqual(['mileage', 'faq', 'cards/card'].map((p) => suite.residents.liffUrl(tenant, p)));
    expect(uris[0]).toMatch(/\/mileage$/);
    expect((await as('itaku-rm', 'DELETE', `${base}/${menu.menuId}`)).status).toBe(200);
  });
});

const statusIs = async (page: Page, text: string) => {
  try {
    await page.waitForFunction((want) => document.querySelector('#rm-status')?.textContent === want, text, {
      timeout: 30_000,
    });
  } catch (e) {
    throw new Error(`status is not 「${text}」 but 「${await page.textContent('#rm-status')}」`, { cause: e });
  }
};

describe('the editor in Chromium', () => {
  it('designs, publishes, adds a tab, previews, rolls back; a resident taps the tab and sees the other menu', async () => {
    const page = await signedInPage(browser, suite.url, 'itaku-rm', 'itaku-rm-pass-9', {
      viewport: { width: 1300, height: 1100 },
    });
    await page.goto(`${suite.url}/municipalities/${TENANT}/delivery-settings`);
    await page.click('#rich-menus-link');
    await page.waitForURL(`**/municipalities/${TENANT}/rich-menus`);
    await page.waitForSelector('#rm-form');

    // 基本メニュー: a compact layout of two areas on an uploaded image
    await page.fill('#rm-name', '津市 基本メニュー');
    await page.fill('#rm-bar', 'メニュー');
    await page.selectOption('#rm-layout', 'compact-2');
    await page.setInputFiles('#rm-image', { name: 'small.png', mimeType: 'image/png', buffer: pngOf(600, 300) });
    await page.waitForSelector('#rm-image-err:not([hidden])');
    expect(await page.textContent('#rm-image-err')).toContain('画像の幅は 800〜2500 ピクセルにしてください');
    await page.setInputFiles('#rm-image', { name: 'menu.png', mimeType: 'image/png', buffer: pngOf(2500, 843) });
    await statusIs(page, '画像を登録しました (2500×843)');
    await page.selectOption('#rm-area-0-type', 'registration');
    await page.fill('#rm-area-0-label', '登録内容');
    await page.fill('#rm-area-1-label', 'お知らせ');
    await page.fill('#rm-area-1-param', 'https://www.example.jp/news');
    await page.click('#rm-publish');
    await statusIs(page, '版 2 を公開しました');

    // the 防災 tab, switching back to 基本メニュー
    await page.fill('#rm-new-title', '防災');
    await page.click('#rm-add-menu');
    await statusIs(page, 'タブ「防災」を追加しました');
    await page.waitForSelector('#rm-form-h:has-text("防災")');
    await page.fill('#rm-name', '防災メニュー');
    await page.fill('#rm-bar', '防災');
    await page.selectOption('#rm-layout', 'compact-2');
    await page.setInputFiles('#rm-image', {
      name: 'bousai.png',
      mimeType: 'image/png',
      buffer: pngOf(2500, 843, '#b71c1c'),
    });
    await statusIs(page, '画像を登録しました (2500×843)');
    await page.fill('#rm-area-0-label', '避難所');
    await page.fill('#rm-area-0-param', 'https://www.example.jp/hinan');
    await page.fill('#rm-area-1-label', '基本に戻る');
    await page.selectOption('#rm-area-1-type', 'switch');
    await page.selectOption('#rm-area-1-param', { label: '基本メニュー' });
    await page.click('#rm-publish');
    await statusIs(page, '版 1 を公開しました');

    // 基本メニュー's second area becomes the tab to 防災
    await page.click('.rm-tabs button:has-text("基本メニュー")');
    await page.waitForSelector('#rm-form-h:has-text("基本メニュー")');
    await page.fill('#rm-area-1-label', '防災タブ');
    await page.selectOption('#rm-area-1-type', 'switch');
    await page.selectOption('#rm-area-1-param', { label: '防災' });
    await page.click('#rm-publish');
    await statusIs(page, '版 3 を公開しました');

    // the preview: phone-sized, the areas outlined with their labels
    await page.waitForSelector('#rm-stage .rm-area');
    expect(await page.locator('#rm-stage .rm-area').allTextContents()).toEqual(['1 登録内容', '2 防災タブ']);
    const phone = (await page.locator('.rm-phone').boundingBox())!;
    expect(phone.width).toBeLessThanOrEqual(380);
    const second = (await page.locator('#rm-stage .rm-area[data-area="1"]').boundingBox())!;
    const stage = (await page.locator('#rm-stage').boundingBox())!;
    expect(second.x - stage.x).toBeGreaterThan(stage.width * 0.45);
    const axe = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
    expect(axe.violations.map((v) => v.id)).toEqual([]);
    await page.screenshot({ path: path.join(shots, 'rich-menu-editor.png'), fullPage: true });

    const menus = (await as('itaku-rm', 'GET', base)).body.menus as Array<{
      menuId: string;
      title: string;
      lineRichMenuId: string;
      liveVersion: number;
    }>;
    const basic = menus.find((m) => m.title === '基本メニュー')!;
    const bousai = menus.find((m) => m.title === '防災')!;
    expect(basic.liveVersion).toBe(3);

    // a resident taps the tab area in the sandbox's page and sees the other menu
    const channel = (await suite.tenants.require(TENANT)).channelId;
    const [resident] = (await sandboxHook(suite.sandbox!.url, 'POST', `/channels/${channel}/residents?friends=1`))
      .friends as string[];
    const phonePage = await browser.newPage({ viewport: { width: 400, height: 700 } });
    await phonePage.goto(`${suite.sandbox!.url}/__sandbox/rich-menus/${channel}/${resident}`);
    const shown = () => phonePage.getAttribute('#rich-menu', 'data-rich-menu-id');
    expect(await shown()).toBe(basic.lineRichMenuId);
    await Promise.all([phonePage.waitForNavigation(), phonePage.click('button[data-area="1"]')]);
    expect(await shown()).toBe(bousai.lineRichMenuId);
    expect(await phonePage.textContent('h1')).toBe('防災メニュー');
    await Promise.all([phonePage.waitForNavigation(), phonePage.click('button[data-area="1"]')]);
    expect(await shown()).toBe(basic.lineRichMenuId);
    await phonePage.close();

    // roll back to version 2 from the list, in one step
    await page.click('#rm-versions li[data-version="2"] button');
    await statusIs(page, '版 2 に戻しました');
    const after = (await as('itaku-rm', 'GET', `${base}/${basic.menuId}`)).body;
    expect(after.menu.liveVersion).toBe(2);

    // areas drawn on the image: 防災 on the free layout, a third area dragged out on the preview, saved as a draft
    await page.click('.rm-tabs button:has-text("防災")');
    await page.waitForSelector('#rm-form-h:has-text("防災")');
    await page.selectOption('#rm-layout', 'custom');
    const box = (await page.locator('#rm-stage').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.1, box.y + box.height * 0.1);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.5, { steps: 4 });
    await page.mouse.up();
    await page.waitForSelector('#rm-area-2-label');
    expect(await page.locator('#rm-stage .rm-area').count()).toBe(3);
    await page.fill('#rm-area-2-label', '描いたエリア');
    await page.fill('#rm-area-2-param', 'https://www.example.jp/drawn');
    await page.click('#rm-save');
    await statusIs(page, '版 2 を下書きとして保存しました');
    const drawn = (await as('itaku-rm', 'GET', `${base}/${bousai.menuId}`)).body.versions[0].design;
    expect(drawn.layout).toBe('custom');
    expect(drawn.areas).toHaveLength(3);
    const b = drawn.areas[2].bounds;
    expect(b.x).toBeGreaterThan(150);
    expect(b.x).toBeLessThan(350);
    expect(b.x + b.width).toBeGreaterThan(650);
    expect(b.x + b.width).toBeLessThan(850);

    // the 防災 tab for women only, with the composer's segment builder: as many linked as the segment counts
    await page.click('.rm-tabs button:has-text("防災")');
    await page.waitForSelector('#rm-segment select[data-role=attr]');
    await page.click('#rm-audience-save');
    await page.waitForFunction(() =>
      document.querySelector('#rm-status')?.textContent?.includes('属性を選んでください'),
    );
    // (the builder draws itself once the attribute list has loaded: choose again if that came after)
    for (let i = 0; i < 10 && !(await page.locator('#rm-segment input[value=female]').count()); i++) {
      await page.selectOption('#rm-segment select[data-role=attr] >> nth=0', 'gender');
      await page.waitForTimeout(300);
    }
    await page.check('#rm-segment .seg-cond >> nth=0 >> label:has-text("女性") input');
    await page.click('#rm-audience-save');
    await page.waitForFunction(() => document.querySelector('#rm-status')?.textContent?.startsWith('保存しました'));
    const saved = (await as('itaku-rm', 'GET', `${base}/${bousai.menuId}`)).body.menu;
    expect(saved.audience).toMatchObject({ attr: 'gender', op: 'in' });
    const count = await as('itaku-rm', 'POST', `/api/v1/tenants/${TENANT}/deliveries/count`, {
      audience: { type: 'segment', condition: saved.audience },
    });
    expect(await page.textContent('#rm-status')).toBe(`保存しました (${count.body.count} 人に表示、0 人の表示を解除)`);
    await page.close();
  });
});
