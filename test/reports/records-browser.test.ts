import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Suite } from '../../cli/suite.ts';
import { createLogger } from '../../core/logger.ts';
import { launchChromium, operatorCall, signedInPage } from '../helpers/browser.ts';
import { harness, type Harness, repoRoot } from '../helpers/index.ts';

// 議事録 and 課題管理表 in real Chromium against the suite in this process (no sandbox: these pages
// only need the records API); screenshots go to test-artifacts/dashboard/.
let h: Harness;
const shots = path.join(repoRoot, 'test-artifacts', 'dashboard');
let suite: Suite;
let browser: Browser;

const op = <T = Record<string, unknown>>(method: string, p: string, body?: unknown) =>
  operatorCall<T>(suite, method, p, body);

type Minutes = {
  id: string;
  title: string;
  status: string;
  tenantIds: string[];
  attendees: unknown[];
  agenda: string[];
  decisions: string[];
  actionItems: unknown[];
  discussion: string;
  heldAt: string;
  endedAt: string | null;
  kind: string;
  place: string;
};
type Issue = {
  id: string;
  no: number;
  tenantId: string;
  status: string;
  response: string;
  owner: string;
  resolvedOn: string | null;
  category: string;
};

beforeAll(async () => {
  fs.mkdirSync(shots, { recursive: true });
  h = await harness({ clickhouse: false, env: { TAYORI_SANDBOX: 'off' } });
  suite = await h.startSuite({ demo: true }, createLogger(process.env.DBG ? 'error' : 'silent'));
  for (const u of [
    { username: 'itaku-staff', displayName: '受託者 運用担当', role: 'contractor', password: 'contractor-pass-1' },
    {
      username: 'tsu-staff',
      displayName: '津市 担当者',
      role: 'municipality',
      tenantId: '24201',
      password: 'municipal-pass-1',
      permissions: ['deliver', 'manage_reports'],
    },
  ]) {
    expect((await op('POST', '/api/v1/users', u)).status).toBe(201);
  }
  // someone else's records: Yokkaichi's, which Tsu must not see
  expect(
    (
      await op('POST', '/api/v1/minutes', {
        heldAt: '2026-04-20T10:00',
        kind: '個別検討会議',
        title: '四日市市 個別検討会議',
        tenantIds: ['24202'],
      })
    ).status,
  ).toBe(201);
  expect(
    (
      await op('POST', '/api/v1/issues', {
        tenantId: '24202',
        raisedOn: '2026-04-02',
        category: '配信',
        description: '四日市市の配信予約の確認',
      })
    ).status,
  ).toBe(201);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

const signIn = (username: string, password: string, viewport?: { width: number; height: number }) =>
  signedInPage(browser, suite.url, username, password, { viewport });

/** Waits for a status line to say `text`; a form's error summary showing instead fails at once, with its text. */
async function statusIs(page: Page, id: string, text: string): Promise<void> {
  const outcome = await page.waitForFunction(
    ([i, t]) => {
      if (document.getElementById(i!)!.textContent!.includes(t!)) return 'ok';
      const summary = [...document.querySelectorAll('.form-summary')].find((s) => !(s as HTMLElement).hidden);
      return summary ? `form error: ${summary.textContent}` : false;
    },
    [id, text],
  );
  expect(await outcome.jsonValue()).toBe('ok');
}

describe('議事録 in Chromium', () => {
  it('a contractor writes minutes in the form (errors shown per field), edits, approves, reopens and reads the history', async () => {
    const page = await signIn('itaku-staff', 'contractor-pass-1');
    await page.goto(`${suite.url}/minutes`);
    expect(await page.$$eval('header nav a', (as) => as.map((a) => a.textContent))).toEqual(
      expect.arrayContaining(['県全体', '議事録', '課題管理表', '帳票']),
    );
    expect(await page.getAttribute('header nav a[href="/minutes"]', 'aria-current')).toBe('page');
    await page.waitForSelector('#minutes-list tr[data-id]');
    expect(await page.textContent('#minutes-list')).toContain('四日市市 個別検討会議');

    // an empty form: the API's messages next to each field, and a summary
    await page.click('#minutes-new');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('m-title');
    await page.click('#minutes-save');
    await page.waitForSelector('#m-title-error:not([hidden])');
    expect(await page.textContent('#m-title-error')).toContain('件名を入力してください');
    expect(await page.textContent('#m-heldAt-error')).toContain('日時は YYYY-MM-DDTHH:mm の形式');
    expect(await page.getAttribute('#m-title', 'aria-invalid')).toBe('true');
    expect(await page.textContent('#minutes-form .form-summary')).toContain('入力内容に誤りがあります');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('m-title');

    // fill it in; an attendee with no name is refused on that row
    await page.fill('#m-title', '第1回 定例会');
    await page.selectOption('#m-kind', '定例会');
    await page.fill('#m-heldAt', '2026-04-15T14:00');
    await page.fill('#m-endedAt', '2026-04-15T15:30');
    await page.fill('#m-place', 'web会議');
    await page.check('#minutes-form label.check:has-text("三重県") input');
    await page.check('#minutes-form label.check:has-text("津市") input');
    await page.fill('[data-field="attendees.0.organization"]', '三重県 健康推進課');
    await page.fill('[data-field="attendees.0.name"]', '山田 花子');
    await page.click('[data-add="attendee"]');
    await page.fill('[data-field="attendees.1.organization"]', '受託者');
    await page.fill('#m-agenda', '友だち登録数の推移\n5月の配信計画\n');
    await page.fill('#m-discussion', '津市の登録者数は前月比で増加。ブロック率は横ばい。');
    await page.fill('#m-decisions', '5月は健康ポイントの案内を配信する');
    await page.fill('[data-field="actionItems.0.task"]', '配信原稿の作成');
    await page.fill('[data-field="actionItems.0.owner"]', '佐藤');
    await page.fill('[data-field="actionItems.0.due"]', '2026-04-30');
    await page.click('#minutes-save');
    await page.waitForSelector('#m-attendees .row:nth-child(2) .field-error:not([hidden])');
    expect(await page.textContent('#m-attendees .row:nth-child(2) .field-error')).toContain(
      '出席者の氏名を入力してください',
    );
    expect(await page.textContent('#minutes-form .form-summary')).toContain(
      '出席者 2件目の氏名: 出席者の氏名を入力してください',
    );
    expect(await page.getAttribute('[data-field="attendees.1.name"]', 'aria-invalid')).toBe('true');
    await page.screenshot({ path: path.join(shots, 'records-01-minutes-errors.png'), fullPage: true });
    await page.fill('[data-field="attendees.1.name"]', '佐藤 一郎');
    await page.click('#minutes-save');
    await statusIs(page, 'minutes-status', '「第1回 定例会」の下書きを保存しました');
    expect(await page.isHidden('#minutes-editor')).toBe(true);

    const { body: list } = await op<{ minutes: Minutes[] }>('GET', '/api/v1/minutes?month=2026-04&tenant=24201');
    expect(list.minutes).toHaveLength(1);
    const saved = list.minutes[0]!;
    expect(saved).toMatchObject({
      title: '第1回 定例会',
      kind: '定例会',
      status: 'draft',
      heldAt: '2026-04-15T14:00:00+09:00',
      endedAt: '2026-04-15T15:30:00+09:00',
      place: 'web会議',
      tenantIds: ['24000', '24201'],
      attendees: [
        { organization: '三重県 健康推進課', name: '山田 花子' },
        { organization: '受託者', name: '佐藤 一郎' },
      ],
      agenda: ['友だち登録数の推移', '5月の配信計画'],
      decisions: ['5月は健康ポイントの案内を配信する'],
      actionItems: [{ task: '配信原稿の作成', owner: '佐藤', due: '2026-04-30' }],
    });

    // the month's group shows its due date in 和暦; the record opens with everything typed
    await page.waitForSelector('#minutes-detail:not([hidden])');
    const group = await page.textContent('#month-2026-04');
    expect(group).toContain('令和8年4月分');
    expect(group).toContain('提出期限 令和8年5月11日');
    await page.waitForSelector('#minutes-detail:not([hidden])');
    const detail = (await page.textContent('#minutes-detail'))!;
    for (const text of [
      '第1回 定例会',
      '下書き',
      '三重県、津市',
      '山田 花子',
      '5月の配信計画',
      '配信原稿の作成',
      '令和8年4月30日',
    ])
      expect(detail).toContain(text);

    // edit the draft: only what changed is sent
    await page.click('#minutes-detail button:has-text("編集")');
    await page.waitForSelector('#minutes-editor:not([hidden])');
    expect(await page.inputValue('#m-heldAt')).toBe('2026-04-15T14:00');
    await page.fill('#m-discussion', '津市の登録者数は前月比で 10% 増加。ブロック率は横ばい。');
    await page.click('#minutes-save');
    await statusIs(page, 'minutes-status', '下書きを保存しました');
    await page.waitForFunction(() => document.getElementById('minutes-detail')!.textContent!.includes('10% 増加'));

    // approve, then look at the history
    await page.click('#minutes-detail button:has-text("承認")');
    await statusIs(page, 'minutes-status', '「第1回 定例会」を承認しました');
    await page.waitForFunction(() => document.querySelector('#minutes-detail .badge')?.textContent === '承認済み');
    expect((await op<Minutes>('GET', `/api/v1/minutes/${saved.id}`)).body.status).toBe('approved');
    expect(await page.isVisible('#minutes-detail button:has-text("編集")')).toBe(false);
    await page.click('#minutes-detail button:has-text("変更履歴")');
    await page.waitForSelector('#minutes-history tbody tr');
    const history = await page.$$eval('#minutes-history tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].slice(1).map((td) => td.textContent)),
    );
    expect(history).toEqual([
      ['承認', 'itaku-staff', ''],
      ['更新', 'itaku-staff', '協議内容'],
      ['作成', 'itaku-staff', ''],
    ]);
    await page.screenshot({ path: path.join(shots, 'records-02-minutes.png'), fullPage: true });

    // reopen (confirmed): a draft again
    page.once('dialog', (d) => void d.accept());
    await page.click('#minutes-detail button:has-text("差し戻し")');
    await statusIs(page, 'minutes-status', '下書きに差し戻しました');
    expect((await op<Minutes>('GET', `/api/v1/minutes/${saved.id}`)).body.status).toBe('draft');

    // filters: approved only → none in April; Yokkaichi only → its meeting; the view is kept in the address
    await page.selectOption('#minutes-filter select[name=status]', 'approved');
    await page.waitForFunction(() =>
      document.getElementById('minutes-list')!.textContent!.includes('条件に合う議事録はありません'),
    );
    await page.selectOption('#minutes-filter select[name=status]', '');
    await page.selectOption('#minutes-filter select[name=tenant]', '24202');
    await page.waitForFunction(() => {
      const t = document.getElementById('minutes-list')!.textContent!;
      return t.includes('四日市市 個別検討会議') && !t.includes('第1回 定例会');
    });
    expect(new URL(page.url()).search).toBe('?tenant=24202');

    // a draft can be deleted (confirmed)
    await page.selectOption('#minutes-filter select[name=tenant]', '');
    await page.waitForSelector('#minutes-list tr[data-id] button:has-text("第1回 定例会")');
    await page.click('#minutes-list button:has-text("第1回 定例会")');
    page.once('dialog', (d) => void d.accept());
    await page.click('#minutes-detail button:has-text("下書きを削除")');
    await statusIs(page, 'minutes-status', '「第1回 定例会」を削除しました');
    expect((await op('GET', `/api/v1/minutes/${saved.id}`)).status).toBe(404);
    await page.context().close();
  });
});

describe('課題管理表 in Chromium', () => {
  it('a contractor raises an issue (errors per field), edits it with a note and reads its history field by field', async () => {
    const page = await signIn('itaku-staff', 'contractor-pass-1', { width: 1500, height: 1000 });
    await page.goto(`${suite.url}/issues`);
    await page.waitForSelector('#issues tbody tr[data-id]');
    expect(await page.$$eval('#issues thead th', (ths) => ths.map((th) => th.textContent).slice(0, 10))).toEqual([
      'No.',
      '市町',
      '起票日',
      '分類',
      '内容',
      '対応',
      '担当',
      '状況',
      '期限',
      '完了日',
    ]);

    await page.click('#issue-new');
    expect(await page.isHidden('#i-note')).toBe(true);
    await page.click('#issue-save');
    await page.waitForSelector('#i-category-error:not([hidden])');
    expect(await page.textContent('#i-tenantId-error')).toContain('地方公共団体コード');
    expect(await page.textContent('#i-category-error')).toContain('分類を入力してください');
    expect(await page.textContent('#i-description-error')).toContain('課題の内容を入力してください');

    await page.selectOption('#i-tenantId', '24201');
    await page.fill('#i-raisedOn', '2026-04-10');
    await page.fill('#i-category', 'リッチメニュー');
    await page.fill('#i-description', 'リッチメニューの画像が古いデザインのまま');
    await page.fill('#i-owner', '佐藤');
    await page.fill('#i-dueOn', '2026-05-15');
    await page.click('#issue-save');
    await statusIs(page, 'issue-status', 'を起票しました');
    const { body: created } = await op<{ issues: Issue[] }>('GET', '/api/v1/issues?tenant=24201');
    expect(created.issues).toHaveLength(1);
    const issue = created.issues[0]!;
    expect(issue).toMatchObject({ tenantId: '24201', category: 'リッチメニュー', owner: '佐藤', status: '未着手' });
    const row = `#issues tr[data-id="${issue.id}"]`;
    await page.waitForSelector(row);
    expect(await page.$$eval(`${row} td`, (tds) => tds.slice(0, 10).map((td) => td.textContent))).toEqual([
      String(issue.no),
      '津市',
      '2026/04/10',
      'リッチメニュー',
      'リッチメニューの画像が古いデザインのまま',
      '—',
      '佐藤',
      '未着手',
      expect.stringContaining('2026/05/15'),
      '—',
    ]);

    // edit with a note, then complete it
    await page.click(`${row} button:has-text("編集")`);
    await page.waitForSelector('#issue-editor:not([hidden])');
    expect(await page.isVisible('#i-note')).toBe(true);
    await page.selectOption('#i-status', '対応中');
    await page.fill('#i-response', '新しいデザインの画像を作成中');
    await page.fill('#i-note', '県と協議のうえ対応');
    await page.click('#issue-save');
    await statusIs(page, 'issue-status', `No.${issue.no} の変更を保存しました`);
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === '対応中', `${row} .badge`);
    // a resolved day on an open issue is refused, next to the field
    await page.click(`${row} button:has-text("編集")`);
    await page.waitForFunction(() => (document.getElementById('i-status') as HTMLSelectElement).value === '対応中');
    await page.fill('#i-resolvedOn', '2026-04-20');
    await page.click('#issue-save');
    await page.waitForSelector('#i-resolvedOn-error:not([hidden])');
    expect(await page.textContent('#i-resolvedOn-error')).toContain('状況が「完了」ではありません');
    await page.selectOption('#i-status', '完了');
    await page.fill('#i-note', '差し替え済み');
    await page.click('#issue-save');
    await statusIs(page, 'issue-status', `No.${issue.no} の変更を保存しました`);
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent?.includes('完了'), `${row} .badge`);
    expect(await page.textContent(`${row} td:nth-child(10)`)).toBe('2026/04/20');

    await page.click(`${row} button:has-text("履歴")`);
    await page.waitForSelector('#issue-history table');
    const history = await page.$$eval('#issue-history tbody tr', (trs) =>
      trs.map((tr) => [...tr.children].map((c) => c.textContent)),
    );
    // newest first; the first row of an entry carries when, who, what and why
    expect(history[0]!.slice(1)).toEqual(['itaku-staff', '変更', '状況', '対応中', '完了', '差し替え済み']);
    expect(history[1]).toEqual(['完了日', '(なし)', '2026/04/20']);
    expect(history[2]!.slice(1)).toEqual([
      'itaku-staff',
      '変更',
      '対応',
      '(なし)',
      '新しいデザインの画像を作成中',
      '県と協議のうえ対応',
    ]);
    expect(history[3]).toEqual(['状況', '未着手', '対応中']);
    expect(history.some((r) => r.includes('起票') && r.includes('市町') && r.includes('津市'))).toBe(true);
    expect(history).toContainEqual(['分類', '', 'リッチメニュー']);
    const { body: apiHistory } = await op<{ history: Array<{ note: string; changes: Array<{ field: string }> }> }>(
      'GET',
      `/api/v1/issues/${issue.id}/history`,
    );
    expect(apiHistory.history.map((h) => h.note)).toEqual(
      expect.arrayContaining(['県と協議のうえ対応', '差し替え済み']),
    );
    await page.screenshot({ path: path.join(shots, 'records-03-issues.png'), fullPage: true });

    // filters
    await page.selectOption('#issue-filter select[name=status]', '完了');
    await page.waitForFunction(() => document.querySelectorAll('#issues tbody tr[data-id]').length === 1);
    await page.selectOption('#issue-filter select[name=status]', '');
    await page.selectOption('#issue-filter select[name=tenant]', '24202');
    await page.waitForFunction(() => {
      const cells = [...document.querySelectorAll('#issues tbody tr[data-id] td:nth-child(2)')];
      return cells.length > 0 && cells.every((td) => td.textContent === '四日市市');
    });
    await page.context().close();
  });
});

