import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Suite } from '../../cli/suite.ts';
import { chDateTime } from '../../core/time.ts';
import { launchChromium, operatorCall, signedInPage } from '../helpers/browser.ts';
import { harness, type Harness, repoRoot } from '../helpers/index.ts';

// 配信設定 in real Chromium against the suite (demo, small sandbox): staff add, rename, retire and
// restore areas, interest categories, extra items and their options, register and remove test
// devices and apply the rich menu; the API's Japanese errors show in the section; residents' earlier
// answers survive every change; an account without the 配信 permission only reads.
// Screenshot: test-artifacts/dashboard/settings-1.png.
let h: Harness;
const shots = path.join(repoRoot, 'test-artifacts', 'dashboard');
const TENANT = '24201';
const base = `/api/v1/tenants/${TENANT}`;
let suite: Suite;
let browser: Browser;
const op = <T = any>(method: string, p: string, body?: unknown) => operatorCall<T>(suite, method, p, body);
const RESIDENT = `U${'5e7'.repeat(10)}ab`;

beforeAll(async () => {
  fs.mkdirSync(shots, { recursive: true });
  h = await harness({ clickhouse: false, env: { TAYORI_DEMO_RESIDENT_RATIO: '0.0001', TAYORI_DEMO_SPEED: '1000' } });
  suite = await h.startSuite({ demo: true });
  expect(
    (
      await op('POST', '/api/v1/users', {
        username: 'tsu-settings',
        displayName: '津市 配信担当',
        role: 'municipality',
        tenantId: TENANT,
        password: 'municipal-pass-3',
        permissions: ['deliver'],
      })
    ).status,
  ).toBe(201);
  expect(
    (
      await op('POST', '/api/v1/users', {
        username: 'tsu-reader',
        displayName: '津市 閲覧',
        role: 'municipality',
        tenantId: TENANT,
        password: 'municipal-pass-4',
        permissions: [],
      })
    ).status,
  ).toBe(201);
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

const section = (page: Page, id: string) => page.locator(`#${id}`);
const statusIs = (page: Page, id: string, text: string) =>
  page.waitForFunction(([sel, want]) => document.querySelector(sel!)?.textContent === want, [
    `#${id} .status`,
    text,
  ] as const);
const categories = async () =>
  (
    await op<{ categories: Array<{ id: string; parentId: string; name: string; retired: boolean; sort: number }> }>(
      'GET',
      `${base}/categories`,
    )
  ).body.categories;

describe('配信設定 in Chromium', () => {
  it("changes areas, the interest tree, items, test devices and the rich menu, keeping residents' answers", async () => {
    const page = await signedInPage(browser, suite.url, 'tsu-settings', 'municipal-pass-3', {
      viewport: { width: 1200, height: 1000 },
    });
    await page.goto(`${suite.url}/municipalities/${TENANT}/deliveries`);
    await page.click('#settings-link');
    await page.waitForURL(`**/municipalities/${TENANT}/delivery-settings`);

    // 地域: an empty name is refused in Japanese; a real one is added, renamed, retired and restored
    const areas = section(page, 'areas');
    await areas.locator('form.add-row button').click();
    await statusIs(page, 'areas', '名称を入力してください');
    await areas.locator('input[data-role=new]').fill('久居');
    await areas.locator('form.add-row button').click();
    await statusIs(page, 'areas', '地域「久居」を追加しました。');
    const hisai = (await categories()).find((c) => c.parentId === '@area' && c.name === '久居')!;
    expect(hisai).toBeTruthy();
    // a resident who lives there
    await suite.ch.insert({
      table: 'resident_attributes',
      format: 'JSONEachRow',
      values: [
        {
          tenant_id: TENANT,
          user_id: RESIDENT,
          item: 'residence',
          values: [hisai.id],
          answered_at: chDateTime(Date.now()),
          version: 1,
          is_deleted: 0,
        },
      ],
    });
    await areas.locator('input[data-role=name]').fill('久居地区');
    await page.click('button[aria-label="地域「久居」の名前を保存"]');
    await statusIs(page, 'areas', '「久居地区」に変更しました。');
    await page.click('button[aria-label="地域「久居地区」を廃止する"]');
    await statusIs(page, 'areas', '「久居地区」を廃止しました (登録済みの内容は残ります)。');
    expect(await areas.locator('.name-row.retired .badge').textContent()).toBe('廃止');
    expect((await categories()).find((c) => c.id === hisai.id)).toMatchObject({ name: '久居地区', retired: true });
    expect((await op('GET', `${base}/residents/${RESIDENT}/attributes`)).body.attributes.residence).toEqual([hisai.id]);
    await page.click('button[aria-label="地域「久居地区」を使用に戻す"]');
    await statusIs(page, 'areas', '「久居地区」を使用に戻しました。');
    expect((await categories()).find((c) => c.id === hisai.id)!.retired).toBe(false);

    // 関心のある分野: a middle category under the first large one, and a renamed large one
    const tree = section(page, 'interests');
    const first = tree.locator('.large').first();
    const large = await first.locator('input[data-role=name]').first().inputValue();
    await first.locator('input[data-role=new]').fill('熱中症');
    await first.locator('form.add-row button').click();
    await statusIs(page, 'interests', `「${large} › 熱中症」を追加しました。`);
    const cats = await categories();
    const l = cats.find((c) => c.parentId === '' && c.name === large)!;
    expect(cats.some((c) => c.parentId === l.id && c.name === '熱中症')).toBe(true);
    // moved up one place: the order residents' quick replies follow
    const middles = () => cats.filter((c) => c.parentId === l.id);
    const before = middles().map((c) => c.name);
    await page.click(`button[aria-label="中分類「${large} › 熱中症」を上へ"]`);
    await statusIs(page, 'interests', '「熱中症」を上へ移しました。');
    const order = (await categories())
      .filter((c) => c.parentId === l.id)
      .sort((a, b) => a.sort - b.sort)
      .map((c) => c.name);
    expect(order).toEqual([...before.slice(0, -2), '熱中症', before.at(-2)]);
    expect(await page.isDisabled(`button[aria-label="大分類「${large}」を上へ"]`)).toBe(true);
    await tree.locator('.large').first().locator('input[data-role=name]').first().fill(`${large}・安全`);
    await page.click(`button[aria-label="大分類「${large}」の名前を保存"]`);
    await statusIs(page, 'interests', `「${large}・安全」に変更しました。`);

    // 追加の登録項目: without options it is refused; with them it is added; an option added and one retired
    const items = section(page, 'items');
    await items.locator('[data-role=item-label]').fill('健康マイレージ');
    await items.locator('form.new-item button').click();
    await statusIs(page, 'items', '選択肢を 1 つ以上指定してください');
    await items.locator('[data-role=item-options]').fill('参加している\n参加していない\n');
    await items.locator('form.new-item button').click();
    await statusIs(page, 'items', '項目「健康マイレージ」を追加しました。');
    await items.locator('.item form.add-row input').fill('検討中');
    await items.locator('.item form.add-row button').click();
    await statusIs(page, 'items', '選択肢「検討中」を追加しました。');
    await page.click('button[aria-label="項目「健康マイレージ」の選択肢「参加していない」を廃止する"]');
    await statusIs(page, 'items', '選択肢「参加していない」を廃止しました。');
    const item = (
      await op<{
        items: Array<{
          label: string;
          multiple: boolean;
          options: Array<{ id: string; label: string; retired?: boolean }>;
        }>;
      }>('GET', `${base}/attribute-items`)
    ).body.items.find((i) => i.label === '健康マイレージ')!;
    expect(item.multiple).toBe(false);
    expect(item.options).toEqual([
      { id: 'o1', label: '参加している' },
      { id: 'o2', label: '参加していない', retired: true },
      { id: 'o3', label: '検討中' },
    ]);

    // テスト端末: a malformed id is refused; a real one registered, listed and removed
    const devices = section(page, 'test-devices');
    await devices.locator('[data-role=device-user]').fill('U123');
    await devices.locator('form.add-row button').click();
    await statusIs(page, 'test-devices', 'LINE のユーザー ID (U で始まる 33 文字) を指定してください');
    await devices.locator('[data-role=device-user]').fill(RESIDENT);
    await devices.locator('[data-role=device-label]').fill('係長のスマートフォン');
    await devices.locator('form.add-row button').click();
    await statusIs(page, 'test-devices', 'テスト端末を登録しました。');
    expect(await devices.locator('tbody tr').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining('係長のスマートフォン')]),
    );
    expect((await op('GET', `${base}/test-devices`)).body.devices).toEqual(
      expect.arrayContaining([expect.objectContaining({ userId: RESIDENT, label: '係長のスマートフォン' })]),
    );

    // リッチメニュー: an http address is refused (LINE opens https), an https one applied
    const menu = section(page, 'rich-menu');
    await menu.locator('[data-role=news-url]').fill('http://www.info.city.tsu.mie.jp/');
    await menu.locator('form button').click();
    await page.waitForFunction(
      () =>
        /https/.test(document.querySelector('#rich-menu .status')?.textContent ?? '') &&
        document.querySelector('#rich-menu .status')!.classList.contains('error-text'),
    );
    await menu.locator('[data-role=news-url]').fill('https://www.info.city.tsu.mie.jp/');
    await menu.locator('[data-role=contact-url]').fill('https://www.info.city.tsu.mie.jp/contact/');
    await menu.locator('form button').click();
    await statusIs(page, 'rich-menu', 'リッチメニューを適用しました。');
    expect(await menu.locator('.section-body p').first().textContent()).toMatch(/^適用済み/);
    expect((await op('GET', `${base}/rich-menu`)).body.richMenu).toMatchObject({
      newsUrl: 'https://www.info.city.tsu.mie.jp/',
      contactUrl: 'https://www.info.city.tsu.mie.jp/contact/',
    });
    await page.screenshot({ path: path.join(shots, 'settings-1.png'), fullPage: true });

    page.once('dialog', (d) => void d.accept());
    await page.click('button[aria-label="テスト端末「係長のスマートフォン」を削除"]');
    await statusIs(page, 'test-devices', '削除しました。');
    expect(
      (await op('GET', `${base}/test-devices`)).body.devices.some((d: { userId: string }) => d.userId === RESIDENT),
    ).toBe(false);
    await page.context().close();
  });

  it('shows an account without the 配信 permission everything, and lets it change nothing', async () => {
    const page = await signedInPage(browser, suite.url, 'tsu-reader', 'municipal-pass-4');
    await page.goto(`${suite.url}/municipalities/${TENANT}/delivery-settings`);
    await page.waitForSelector('#areas .name-row input');
    expect(await page.textContent('#delivery-settings > p.note')).toContain('表示のみです');
    expect(
      await page.$$eval('#delivery-settings input:not([disabled]), #delivery-settings form', (xs) => xs.length),
    ).toBe(0);
    expect(await page.$$eval('#delivery-settings button:not([disabled])', (xs) => xs.length)).toBe(0);
    await page.context().close();
  });
});
