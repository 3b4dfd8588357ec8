/**
 * mileage's staff pages in real Chromium, signed in through the sign-in form: a municipality's staff
 * register a programme and an event activity through the forms, create a session and download its
 * QR code and A4 poster, download the publicity flyer, grant points by member number and import a
 * CSV whose preview shows each row's errors before the valid rows are applied, look up a member's
 * ledger and correct an entry; prefecture staff make and publish the card's design, previewed as an
 * image. Every mileage page passes axe-core's WCAG 2.1 AA rules.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, Download, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Design, Programme } from '../../mileage/index.ts';
import { cardPng, SAMPLE_FACE } from '../../mileage/printables/card-image.ts';
import { launchChromium, signedInPage } from '../helpers/browser.ts';
import { repoRoot } from '../helpers/index.ts';
import { residentCall, residentIdToken, sandboxResidents } from '../helpers/resident.ts';
import { type PagesSuite, startPagesSuite } from './pages-suite.ts';

const TSU = '24201';
/** Screenshots for people to look at (not compared). */
const shots = path.join(repoRoot, 'test-artifacts', 'mileage');
const PASSWORD = 'mileage-pages-pass-1';
const HOUR = 3_600_000;
let s: PagesSuite;
let browser: Browser;
let members: string[] = [];

const day = (ms: number) => new Date(ms + 9 * HOUR).toISOString().slice(0, 10);
const local = (ms: number) => new Date(ms + 9 * HOUR).toISOString().slice(0, 16);

beforeAll(async () => {
  fs.mkdirSync(shots, { recursive: true });
  s = await startPagesSuite('tayori-mileage-pages-');
  for (const u of [
    {
      username: 'm-tsu',
      displayName: '津市 担当',
      role: 'municipality',
      tenantId: TSU,
      permissions: ['manage_mileage'],
    },
    { username: 'm-ken', displayName: '三重県 担当', role: 'prefecture', permissions: ['manage_mileage'] },
  ]) {
    expect((await s.op('POST', '/api/v1/users', { ...u, password: PASSWORD })).status).toBe(201);
  }
  // two residents who opened the mileage page (so they have member numbers)
  for (const r of await sandboxResidents(s.url, TSU, 2)) {
    const token = await residentIdToken(s.url, TSU, r.userId);
    const summary = await residentCall<{ memberNo: string }>(s.url, TSU, token, 'GET', 'mileage/summary');
    expect(summary.status).toBe(200);
    members.push(summary.body.memberNo);
  }
  members = members.filter(Boolean);
  expect(members).toHaveLength(2);
  browser = await launchChromium();
}, 240_000);
afterAll(async () => {
  await browser?.close();
  await s?.close();
});

async function saved(d: Download): Promise<Buffer> {
  const file = await d.path();
  return fs.readFileSync(file);
}

async function submitAndWait(page: Page, form: string): Promise<void> {
  await Promise.all([page.waitForNavigation(), page.click(`${form} button[type=submit]`)]);
}

let programme: Programme;

