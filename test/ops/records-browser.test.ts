/**
 * The 運用 record pages in real Chromium against the suite in this process: a contractor with 帳票の管理
 * registers a support-history record (対応履歴管理表) and a planned stop through the forms and sees
 * them listed; errors show next to their fields in Japanese (an empty form, a stop that ends before
 * it starts); an edit with its reason shows in the history field by field, and the stop's notice
 * appears at the top of the pages. An account without 帳票の管理 reads the list (stored markup shown
 * as text) but gets no form.
 */
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Suite } from '../../cli/suite.ts';
import { launchChromium, operatorCall, signedInPage } from '../helpers/browser.ts';
import { harness, type Harness } from '../helpers/index.ts';

let h: Harness;
let suite: Suite;
let browser: Browser;
let page: Page;
const PASSWORD = 'ops-records-pass-1';

/** Tomorrow and the day after in Tokyo, as datetime-local values: a stop within the ten-day notice. */
const tokyoDay = (days: number) => new Date(Date.now() + 9 * 3_600_000 + days * 86_400_000).toISOString().slice(0, 10);

beforeAll(async () => {
  h = await harness({ clickhouse: false, env: { TAYORI_SANDBOX: 'off' } });
  suite = await h.startSuite({ demo: true });
  for (const u of [
    {
      username: 'unyo',
      displayName: '受託者 運用担当',
      role: 'contractor',
      permissions: ['manage_reports'],
      password: PASSWORD,
    },
    { username: 'ken-read', displayName: '県 閲覧', role: 'prefecture', permissions: [], password: PASSWORD },
  ])
    expect((await operatorCall(suite, 'POST', '/api/v1/users', u)).status).toBe(201);
  browser = await launchChromium();
  page = await signedInPage(browser, suite.url, 'unyo', PASSWORD);
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

describe('運用 record pages', () => {
  it('the 運用 page says when backups are made and lists them, sizes as people read them', async () => {
    await page.goto(`${suite.url}/ops`);
    const schedule = (await page.textContent('[data-testid=backup-schedule]')) ?? '';
    expect(schedule).toContain('毎日 03:00 (日本時間) に自動で作成し');
    expect(schedule).toContain('日次 7 世代・週次 4 世代');
    const section = page.locator('section[aria-labelledby=backups-h]');
    if ((await section.locator('tbody tr').count()) === 0)
      expect(await section.textContent()).toContain('まだバックアップはありません');
    const made = await operatorCall(suite, 'POST', '/api/v1/ops/backups');
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    await page.reload();
    const row = section.locator('tbody tr').first();
    expect(await row.textContent()).toContain('成功');
    expect(await row.locator('td.num').textContent()).toMatch(/^[\d,]+(\.\d)? (KB|MB|GB)$/);
  });

  it('the 運用 page links to each record page', async () => {
    await page.goto(`${suite.url}/ops`);
    await page.click('a[href="/ops/supports"]');
    await page.waitForURL(`${suite.url}/ops/supports`);
    expect(await page.textContent('h1')).toBe('対応履歴管理表');
    await page.waitForSelector('#records tbody:not([aria-busy])');
  });

  it('registers a support-history record through the form, errors shown next to the fields', async () => {
    await page.goto(`${suite.url}/ops/supports`);
    await page.click('#record-new');
    // 受付日時 starts at now; empty the required fields and send
    await page.fill('#f-receivedAt', '');
    await page.click('#record-save');
    await page.waitForSelector('#f-receivedAt[aria-invalid=true]');
    expect(await page.textContent('#f-receivedAt-error')).toBe('日時を入力してください');
    expect(await page.textContent('#f-inquirer-error')).toBe('入力してください');
    expect(await page.textContent('#f-content-error')).toBe('入力してください');
    expect(await page.textContent('#record-form .form-summary')).toContain('入力内容に誤りがあります (3 件)');
    // the open form with its errors passes axe too (the page-wide a11y test sees it closed)
    const axe = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
    expect(axe.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(' | ')}`)).toEqual([]);

    await page.fill('#f-receivedAt', '2026-04-13T10:00');
    await page.selectOption('#f-tenantId', '24201');
    await page.fill('#f-inquirer', '津市 健康づくり課 山田');
    await page.fill('#f-channel', 'メール');
    await page.fill('#f-content', '配信予約の取り消し方法');
    await page.click('#record-save');
    await page.waitForSelector('#record-status:has-text("を登録しました")');
    const row = page.locator('#records tbody tr', { hasText: '津市 健康づくり課 山田' });
    await row.waitFor();
    expect(await row.locator('td').allTextContents()).toEqual([
      expect.stringMatching(/^\d+$/),
      '2026/04/13 10:00',
      '津市',
      '津市 健康づくり課 山田',
      '配信予約の取り消し方法',
      '—',
      '—',
      expect.stringContaining('編集'),
    ]);
    const [stored] = (await operatorCall(suite, 'GET', '/api/v1/ops/supports')).body.supports;
    expect(stored).toMatchObject({
      receivedAt: '2026-04-13T10:00:00+09:00',
      tenantId: '24201',
      channel: 'メール',
      answeredAt: null,
    });
  });

  it('an edit with its reason shows in the history field by field', async () => {
    const row = page.locator('#records tbody tr', { hasText: '津市 健康づくり課 山田' });
    await row.getByRole('button', { name: /を編集$/ }).click();
    await page.waitForSelector('#record-editor:not([hidden])');
    expect(await page.inputValue('#f-receivedAt')).toBe('2026-04-13T10:00');
    await page.fill('#f-responder', '佐藤');
    await page.fill('#f-answeredAt', '2026-04-14T09:00');
    await page.fill('#f-response', '配信一覧から取り消せます');
    await page.fill('#f-note', '回答した');
    await page.click('#record-save');
    await page.waitForSelector('#record-status:has-text("の変更を保存しました")');
    await row.getByRole('button', { name: /の変更履歴$/ }).click();
    const history = page.locator('#record-history table');
    await history.waitFor();
    const rows = await history
      .locator('tbody tr')
      .evaluateAll((trs) => trs.map((tr) => Array.from(tr.children, (c) => c.textContent).join('|')));
    expect(rows).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^[\d/ :]+\|unyo\|変更\|対応者\|—\|佐藤\|回答した$/),
        '回答内容|—|配信一覧から取り消せます',
        '回答日時|—|2026/04/14 09:00',
        expect.stringMatching(/^[\d/ :]+\|unyo\|登録\|受付日時\|\|2026\/04\/13 10:00\|$/),
      ]),
    );
    expect(await page.locator('#records tbody tr', { hasText: '津市 健康づくり課 山田' }).textContent()).toContain(
      '2026/04/14 09:00',
    );
  });

  it('registers a planned stop through the form; an end before the start is shown at its field', async () => {
    await page.goto(`${suite.url}/ops/stops`);
    await page.click('#record-new');
    await page.fill('#f-startsAt', `${tokyoDay(2)}T22:00`);
    await page.fill('#f-endsAt', `${tokyoDay(2)}T21:00`);
    await page.fill('#f-reason', 'サーバーの定期保守');
    await page.click('#record-save');
    await page.waitForSelector('#f-endsAt[aria-invalid=true]');
    expect(await page.textContent('#f-endsAt-error')).toBe('終了日時は開始日時より後にしてください');
    await page.fill('#f-endsAt', `${tokyoDay(3)}T02:00`);
    await page.click('#record-save');
    await page.waitForSelector('#record-status:has-text("を登録しました")');
    const row = page.locator('#records tbody tr', { hasText: 'サーバーの定期保守' });
    await row.waitFor();
    expect(await row.locator('td').nth(1).textContent()).toBe(`${tokyoDay(2).replace(/-/g, '/')} 22:00`);
    expect(await row.locator('td').nth(2).textContent()).toBe(`${tokyoDay(3).replace(/-/g, '/')} 02:00`);
    // within ten days: the notice at the top of the staff pages (read again at most every 5 s)
    await expect
      .poll(
        async () => {
          await page.goto(`${suite.url}/ops`);
          return page.textContent('body');
        },
        { timeout: 20_000, interval: 1000 },
      )
      .toContain('計画停止: ');
    expect(await page.textContent('body')).toContain('サーバーの定期保守');
  });

  it('an account without 帳票の管理 reads the list but gets no form', async () => {
    // stored text with markup is shown as the text it is
    const markup = '<img src=x onerror=X9=1>回線工事&';
    expect(
      (
        await operatorCall(suite, 'POST', '/api/v1/ops/stops', {
          startsAt: '2026-01-10T22:00:00+09:00',
          endsAt: '2026-01-11T02:00:00+09:00',
          reason: markup,
        })
      ).status,
    ).toBe(201);
    const reader = await signedInPage(browser, suite.url, 'ken-read', PASSWORD);
    await reader.goto(`${suite.url}/ops/stops`);
    await reader.locator('#records tbody tr', { hasText: 'サーバーの定期保守' }).waitFor();
    expect(await reader.locator('#records tbody tr', { hasText: '回線工事' }).locator('td').nth(3).textContent()).toBe(
      markup,
    );
    expect(await reader.locator('#records img').count()).toBe(0);
    expect(await reader.evaluate(() => (window as unknown as { X9?: number }).X9)).toBeUndefined();
    expect(await reader.locator('#record-form').count()).toBe(0);
    expect(await reader.locator('#record-new').count()).toBe(0);
    expect(await reader.textContent('main')).toContain('登録・変更には「帳票の管理」の権限が必要です');
    await reader.context().close();
  });
});