describe('a municipality account', () => {
  it('has no 帳票 and sees only its own minutes and issues', async () => {
    const page = await signIn('tsu-staff', 'municipal-pass-1');
    expect(await page.$$eval('header nav a', (as) => as.map((a) => a.textContent))).toEqual(
      expect.arrayContaining(['議事録', '課題管理表']),
    );
    expect(await page.$$('header nav a[href="/reports"]')).toHaveLength(0);
    expect((await page.goto(`${suite.url}/reports`))!.status()).toBe(403);
    expect(await page.textContent('main')).toContain('帳票は県・受託者・管理者のアカウントで見られます');

    // minutes: the tenant filter is not offered; Yokkaichi's meeting is not listed; a new one names Tsu
    await page.goto(`${suite.url}/minutes`);
    await page.waitForSelector('#minutes-list:not([aria-busy])');
    expect(await page.$$('#minutes-filter select[name=tenant]')).toHaveLength(0);
    expect(await page.textContent('#minutes-list')).not.toContain('四日市市');
    await page.click('#minutes-new');
    expect(
      await page.$$eval('input[name=tenantIds]', (cs) =>
        cs.map((c) => [(c as HTMLInputElement).value, (c as HTMLInputElement).checked]),
      ),
    ).toEqual([['24201', true]]);
    await page.fill('#m-title', '津市 操作研修');
    await page.selectOption('#m-kind', '研修');
    await page.fill('#m-heldAt', '2026-04-22T10:00');
    await page.fill('[data-field="attendees.0.name"]', '津市 担当者');
    await page.click('#minutes-save');
    await statusIs(page, 'minutes-status', '「津市 操作研修」の下書きを保存しました');
    await page.waitForSelector('#minutes-list button:has-text("津市 操作研修")');
    const titles = await page.$$eval('#minutes-list tr[data-id] td:nth-child(3)', (tds) =>
      tds.map((td) => td.textContent),
    );
    expect(titles).toEqual(['津市 操作研修']);
    await page.screenshot({ path: path.join(shots, 'records-04-municipality-minutes.png'), fullPage: true });

    // issues: only Tsu's; raising one is for Tsu only
    await page.goto(`${suite.url}/issues`);
    await page.waitForSelector('#issues tbody:not([aria-busy])');
    const tenants = await page.$$eval('#issues tbody tr[data-id] td:nth-child(2)', (tds) =>
      tds.map((td) => td.textContent),
    );
    expect(tenants.length).toBeGreaterThan(0);
    expect(new Set(tenants)).toEqual(new Set(['津市']));
    await page.click('#issue-new');
    expect(await page.$$eval('#i-tenantId option', (os) => os.map((o) => (o as HTMLOptionElement).value))).toEqual([
      '24201',
    ]);
    await page.fill('#i-category', '操作方法');
    await page.fill('#i-description', '配信予約の取り消し方法が分からない');
    await page.click('#issue-save');
    await statusIs(page, 'issue-status', 'を起票しました');
    await page.waitForSelector('#issues tr.highlight:has-text("配信予約の取り消し方法が分からない")');
    await page.screenshot({ path: path.join(shots, 'records-05-municipality-issues.png'), fullPage: true });
    const apiOther = await page.evaluate(async () => (await fetch('/api/v1/issues?tenant=24202')).status);
    expect(apiOther).toBe(403);
    await page.context().close();
  });
});