describe('a municipality’s staff', () => {
  it('register a programme and an event activity, create a session and download its QR code and poster', async () => {
    const page = await signedInPage(browser, s.url, 'm-tsu', PASSWORD);
    await page.goto(`${s.url}/mileage`);
    await page.locator('main').getByRole('link', { name: '津市' }).click();
    await page.waitForURL(`${s.url}/mileage/${TSU}`);
    const now = Date.now();
    await page.fill('#np-name', '津市とこわか健康マイレージ');
    await page.fill('#np-startsOn', day(now - 30 * 24 * HOUR));
    await page.fill('#np-endsOn', day(now + 300 * 24 * HOUR));
    await page.fill('#np-goalPoints', '50');
    await submitAndWait(page, '#programme-form');
    expect(page.url()).toContain(`/mileage/${TSU}/settings?programme=`);
    const listed = await s.op<{ programmes: Programme[] }>('GET', `/api/v1/mileage/programmes?tenant=${TSU}`);
    programme = listed.body.programmes.find((p) => p.name === '津市とこわか健康マイレージ')!;
    expect(programme.goalPoints).toBe(50);

    // a bad activity first: the API's message next to the field
    await page.fill('#a-name', '健康教室への参加');
    await page.fill('#a-points', '0');
    await page.click('#activity-form button[type=submit]');
    await page.locator('#a-points-error:not([hidden])').waitFor();
    expect(await page.textContent('#a-points-error')).toContain('1 以上');
    await page.fill('#a-points', '20');
    await page.selectOption('#a-method', 'qr');
    await submitAndWait(page, '#activity-form');
    await page.fill('#a-name', '健康診断の受診');
    await page.fill('#a-points', '30');
    await page.selectOption('#a-method', 'grant');
    await submitAndWait(page, '#activity-form');
    expect(await page.locator('table tbody tr').filter({ hasText: '健康教室への参加' }).count()).toBe(1);

    await page.getByRole('link', { name: '会場の QR コード' }).click();
    await page.fill('#s-title', '健康ウォーキング大会');
    await page.fill('#s-heldOn', day(now));
    await page.fill('#s-place', '偕楽公園');
    await page.fill('#s-validFrom', local(now - HOUR));
    await page.fill('#s-validUntil', local(now + 5 * HOUR));
    await submitAndWait(page, '#session-form');
    const row = page.locator('#sessions-table tbody tr').filter({ hasText: '健康ウォーキング大会' });
    expect(await row.count()).toBe(1);
    expect(await row.textContent()).toContain('偕楽公園');
    await page.screenshot({ path: path.join(shots, 'staff-sessions.png'), fullPage: true });

    const [poster] = await Promise.all([
      page.waitForEvent('download'),
      row.getByRole('link', { name: /ポスター/ }).click(),
    ]);
    expect(poster.suggestedFilename()).toBe('健康ウォーキング大会_ポスター.pdf');
    const pdf = (await saved(poster)).toString('latin1');
    expect(pdf.startsWith('%PDF-')).toBe(true);
    expect(pdf).toContain('/MediaBox [0 0 595.28 841.89]');
    expect(pdf).toMatch(/\/BaseFont \/[A-Z]{6}\+IPAexGothic/);

    const [qr] = await Promise.all([
      page.waitForEvent('download'),
      row.getByRole('link', { name: /QR コード/ }).click(),
    ]);
    const png = await saved(qr);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');

    // the session's code put out of use: gone from the list (its points stay)
    page.once('dialog', (d) => void d.accept());
    await Promise.all([page.waitForNavigation(), row.getByRole('button', { name: /使えなくする/ }).click()]);
    expect(await page.locator('#sessions-table tbody tr').filter({ hasText: '健康ウォーキング大会' }).count()).toBe(0);
    await page.context().close();
  });

  it('download the publicity flyer as PDF and PNG (the account’s basic ID from LINE’s bot info)', async () => {
    const page = await signedInPage(browser, s.url, 'm-tsu', PASSWORD);
    await page.goto(`${s.url}/mileage/${TSU}/settings?programme=${programme.programmeId}`);
    const [pdf] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: /チラシ \(PDF/ }).click(),
    ]);
    expect(pdf.suggestedFilename()).toBe('津市_健康マイレージ_チラシ.pdf');
    expect((await saved(pdf)).subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const [png] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: /チラシ \(PNG/ }).click(),
    ]);
    expect((await saved(png)).subarray(1, 4).toString('latin1')).toBe('PNG');
    await page.context().close();
  });

  it('grant one by member number, and import a CSV whose preview shows each row’s errors', async () => {
    const page = await signedInPage(browser, s.url, 'm-tsu', PASSWORD);
    await page.goto(`${s.url}/mileage/${TSU}/grants?programme=${programme.programmeId}`);
    await page.fill('#g-memberNo', members[0]!);
    await page.selectOption('#g-activityId', { label: '健康診断の受診 (30 ポイント)' });
    await page.fill('#g-reason', '特定健診の受診を確認');
    await page.click('#grant-form button[type=submit]');
    await page.locator('#grant-form .status', { hasText: 'を付与しました' }).waitFor();
    expect(await page.textContent('#grant-form .status')).toContain(
      `会員番号 ${members[0]} に 30 ポイントを付与しました`,
    );

    const csv = [
      '会員番号,活動,活動日,理由',
      `${members[1]},健康診断の受診,${day(Date.now())},健診結果の提出`,
      '24201-000999-1,健康診断の受診,,番号違い',
      `${members[1]},存在しない活動,,活動違い`,
    ].join('\r\n');
    await page.setInputFiles('#i-file', { name: 'grants.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.click('#import-form button[type=submit]');
    await page.locator('#import-table').waitFor();
    expect(await page.textContent('[data-testid=import-summary]')).toBe(
      '3 行のうち、取り込める行 1 件、誤りのある行 2 件',
    );
    const rows = page.locator('#import-table tbody tr');
    expect(await rows.nth(0).textContent()).toContain('OK');
    expect(await rows.nth(1).textContent()).toContain('誤り');
    expect(await rows.nth(2).textContent()).toContain('誤り');
    await page.screenshot({ path: path.join(shots, 'staff-import-preview.png'), fullPage: true });
    await page.getByRole('button', { name: '1 件を取り込む' }).click();
    await page.locator('#import-preview .status', { hasText: '取り込みました' }).waitFor();
    expect(await page.textContent('#import-preview .status')).toContain('付与 1 件');
    await page.context().close();
  });

  it('look up a member’s ledger and correct an entry with a reason', async () => {
    const page = await signedInPage(browser, s.url, 'm-tsu', PASSWORD);
    await page.goto(`${s.url}/mileage/${TSU}/participants?programme=${programme.programmeId}`);
    expect(await page.locator('table').last().textContent()).toContain(members[0]!);
    await page.fill('#lookup-no', members[0]!);
    await page.click('#member-lookup button[type=submit]');
    await page.locator('[data-testid=member-balance]').waitFor();
    expect(await page.textContent('[data-testid=member-balance]')).toBe('30 ポイント');
    await page.getByRole('button', { name: '訂正' }).first().click();
    // a correction needs a reason
    await page.locator('.m-correction button[type=submit]').click();
    await page.locator('.m-correction .field-error:not([hidden])').first().waitFor();
    await page.locator('.m-correction input[name=points]').fill('10');
    await page.locator('.m-correction input[name=reason]').fill('受診日の誤り');
    await page.locator('.m-correction button[type=submit]').click();
    await page.locator('[data-testid=member-balance]', { hasText: '20 ポイント' }).waitFor();
    expect(await page.textContent('#member-ledger')).toContain('受診日の誤り');
    await page.screenshot({ path: path.join(shots, 'staff-participants.png'), fullPage: true });
    await page.context().close();
  });

  it('page through the participants and search by member number with plain links, JavaScript off', async () => {
    const signedIn = await signedInPage(browser, s.url, 'm-tsu', PASSWORD);
    const ctx = await browser.newContext({ javaScriptEnabled: false, locale: 'ja-JP', timezoneId: 'Asia/Tokyo' });
    await ctx.addCookies(await signedIn.context().cookies());
    await signedIn.context().close();
    const page = await ctx.newPage();
    const sorted = [...members].sort();
    const listed = async () => (await page.locator('table.m-table tbody th').allTextContents()).map((t) => t.trim());
    await page.goto(`${s.url}/mileage/${TSU}/participants?programme=${programme.programmeId}&order=member&limit=1`);
    expect(await page.textContent('#participants-range')).toBe('2 件中 1–1 件');
    expect(await listed()).toEqual([sorted[0]]);
    expect(await page.getByRole('link', { name: '前へ' }).count()).toBe(0);
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: '次へ' }).first().click()]);
    expect(await page.textContent('#participants-range')).toBe('2 件中 2–2 件');
    expect(await listed()).toEqual([sorted[1]]);
    expect(await page.getByRole('link', { name: '次へ' }).count()).toBe(0);
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: '前へ' }).first().click()]);
    expect(await listed()).toEqual([sorted[0]]);
    // the search form is a plain GET form: part of the number, typed with its hyphen
    await page.fill('#participants-q', members[1]!.slice(4, 12));
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: '絞り込む' }).click()]);
    expect(await listed()).toEqual([members[1]]);
    expect(await page.textContent('#participants-range')).toBe('1 件中 1–1 件');
    await page.screenshot({ path: path.join(shots, 'staff-participants-pages.png'), fullPage: true });
    await ctx.close();
  });
});

