import fs from 'node:fs';
import { AxeBuilder } from '@axe-core/playwright';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Suite } from '../../cli/suite.ts';
import { createLogger } from '../../core/logger.ts';
import { chDateTime } from '../../core/time.ts';
import { launchChromium, operatorCall, signedInPage } from '../helpers/browser.ts';
import { harness, type Harness, repoRoot, waitFor } from '../helpers/index.ts';

// The 配信 composer in real Chromium against the suite in this process (its sandbox small: check,
// preview and test-send go through LINE's validate endpoint): a segment built in the page counts what
// a direct ClickHouse count says, errors sit next to their fields, the preview shows the text, and a
// draft keeps the audience the page built. Screenshots go to test-artifacts/dashboard/composer-*.png.
let h: Harness;
const shots = path.join(repoRoot, 'test-artifacts', 'dashboard');
const TENANT = '24201';
let suite: Suite;
let browser: Browser;
let area = '';
let otherArea = '';
/** A middle category of the demo's interest tree: large/middle. */
let middle = { path: '', label: '' };

const op = <T = any>(method: string, p: string, body?: unknown) => operatorCall<T>(suite, method, p, body);
const uid = (n: number) => `U${'c0ffee'}${String(n).padStart(26, '0')}`;

beforeAll(async () => {
  fs.mkdirSync(shots, { recursive: true });
  h = await harness({ clickhouse: false, env: { TAYORI_DEMO_RESIDENT_RATIO: '0.0001', TAYORI_DEMO_SPEED: '1000' } });
  suite = await h.startSuite({ demo: true }, createLogger(process.env.DBG ? 'error' : 'silent'));
  expect(
    (
      await op('POST', '/api/v1/users', {
        username: 'tsu-export',
        displayName: '津市 分析担当',
        role: 'municipality',
        tenantId: TENANT,
        password: 'municipal-pass-2',
        permissions: ['export_residents'],
      })
    ).status,
  ).toBe(201);
  expect(
    (
      await op('POST', '/api/v1/users', {
        username: 'tsu-deliver',
        displayName: '津市 配信担当',
        role: 'municipality',
        tenantId: TENANT,
        password: 'municipal-pass-1',
        permissions: ['deliver'],
      })
    ).status,
  ).toBe(201);
  // two areas of Tsu, and residents who registered gender and residence (one of them has blocked)
  const a = await op<{ id: string }>('POST', `/api/v1/tenants/${TENANT}/categories`, {
    parentId: '@area',
    name: '久居',
  });
  const b = await op<{ id: string }>('POST', `/api/v1/tenants/${TENANT}/categories`, {
    parentId: '@area',
    name: '一志',
  });
  expect([a.status, b.status]).toEqual([201, 201]);
  area = a.body.id;
  otherArea = b.body.id;
  const people: Array<[number, 0 | 1, string, string]> = [
    [1, 1, 'female', area],
    [2, 1, 'female', area],
    [3, 1, 'female', area],
    [4, 0, 'female', area],
    [5, 1, 'female', otherArea],
    [6, 1, 'male', area],
    [7, 1, 'male', area],
    [8, 1, 'other', otherArea],
  ];
  const now = chDateTime(Date.now());
  await suite.ch.insert({
    table: 'resident_states',
    format: 'JSONEachRow',
    values: people.map(([n, f]) => ({ tenant_id: TENANT, user_id: uid(n), is_friend: f, changed_at: now, version: 1 })),
  });
  await suite.ch.insert({
    table: 'resident_attributes',
    format: 'JSONEachRow',
    values: people.flatMap(([n, , g, r]) => [
      { tenant_id: TENANT, user_id: uid(n), item: 'gender', values: [g], answered_at: now, version: 1, is_deleted: 0 },
      {
        tenant_id: TENANT,
        user_id: uid(n),
        item: 'residence',
        values: [r],
        answered_at: now,
        version: 1,
        is_deleted: 0,
      },
    ]),
  });
  // 関心のある分野 as residents answer it: large/middle/area, or large/middle where there were no areas
  const cats = (
    await op<{ categories: Array<{ id: string; parentId: string; name: string; retired: boolean }> }>(
      'GET',
      `/api/v1/tenants/${TENANT}/categories`,
    )
  ).body.categories.filter((c) => !c.retired);
  const large = cats.find((c) => c.parentId === '' && cats.some((m) => m.parentId === c.id))!;
  const mid = cats.find((c) => c.parentId === large.id)!;
  middle = { path: `${large.id}/${mid.id}`, label: `${large.name} › ${mid.name}` };
  const interests: Array<[number, string]> = [
    [1, `${middle.path}/${area}`],
    [2, `${middle.path}/${otherArea}`],
    [3, middle.path],
    [4, `${middle.path}/${area}`],
    [6, `${middle.path}/${area}`],
  ];
  await suite.ch.insert({
    table: 'resident_attributes',
    format: 'JSONEachRow',
    values: interests.map(([n, v]) => ({
      tenant_id: TENANT,
      user_id: uid(n),
      item: 'interests',
      values: [v],
      answered_at: now,
      version: 1,
      is_deleted: 0,
    })),
  });
  expect(
    (await op('POST', `/api/v1/tenants/${TENANT}/test-devices`, { userId: uid(99), label: '担当者のスマートフォン' }))
      .status,
  ).toBe(201);
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

/** Residents of Tsu who are friends now, female and living (or, `outside`, not living) in `area` — counted straight from ClickHouse. */
async function directCount(outside = false): Promise<number> {
  const rs = await suite.ch.query({
    query: `SELECT count() AS n FROM (
        SELECT user_id FROM resident_states FINAL WHERE tenant_id = {t:String} AND is_friend = 1
      ) WHERE user_id IN (SELECT user_id FROM resident_attributes FINAL WHERE tenant_id = {t:String} AND item = 'gender' AND is_deleted = 0 AND has(values, 'female'))
        AND user_id ${outside ? 'NOT IN' : 'IN'} (SELECT user_id FROM resident_attributes FINAL WHERE tenant_id = {t:String} AND item = 'residence' AND is_deleted = 0 AND has(values, {a:String}))`,
    query_params: { t: TENANT, a: area },
    format: 'JSONEachRow',
  });
  return Number((await rs.json<{ n: string }>())[0]!.n);
}

/** Friends of Tsu whose 関心のある分野 is `path` or below it — counted straight from ClickHouse. */
async function interestCount(path: string): Promise<number> {
  const rs = await suite.ch.query({
    query: `SELECT count() AS n FROM (
        SELECT user_id FROM resident_states FINAL WHERE tenant_id = {t:String} AND is_friend = 1
      ) WHERE user_id IN (SELECT user_id FROM resident_attributes FINAL WHERE tenant_id = {t:String} AND item = 'interests' AND is_deleted = 0
        AND arrayExists(x -> x = {p:String} OR startsWith(x, concat({p:String}, '/')), values))`,
    query_params: { t: TENANT, p: path },
    format: 'JSONEachRow',
  });
  return Number((await rs.json<{ n: string }>())[0]!.n);
}

/** Waits until the delivery is done (`what`: what it is, for the timeout's message). */
const untilDone = (id: string, what: string) =>
  waitFor(
    async () =>
      (await op<{ status: string }>('GET', `/api/v1/tenants/${TENANT}/deliveries/${id}`)).body.status === 'done',
    30_000,
    what,
  );

const countIs = (page: Page, n: number) =>
  page.waitForFunction(
    (want) => document.getElementById('audience-count')!.getAttribute('data-count') === String(want),
    n,
  );

describe('配信 composer in Chromium', () => {
  it('builds a segment with a live count, shows errors per field, previews, test-sends and saves a draft with the same audience', async () => {
    const page = await signedInPage(browser, suite.url, 'tsu-deliver', 'municipal-pass-1', {
      viewport: { width: 1400, height: 1200 },
    });
    await page.goto(`${suite.url}/municipalities/${TENANT}/deliveries`);
    await page.waitForSelector('textarea[name=text]');
    // all friends by default, counted at once; broadcast is the default way
    await page.waitForFunction(() =>
      /この条件で届く人数: [\d,]+ 人/.test(document.getElementById('audience-count')!.textContent!),
    );
    expect(await page.isChecked('input[name=sendMethod][value=broadcast]')).toBe(true);
    await page.waitForFunction(() => document.getElementById('test-device-count')!.textContent === '(1 台)');

    // the segment: gender = female AND residence = 久居
    await page.check('input[name=audienceType][value=segment]');
    await page.waitForSelector('#segment-builder select[data-role=attr]');
    expect(await page.isVisible('#send-method')).toBe(false);
    await page.selectOption('#segment-builder select[data-role=attr] >> nth=0', 'gender');
    await page.check('#segment-builder .seg-cond >> nth=0 >> label:has-text("女性") input');
    await page.click('#segment-builder button:has-text("条件を追加")');
    await page.selectOption('#segment-builder select[data-role=attr] >> nth=1', 'residence');
    await page.check('#segment-builder .seg-cond >> nth=1 >> label:has-text("久居") input');
    const want = await directCount();
    expect(want).toBe(3);
    await countIs(page, want);
    expect(await page.textContent('#audience-count')).toBe(`この条件で届く人数: ${want} 人`);
    expect(await page.textContent('#segment-summary')).toBe('性別: 女性 かつ お住まい: 久居');
    // を除く (NOT) on the residence: female residents elsewhere
    await page.check('#segment-builder .seg-cond >> nth=1 >> input[data-role=not]');
    const outside = await directCount(true);
    expect(outside).toBeGreaterThanOrEqual(1);
    await countIs(page, outside);
    await page.uncheck('#segment-builder .seg-cond >> nth=1 >> input[data-role=not]');
    await countIs(page, want);
    // a second group, OR'ed: born 1950–1969; counted, described, then removed again
    await page.click('#add-group');
    await page.selectOption('#segment-builder .seg-group >> nth=1 >> select[data-role=attr]', 'birth_year');
    await page.waitForFunction(() =>
      /生まれ年 \(から・まで\)/.test(document.getElementById('audience-count')!.textContent!),
    );
    await page.fill('#segment-builder input[data-role=min]', '1950');
    await page.fill('#segment-builder input[data-role=max]', '1969');
    await page.selectOption('#segment-builder .seg-root-op select', 'or');
    await page.waitForFunction(
      () =>
        document.getElementById('segment-summary')!.textContent ===
        '(性別: 女性 かつ お住まい: 久居) または 生まれ年: 1950〜1969年',
    );
    expect(await page.evaluate(() => (window as any).tayoriComposer.audience().condition)).toEqual({
      or: [
        {
          and: [
            { attr: 'gender', op: 'in', values: ['female'] },
            { attr: 'residence', op: 'in', values: [area] },
          ],
        },
        { attr: 'birth_year', op: 'between', min: 1950, max: 1969 },
      ],
    });
    await page.waitForFunction(() =>
      /^\d+$/.test(document.getElementById('audience-count')!.getAttribute('data-count') ?? ''),
    );
    expect(Number(await page.getAttribute('#audience-count', 'data-count'))).toBeGreaterThanOrEqual(want);
    await page.click('button[aria-label="グループ 2 を削除"]');
    await countIs(page, want);

    // two messages: a text, and an empty one → 内容を確認 shows the error next to its field
    await page.fill('input[name=title]', '久居地区の女性向け 健康教室のご案内');
    await page.fill(
      'textarea[name=text] >> nth=0',
      '6月20日(土) 10時から 久居保健センターで健康教室を開きます。\nhttps://example.jp/kenko',
    );
    expect(await page.textContent('.message >> nth=0 >> .counter')).toMatch(/^\d+ \/ 5,000 文字$/);
    await page.click('#add-message');
    await page.click('#validate-button');
    await page.waitForSelector('[data-field="messages.1.text"][aria-invalid=true]');
    const slot = await page.$eval('[data-field="messages.1.text"]', (t) => {
      const id = t
        .getAttribute('aria-describedby')!
        .split(' ')
        .find((i) => document.getElementById(i)!.classList.contains('field-error'))!;
      const p = document.getElementById(id)!;
      return {
        text: p.textContent,
        hidden: p.hidden,
        inSameMessage: t.closest('fieldset.message') === p.closest('fieldset.message'),
      };
    });
    expect(slot).toEqual({ text: '本文を入力してください', hidden: false, inSameMessage: true });
    expect(await page.getAttribute('[data-field="messages.0.text"]', 'aria-invalid')).toBeNull();
    expect(await page.textContent('.form-summary')).toContain('本文を入力してください');
    await page.screenshot({ path: path.join(shots, 'composer-1-segment-and-error.png'), fullPage: true });

    // the second message becomes a sticker, moved up; then removed again
    await page.selectOption('[data-field="messages.1.type"]', 'sticker');
    await page.fill('[data-field="messages.1.packageId"]', '446');
    await page.fill('[data-field="messages.1.stickerId"]', '1988');
    await page.click('button[aria-label="メッセージ 2 を上へ移動"]');
    expect(await page.inputValue('[data-field="messages.0.packageId"]')).toBe('446');
    await page.click('#validate-button');
    await page.waitForFunction(() =>
      document.getElementById('composer-result')!.textContent!.includes('問題は見つかりませんでした'),
    );
    expect(await page.$$('[aria-invalid=true]')).toHaveLength(0);

    // preview: a LINE-like chat with the text
    await page.click('#preview-button');
    await page.waitForSelector('#preview .line-preview .bubble.text');
    expect(await page.textContent('#preview .bubble.text')).toContain('久居保健センターで健康教室を開きます');
    expect(await page.$$eval('#preview .bubble', (b) => b.map((x) => x.className))).toEqual([
      'bubble sticker',
      'bubble text',
    ]);
    await page.screenshot({ path: path.join(shots, 'composer-2-preview.png'), fullPage: true });

    // test-send goes to the one test device
    await page.click('#test-send-button');
    await page.waitForFunction(() => !document.getElementById('composer-result')!.textContent!.includes('送信中'));
    expect(await page.textContent('#composer-result')).toContain('テスト端末 1 台に送信しました');

    // a Flex message (its JSON pasted; an unreadable one is an error next to it) and a video
    await page.click('#add-message');
    await page.selectOption('[data-field="messages.2.type"]', 'flex');
    await page.fill('[data-field="messages.2.altText"]', '健康教室のご案内');
    expect(await page.textContent('.message >> nth=2 >> .counter')).toBe('8 / 1,500 文字');
    await page.fill('[data-field="messages.2.contents"]', '{"type": "bubble", "body": ');
    await page.click('#validate-button');
    await page.waitForSelector('[data-field="messages.2.contents"][aria-invalid=true]');
    expect(await page.textContent('.form-summary')).toContain('JSON として読めません');
    const bubble = {
      type: 'bubble',
      body: {
        type: 'box',
        layout: 'vertical',
        contents: [
          { type: 'text', text: '6月20日 健康教室' },
          { type: 'text', text: '久居保健センター', size: 'sm' },
        ],
      },
    };
    await page.fill('[data-field="messages.2.contents"]', JSON.stringify(bubble, null, 2));
    await page.click('#add-message');
    await page.selectOption('[data-field="messages.3.type"]', 'video');
    await page.fill('[data-field="messages.3.originalContentUrl"]', 'https://example.jp/kenko/taiso.mp4');
    await page.fill('[data-field="messages.3.previewImageUrl"]', 'http://example.jp/kenko/taiso.jpg');
    await page.click('#validate-button');
    await page.waitForSelector('[data-field="messages.3.previewImageUrl"][aria-invalid=true]');
    expect(await page.getAttribute('[data-field="messages.2.contents"]', 'aria-invalid')).toBeNull();
    await page.fill('[data-field="messages.3.previewImageUrl"]', 'https://example.jp/kenko/taiso.jpg');
    await page.fill('[data-field="messages.3.trackingId"]', 'taiso-2026-06');
    await page.click('#validate-button');
    await page.waitForFunction(() =>
      document.getElementById('composer-result')!.textContent!.includes('問題は見つかりませんでした (メッセージ 4 件'),
    );
    await page.click('#preview-button');
    await page.waitForSelector('#preview .line-preview .bubble.video');
    expect(await page.$$eval('#preview .bubble', (b) => b.map((x) => x.className))).toEqual([
      'bubble sticker',
      'bubble text',
      'bubble flex',
      'bubble video',
    ]);
    expect(await page.textContent('#preview .bubble.flex')).toContain('6月20日 健康教室');
    await page.screenshot({ path: path.join(shots, 'composer-2b-flex-and-video.png'), fullPage: true });
    await page.click('button[aria-label="メッセージ 4 を削除"]');
    await page.click('button[aria-label="メッセージ 3 を削除"]');

    // the draft: saved with the audience the page built, listed by the API
    await page.click('button[aria-label="メッセージ 1 を削除"]');
    expect(await page.$$('fieldset.message')).toHaveLength(1);
    // すぐに送る asks first, with how many it reaches (dismissed here: nothing is sent)
    await page.check('input[name=send][value=now]');
    expect(await page.textContent('#composer button[type=submit]')).toBe('すぐに送る');
    const asked = new Promise<string>((resolve) =>
      page.once('dialog', (d) => {
        resolve(d.message());
        void d.dismiss();
      }),
    );
    await page.click('#composer button[type=submit]');
    expect(await asked).toContain(`届く人数: ${want} 人`);
    await page.waitForFunction(
      () => document.getElementById('composer-result')!.textContent === '送信を中止しました。',
    );
    await page.check('input[name=send][value=draft]');
    const [request] = await Promise.all([
      page.waitForRequest(
        (r) => r.method() === 'POST' && new URL(r.url()).pathname === `/api/v1/tenants/${TENANT}/deliveries`,
      ),
      page.click('#composer button[type=submit]'),
    ]);
    const sent = request.postDataJSON() as { audience: unknown; messages: unknown; send: string };
    expect(sent.send).toBe('draft');
    expect(sent.audience).toEqual({
      type: 'segment',
      label: '性別: 女性 かつ お住まい: 久居',
      condition: {
        and: [
          { attr: 'gender', op: 'in', values: ['female'] },
          { attr: 'residence', op: 'in', values: [area] },
        ],
      },
    });
    await page.waitForFunction(() =>
      document.getElementById('composer-result')!.textContent!.includes('下書きを保存しました'),
    );
    await page.waitForFunction(() =>
      document.getElementById('live-deliveries')!.textContent!.includes('久居地区の女性向け'),
    );
    const listed = (
      await op<{ deliveries: Array<{ id: string; title: string; status: string; audienceLabel: string }> }>(
        'GET',
        `/api/v1/tenants/${TENANT}/deliveries`,
      )
    ).body.deliveries.find((d) => d.title === '久居地区の女性向け 健康教室のご案内')!;
    expect(listed).toMatchObject({ status: 'draft', audienceLabel: 'セグメント: 性別: 女性 かつ お住まい: 久居' });
    const record = (
      await op<{ audience: unknown; messages: unknown; links: string[] }>(
        'GET',
        `/api/v1/tenants/${TENANT}/deliveries/${listed.id}`,
      )
    ).body;
    expect(record.audience).toEqual(sent.audience);
    // クリック計測 was on (the default): the link is kept apart, to be wrapped when it is sent
    expect(record.messages).toEqual([
      { type: 'text', text: '6月20日(土) 10時から 久居保健センターで健康教室を開きます。\n{{link:0}}' },
    ]);
    expect(record.links).toEqual(['https://example.jp/kenko']);
    await page.screenshot({ path: path.join(shots, 'composer-3-saved.png'), fullPage: true });

    // 編集 reopens the draft: its text with the link back in, its segment in the builder; saving updates it (same id)
    await page.click('button[aria-label="「久居地区の女性向け 健康教室のご案内」を編集"]');
    await page.waitForFunction(() => document.getElementById('composer-result')!.textContent!.includes('を開きました'));
    expect(await page.isVisible('#composer-editing')).toBe(true);
    expect(await page.inputValue('input[name=title]')).toBe('久居地区の女性向け 健康教室のご案内');
    expect(await page.inputValue('[data-field="messages.0.text"]')).toBe(
      '6月20日(土) 10時から 久居保健センターで健康教室を開きます。\nhttps://example.jp/kenko',
    );
    expect(await page.isChecked('input[name=audienceType][value=segment]')).toBe(true);
    expect(await page.isChecked('input[name=trackClicks]')).toBe(true);
    await page.waitForFunction(
      () => document.getElementById('segment-summary')!.textContent === '性別: 女性 かつ お住まい: 久居',
    );
    expect(await page.evaluate(() => (window as any).tayoriComposer.audience())).toEqual(sent.audience);
    await page.screenshot({ path: path.join(shots, 'composer-4-editing-draft.png') });
    await page.fill('input[name=title]', '久居地区の女性向け 健康教室のご案内 (日時を追記)');
    const [put] = await Promise.all([
      page.waitForRequest(
        (r) =>
          r.method() === 'PUT' && new URL(r.url()).pathname === `/api/v1/tenants/${TENANT}/deliveries/${listed.id}`,
      ),
      page.click('#composer button[type=submit]'),
    ]);
    expect((put.postDataJSON() as { send: string }).send).toBe('draft');
    await page.waitForFunction(() =>
      document.getElementById('composer-result')!.textContent!.includes('下書きを更新しました'),
    );
    expect(await page.isVisible('#composer-editing')).toBe(false);
    const after = (
      await op<{ deliveries: Array<{ id: string; title: string; status: string }> }>(
        'GET',
        `/api/v1/tenants/${TENANT}/deliveries`,
      )
    ).body.deliveries.filter((d) => d.title.startsWith('久居地区の女性向け'));
    expect(after).toEqual([
      expect.objectContaining({
        id: listed.id,
        status: 'draft',
        title: '久居地区の女性向け 健康教室のご案内 (日時を追記)',
      }),
    ]);
    await page.context().close();
  });

  it('selects 関心のある分野 down to an area (the small level), folded under its middle category', async () => {
    const page = await signedInPage(browser, suite.url, 'tsu-deliver', 'municipal-pass-1', {
      viewport: { width: 1400, height: 1200 },
    });
    await page.goto(`${suite.url}/municipalities/${TENANT}/deliveries`);
    await page.check('input[name=audienceType][value=segment]');
    await page.waitForSelector('#segment-builder select[data-role=attr]');
    await page.selectOption('#segment-builder select[data-role=attr] >> nth=0', 'interests');
    const row = page
      .locator('#segment-builder .seg-cond .middle')
      .filter({ has: page.locator(`input[value="${middle.path}"]`) });
    // the areas are folded away until asked for
    expect(await row.locator('details.areas').getAttribute('open')).toBeNull();
    await row.locator('summary').click();
    await row.locator('label:has-text("久居") input').check();
    expect(await row.locator('summary').textContent()).toBe('地域で選ぶ (1)');
    const inArea = await interestCount(`${middle.path}/${area}`);
    expect(inArea).toBe(2); // residents 1 and 6 (4 has blocked; 2 chose the other area, 3 no area)
    await countIs(page, inArea);
    expect(await page.textContent('#segment-summary')).toBe(`関心のある分野: ${middle.label} › 久居`);
    expect(await page.evaluate(() => (window as any).tayoriComposer.audience().condition)).toEqual({
      attr: 'interests',
      op: 'in',
      values: [`${middle.path}/${area}`],
    });
    // the middle category itself takes in every area under it, and those who answered without one
    await row.locator(`input[value="${middle.path}"]`).check();
    const all = await interestCount(middle.path);
    expect(all).toBe(4);
    await countIs(page, all);
    await page.screenshot({ path: path.join(shots, 'composer-5-interest-areas.png'), fullPage: true });
    // the delivery list downloads as CSV; residents' answers are personal data, not for this account
    expect(await page.getAttribute('#download-deliveries', 'href')).toBe(`/api/v1/tenants/${TENANT}/deliveries.csv`);
    expect(await page.$('#download-residents')).toBeNull();
    expect((await page.request.get(`${suite.url}/api/v1/tenants/${TENANT}/residents.csv`)).status()).toBe(403);
    await page.context().close();
  });

  it("lists LINE's open rate and clicks once fetched, and moves a scheduled delivery to another time", async () => {
    // a delivery sent to the test device, and LINE's figures for its aggregation unit as ingest stores them
    const sent = await op<{ id: string; aggregationUnit: string }>('POST', `/api/v1/tenants/${TENANT}/deliveries`, {
      title: '開封率の確認',
      messages: [{ type: 'text', text: '健診のお知らせ' }],
      audience: { type: 'test' },
      send: 'now',
    });
    expect(sent.status).toBe(201);
    await untilDone(sent.body.id, 'the test delivery sent');
    const now = chDateTime(Date.now());
    await suite.ch.insert({
      table: 'insight_message_stats',
      format: 'JSONEachRow',
      values: [
        {
          tenant_id: TENANT,
          kind: 'aggregation_unit',
          key: sent.body.aggregationUnit,
          sent_at: now,
          fetched_at: now,
          status: 'ready',
          unique_impression: 1,
          click: 3,
        },
      ],
    });
    // and one scheduled for tomorrow 10:00 (Japan time)
    const day = (n: number) => new Date(Date.now() + 9 * 3_600_000 + n * 86_400_000).toISOString().slice(0, 10);
    const planned = await op<{ id: string }>('POST', `/api/v1/tenants/${TENANT}/deliveries`, {
      title: '予約のテスト',
      messages: [{ type: 'text', text: '予約配信' }],
      scheduledAt: `${day(1)}T10:00`,
    });
    expect(planned.status).toBe(201);
    // residents named one by one, one of whom has blocked: sent to one, the other counted 対象外
    const named = await op<{ id: string }>('POST', `/api/v1/tenants/${TENANT}/deliveries`, {
      title: '対象外の確認',
      messages: [{ type: 'text', text: '個別のご案内' }],
      audience: { type: 'users', userIds: [uid(5), uid(4)] },
      send: 'now',
    });
    expect(named.status).toBe(201);
    await untilDone(named.body.id, 'the delivery to named residents sent');

    // a delivery with a tracked link, its clicks counted by where residents live; two taps from 久居 by
    // the same resident (same address, within a minute) count once
    const tracked = await op<{ id: string }>('POST', `/api/v1/tenants/${TENANT}/deliveries`, {
      title: 'クリック内訳の確認',
      messages: [{ type: 'text', text: '教室の案内 https://example.jp/kyoshitsu' }],
      sendMethod: 'multicast',
      audience: { type: 'segment', condition: { attr: 'residence', op: 'in', values: [area, otherArea] } },
      trackClicks: true,
      clickBucket: 'residence',
      send: 'now',
    });
    expect(tracked.status).toBe(201);
    await untilDone(tracked.body.id, 'the tracked delivery sent');
    const tokens = await (
      await suite.ch.query({
        query: 'SELECT token, bucket FROM delivery_links FINAL WHERE delivery_id = {id:String}',
        query_params: { id: tracked.body.id },
        format: 'JSONEachRow',
      })
    ).json<{ token: string; bucket: string }>();
    const hisai = tokens.find((t) => t.bucket === area)!.token;
    for (let i = 0; i < 2; i++)
      expect((await fetch(`${suite.url}/r/${hisai}`, { redirect: 'manual' })).status).toBe(302);

    const page = await signedInPage(browser, suite.url, 'tsu-deliver', 'municipal-pass-1', {
      viewport: { width: 1400, height: 1200 },
    });
    await page.goto(`${suite.url}/municipalities/${TENANT}/deliveries`);
    const row = (title: string) => page.locator('#live-deliveries tr', { hasText: title });
    await row('開封率の確認').waitFor();
    // クリック内訳: per link and area, by name
    await page.click('button[aria-label="「クリック内訳の確認」のクリック内訳"]');
    const breakdown = page.locator('#live-deliveries tr.breakdown');
    await breakdown.locator('tbody tr').first().waitFor();
    const lines = await breakdown
      .locator('tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
    expect(lines).toEqual(
      expect.arrayContaining([
        ['https://example.jp/kyoshitsu', '久居', '1'],
        ['https://example.jp/kyoshitsu', '一志', '0'],
      ]),
    );
    expect(await breakdown.textContent()).toContain('お住まい別');
    expect(await breakdown.textContent()).toContain('1 分以内に何度押しても 1 回と数えます');
    await page.locator('#live-deliveries').screenshot({ path: path.join(shots, 'composer-7-clicks.png') });
    await page.click('button[aria-label="「クリック内訳の確認」のクリック内訳"]');
    expect(await page.$('#live-deliveries tr.breakdown')).toBeNull();
    // 内容: what the delivery said as the talk screen shows it (its link as written, not /r/…), and how it went out
    await page.click('button[aria-label="「クリック内訳の確認」の内容"]');
    const content = page.locator(`#content-${tracked.body.id}`);
    await content.locator('.line-preview .bubble.text').waitFor();
    expect(await content.locator('.bubble.text').textContent()).toBe('教室の案内 https://example.jp/kyoshitsu');
    const facts = await content.locator('dl').textContent();
    expect(facts).toContain('マルチキャスト (500 人ずつ)');
    expect(facts).toContain('本文の URL 1 件を計測');
    expect(facts).toContain('通知あり');
    const axe = await new AxeBuilder({ page })
      .include('#live-deliveries')
      .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
      .analyze();
    expect(axe.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(' | ')}`)).toEqual([]);
    await page.locator('#live-deliveries').screenshot({ path: path.join(shots, 'composer-8-content.png') });
    await page.click('button[aria-label="「クリック内訳の確認」の内容"]');
    expect(await content.count()).toBe(0);
    // 複製 where the composer can show the audience: not for residents named one by one
    expect(await row('対象外の確認').locator('button:has-text("複製")').count()).toBe(0);
    expect(await row('予約のテスト').locator('button:has-text("複製")').count()).toBe(1);
    // 複製: the sent delivery as a new one in the composer, saved as a new draft; the original is unchanged
    await page.click('button[aria-label="「クリック内訳の確認」を複製して新しい配信を作る"]');
    await page.waitForFunction(() => document.getElementById('composer-result')!.textContent!.includes('複製しました'));
    expect(await page.isVisible('#composer-editing')).toBe(false);
    expect(await page.inputValue('input[name=title]')).toBe('クリック内訳の確認 (複製)');
    expect(await page.inputValue('[data-field="messages.0.text"]')).toBe('教室の案内 https://example.jp/kyoshitsu');
    expect(await page.evaluate(() => (window as any).tayoriComposer.audience())).toMatchObject({
      type: 'segment',
      condition: { attr: 'residence', op: 'in', values: [area, otherArea] },
    });
    expect(await page.isChecked('input[name=trackClicks]')).toBe(true);
    const [post] = await Promise.all([
      page.waitForRequest(
        (r) => r.method() === 'POST' && new URL(r.url()).pathname === `/api/v1/tenants/${TENANT}/deliveries`,
      ),
      page.click('#composer button[type=submit]'),
    ]);
    expect((post.postDataJSON() as { send: string; sendMethod: string }).send).toBe('draft');
    await row('クリック内訳の確認 (複製)').waitFor();
    const copies = (
      await op<{ deliveries: Array<{ id: string; title: string; status: string }> }>(
        'GET',
        `/api/v1/tenants/${TENANT}/deliveries`,
      )
    ).body.deliveries.filter((d) => d.title.startsWith('クリック内訳の確認'));
    expect(copies).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: tracked.body.id, status: 'done', title: 'クリック内訳の確認' }),
        expect.objectContaining({ status: 'draft', title: 'クリック内訳の確認 (複製)' }),
      ]),
    );
    expect(await row('開封率の確認').locator('td').allTextContents()).toEqual(
      expect.arrayContaining(['送信済み', '100.0%', '3 内訳']),
    );
    expect(await row('予約のテスト').locator('td >> nth=3').textContent()).toBe('予約済み');
    expect(await row('対象外の確認').locator('td >> nth=4').textContent()).toBe(' 1 / 1対象外 1人');
    expect(await row('開封率の確認').textContent()).not.toContain('対象外');

    await page.click('button[aria-label="「予約のテスト」の予約日時を変更"]');
    const when = row('予約のテスト').locator('input[type=datetime-local]');
    expect(await when.inputValue()).toBe(`${day(1)}T10:00`);
    await when.fill('2020-01-01T09:00');
    await row('予約のテスト').locator('button:has-text("保存")').click();
    await row('予約のテスト')
      .locator('.field-error:has-text("配信日時は現在より後の日時を指定してください")')
      .waitFor();
    await when.fill(`${day(2)}T11:30`);
    await row('予約のテスト').locator('button:has-text("保存")').click();
    await row('予約のテスト').locator('button:has-text("日時を変更")').waitFor();
    const moved = await op<{ status: string; scheduledAt: number }>(
      'GET',
      `/api/v1/tenants/${TENANT}/deliveries/${planned.body.id}`,
    );
    expect(moved.body.status).toBe('scheduled');
    expect(new Date(moved.body.scheduledAt).toISOString()).toBe(new Date(`${day(2)}T11:30:00+09:00`).toISOString());
    await page.locator('#live-deliveries').screenshot({ path: path.join(shots, 'composer-6-list.png') });
    await page.context().close();
  });

  it('shows the latest 20 deliveries, and older ones 20 more at a time', async () => {
    const listed = async () =>
      (await op<{ deliveries: unknown[] }>('GET', `/api/v1/tenants/${TENANT}/deliveries?limit=1000`)).body.deliveries
        .length;
    for (let n = await listed(); n < 25; n++) {
      expect(
        (
          await op('POST', `/api/v1/tenants/${TENANT}/deliveries`, {
            title: `下書き ${n + 1}`,
            messages: [{ type: 'text', text: 'お知らせ' }],
          })
        ).status,
      ).toBe(201);
    }
    const total = await listed();
    const page = await signedInPage(browser, suite.url, 'tsu-deliver', 'municipal-pass-1');
    await page.goto(`${suite.url}/municipalities/${TENANT}/deliveries`);
    await page.waitForSelector('#more-deliveries');
    expect(await page.locator('#live-deliveries tbody > tr').count()).toBe(20);
    await page.click('#more-deliveries');
    await page.waitForFunction(
      (n) => document.querySelectorAll('#live-deliveries tbody > tr').length === n,
      Math.min(40, total),
    );
    expect(total).toBeLessThan(40);
    expect(await page.$('#more-deliveries')).toBeNull(); // all of them shown
    await page.context().close();
  });

  it("downloads 住民の登録内容 for an account allowed to export residents' data", async () => {
    const page = await signedInPage(browser, suite.url, 'tsu-export', 'municipal-pass-2');
    await page.goto(`${suite.url}/municipalities/${TENANT}/deliveries`);
    expect(await page.$('#composer')).toBeNull(); // no 配信 permission
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-friends')]);
    expect(download.suggestedFilename()).toBe('住民登録内容_津市_友だちのみ.csv');
    const text = fs.readFileSync((await download.path())!, 'utf8');
    expect(text.startsWith('\uFEFFユーザーID,友だち,')).toBe(true);
    // resident 1: a friend, female, living in 久居
    expect(text.split('\r\n').find((l) => l.startsWith(uid(1)))).toMatch(
      new RegExp(`^${uid(1)},友だち,[^,]+,,,女性,久居,`),
    );
    expect(text).not.toContain(uid(4)); // blocked: not in the friends-only file
    // who took residents' data, and when, is in the audit log
    const audit = await op<{ records: Array<Record<string, unknown>> }>('GET', '/api/v1/audit?action=export');
    expect(audit.body.records[0]).toMatchObject({ username: 'tsu-export', tenantId: TENANT, target: 'residents.csv' });
    await page.context().close();
  });
});