describe('prefecture staff', () => {
  it('make a draft design, see it as a card at phone size, and publish it', async () => {
    const page = await signedInPage(browser, s.url, 'm-ken', PASSWORD);
    await page.goto(`${s.url}/mileage/design`);
    await page.fill('#d-name', '令和8年度版');
    await page.fill('#d-note', '協力店で提示すると特典が受けられます');
    await page.fill('#d-colour', '#f5a623');
    // a landscape picture, as the card's artwork must be
    const artwork = cardPng({ title: 'イラスト', note: '', colour: '#4caf50' }, SAMPLE_FACE, 800);
    await page.setInputFiles('#d-image', { name: 'art.png', mimeType: 'image/png', buffer: artwork });
    await submitAndWait(page, '#design-form');
    const item = page.locator('.m-design').filter({ hasText: '令和8年度版' });
    expect(await item.textContent()).toContain('下書き');
    const img = item.locator('img.m-card-preview');
    await page.waitForFunction((el) => (el as HTMLImageElement).complete, await img.elementHandle());
    expect(await img.evaluate((el) => (el as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
    expect(await img.evaluate((el) => el.getBoundingClientRect().width)).toBe(360);
    // the artwork is public only once published (the card page inside LINE shows it)
    const designs = await s.op<{ designs: Design[] }>('GET', '/api/v1/mileage/designs');
    const draft = designs.body.designs.find((d) => d.name === '令和8年度版')!;
    expect(draft.hasImage).toBe(true);
    const artworkUrl = `${s.url}/liff/${TSU}/mileage/designs/${draft.designId}/artwork`;
    expect((await fetch(artworkUrl)).status).toBe(404);
    page.on('dialog', (d) => void d.accept());
    await Promise.all([page.waitForNavigation(), item.getByRole('button', { name: '公開して使用する' }).click()]);
    const current = await s.op<{ design: Design | null }>('GET', '/api/v1/mileage/designs/current');
    expect(current.body.design?.name).toBe('令和8年度版');
    const served = await fetch(artworkUrl);
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await served.arrayBuffer()).equals(artwork)).toBe(true);
    expect(await page.locator('.m-design.current').textContent()).toContain('使用中');
    await page.screenshot({ path: path.join(shots, 'staff-design.png'), fullPage: true });
    await page.context().close();
  });

  it('cannot grant points (the page says who can)', async () => {
    // and a municipality cannot download another municipality's printables
    const tsu = await signedInPage(browser, s.url, 'm-tsu', PASSWORD);
    for (const p of [
      `/api/v1/mileage/tenants/24202/programmes/${programme.programmeId}/flyer.pdf`,
      '/api/v1/mileage/tenants/24202/sessions/x/poster.pdf',
      '/api/v1/mileage/tenants/24202/sessions/x/qr.png',
    ]) {
      expect((await tsu.request.get(s.url + p)).status(), p).toBe(403);
    }
    expect((await tsu.request.get(`${s.url}/api/v1/mileage/designs/no-such-design/card.png`)).status()).toBe(404);
    await tsu.context().close();

    const page = await signedInPage(browser, s.url, 'm-ken', PASSWORD);
    await page.goto(`${s.url}/mileage/${TSU}/grants?programme=${programme.programmeId}`);
    expect(await page.locator('#grant-form').count()).toBe(0);
    expect(await page.textContent('main')).toContain('市町・受託者のアカウントで行います');
    await page.context().close();
  });
});

describe('accessibility (axe-core, WCAG 2.1 AA)', () => {
  // the two accounts at once: most of a page's time is waiting for the network to go idle
  it.concurrent.each(['m-tsu', 'm-ken'])(
    'every mileage page, signed in as %s',
    { timeout: 180_000 },
    async (username) => {
      const page = await signedInPage(browser, s.url, username, PASSWORD);
      const urls = [
        '/mileage',
        `/mileage/${TSU}`,
        `/mileage/${TSU}/settings`,
        `/mileage/${TSU}/sessions`,
        `/mileage/${TSU}/participants?member=${encodeURIComponent(members[0]!)}`,
        `/mileage/${TSU}/participants?order=member&limit=1&offset=1`,
        `/mileage/${TSU}/grants`,
        '/mileage/24202/settings',
        ...(username === 'm-ken' ? ['/mileage/design'] : []),
      ];
      const found: string[] = [];
      for (const url of urls) {
        const res = await page.goto(s.url + url, { waitUntil: 'networkidle' });
        if (username === 'm-tsu' && url.startsWith('/mileage/24202')) {
          expect(res?.status()).toBe(403);
          continue;
        }
        expect(res?.status(), url).toBe(200);
        const r = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
        found.push(
          ...r.violations.map(
            (v) => `${url}: ${v.id} ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(' | ')}`,
          ),
        );
      }
      expect(found).toEqual([]);
      await page.context().close();
    },
  );
});
