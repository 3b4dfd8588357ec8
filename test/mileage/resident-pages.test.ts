/**
 * The residents' mileage pages in real Chromium on a 360×740 phone screen, as simulated residents of
 * the sandbox through LINE's LIFF mock (a real ID token, verified by the server as in LINE): scanning
 * an event's code adds its points once, the points page and history show them, reaching the goal
 * shows the benefit card with a running clock; an expired code and another municipality's code are
 * refused in Japanese; an expired card says so. Every page passes axe-core's WCAG 2.1 AA rules.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chDateTime } from '../../core/time.ts';
import type { Programme, Session, SessionCode } from '../../mileage/index.ts';
import { cardImagePath } from '../../mileage/printable-routes.ts';
import { launchChromium } from '../helpers/browser.ts';
import { repoRoot } from '../helpers/index.ts';
import { openResidentPage, type SandboxResident, sandboxResidents } from '../helpers/resident.ts';
import { type PagesSuite, startPagesSuite } from './pages-suite.ts';

const TSU = '24201';
/** Screenshots for people to look at (not compared). */
const shots = path.join(repoRoot, 'test-artifacts', 'mileage');
const YOKKAICHI = '24202';
const HOUR = 3_600_000;
let s: PagesSuite;
let browser: Browser;
let people: SandboxResident[];
let programme: Programme;
const codes: Record<'a' | 'b' | 'expired' | 'foreign', string> = { a: '', b: '', expired: '', foreign: '' };

const day = (ms: number) => new Date(ms + 9 * HOUR).toISOString().slice(0, 10);
const iso = (ms: number) => new Date(ms).toISOString();

async function newProgramme(tenantId: string, goalPoints: number): Promise<{ p: Programme; activityId: string }> {
  const now = Date.now();
  const p = await s.op<Programme>('POST', `/api/v1/mileage/tenants/${tenantId}/programmes`, {
    fiscalYear: Number(day(now).slice(0, 4)),
    name: 'とこわか健康マイレージ (テスト)',
    startsOn: day(now - 40 * 24 * HOUR),
    endsOn: day(now + 300 * 24 * HOUR),
    goalPoints,
    cardValidMonths: 12,
  });
  expect(p.status).toBe(201);
  const a = await s.op<{ activityId: string }>(
    'POST',
    `/api/v1/mileage/tenants/${tenantId}/programmes/${p.body.programmeId}/activities`,
    { name: '健康教室への参加', points: 20, method: 'qr' },
  );
  expect(a.status).toBe(201);
  return { p: p.body, activityId: a.body.activityId };
}

async function sessionCode(tenantId: string, body: Record<string, unknown>): Promise<string> {
  const made = await s.op<Session>('POST', `/api/v1/mileage/tenants/${tenantId}/sessions`, body);
  expect(made.status, JSON.stringify(made.body)).toBe(201);
  const code = await s.op<SessionCode>(
    'GET',
    `/api/v1/mileage/tenants/${tenantId}/sessions/${made.body.sessionId}/code`,
  );
  expect(code.status).toBe(200);
  return code.body.code;
}

beforeAll(async () => {
  fs.mkdirSync(shots, { recursive: true });
  s = await startPagesSuite('tayori-mileage-resident-pages-');
  people = await sandboxResidents(s.url, TSU, 5);
  const tsu = await newProgramme(TSU, 30);
  programme = tsu.p;
  const now = Date.now();
  const open = { programmeId: programme.programmeId, activityId: tsu.activityId, heldOn: day(now), place: '津市役所' };
  codes.a = await sessionCode(TSU, {
    ...open,
    title: '健康教室 A',
    validFrom: iso(now - HOUR),
    validUntil: iso(now + 2 * HOUR),
  });
  codes.b = await sessionCode(TSU, {
    ...open,
    title: '健康教室 B',
    validFrom: iso(now - HOUR),
    validUntil: iso(now + 2 * HOUR),
  });
  codes.expired = await sessionCode(TSU, {
    ...open,
    title: '終わった教室',
    validFrom: iso(now - 3 * HOUR),
    validUntil: iso(now - 2 * HOUR),
  });
  const yok = await newProgramme(YOKKAICHI, 30);
  codes.foreign = await sessionCode(YOKKAICHI, {
    programmeId: yok.p.programmeId,
    activityId: yok.activityId,
    heldOn: day(now),
    title: '四日市の教室',
    validFrom: iso(now - HOUR),
    validUntil: iso(now + 2 * HOUR),
  });
  browser = await launchChromium();
}, 240_000);
afterAll(async () => {
  await browser?.close();
  await s?.close();
});

async function scan(userId: string, code: string): Promise<{ page: Page; result: string; kind: string }> {
  const page = await openResidentPage(browser, s.url, TSU, 'mileage/scan', userId, { query: { c: code } });
  await page.waitForSelector('#m-scan:not([aria-busy])');
  return {
    page,
    result: (await page.textContent('#m-scan-result')) ?? '',
    kind: (await page.getAttribute('#m-scan-result', 'data-code')) ?? '',
  };
}

async function textOf(userId: string, path: string, selector: string, ready: string): Promise<string> {
  const page = await openResidentPage(browser, s.url, TSU, path, userId);
  await page.waitForSelector(ready);
  const text = (await page.textContent(selector)) ?? '';
  await page.context().close();
  return text;
}

describe('a resident scans, collects points and receives the card', () => {
  it('scan → points → goal → card shown, and a second scan adds nothing', async () => {
    const me = people[0]!.userId;
    // before any point: no card yet, and how many are missing
    expect(await textOf(me, 'mileage/card', '#m-no-card', '#m-card-box:not([aria-busy])')).toBe(
      'まだカードはありません (あと 30 ポイント)',
    );

    const first = await scan(me, codes.a);
    expect(first.result).toBe('20 ポイント獲得しました');
    expect(first.kind).toBe('awarded');
    expect(await first.page.textContent('#m-scan-balance')).toContain('あと 10 ポイント');
    expect(await first.page.textContent('#resident-alert')).toBe('');
    await first.page.context().close();

    const home = await openResidentPage(browser, s.url, TSU, 'mileage', me);
    await home.waitForSelector('#m-home:not([aria-busy])');
    expect(await home.textContent('#m-balance')).toBe('20');
    // progress in words too, not by the bar's colour alone
    expect(await home.textContent('#m-progress-text')).toBe('目標 30 ポイントまで あと 10 ポイント (66%)');
    expect(await home.getAttribute('#m-progress', 'value')).toBe('66');
    expect(await home.textContent('#m-member')).toMatch(/^24201-\d+-\d$/);
    expect(await home.textContent('#m-recent')).toContain('健康教室への参加');
    await home.screenshot({ path: path.join(shots, 'resident-mileage.png'), fullPage: true });
    const memberNo = (await home.textContent('#m-member'))!;
    await home.context().close();

    expect(await textOf(me, 'mileage/card', '#m-no-card', '#m-card-box:not([aria-busy])')).toBe(
      'まだカードはありません (あと 10 ポイント)',
    );

    // the same code again: nothing added
    const again = await scan(me, codes.a);
    expect(again.result).toBe('この会場のポイントは付与済みです');
    expect(again.kind).toBe('already');
    expect(await again.page.textContent('#m-scan-balance')).toContain('現在 20 ポイント');
    await again.page.context().close();

    // another session: 40 ≥ 30, the card
    const second = await scan(me, codes.b);
    expect(second.result).toBe('20 ポイント獲得しました');
    expect(await second.page.textContent('#m-scan-balance')).toContain('カードが発行されました');
    expect(await second.page.isVisible('#m-scan-card a')).toBe(true);
    await second.page.context().close();

    const card = await openResidentPage(browser, s.url, TSU, 'mileage/card', me);
    await card.waitForSelector('#m-card:not([hidden])');
    expect(await card.textContent('#m-card-title')).toBe('三重とこわか健康応援カード');
    expect(await card.textContent('.m-card-town')).toBe('津市');
    expect(await card.textContent('#m-card-no')).toBe(memberNo);
    expect(await card.textContent('#m-card-valid')).toMatch(/^令和\d+年\d+月\d+日まで$/);
    expect(await card.isVisible('#m-card-expired')).toBe(false);
    // a live clock: today's date and a time with seconds that moves
    expect(await card.textContent('#m-today')).toMatch(/^令和\d+年\d+月\d+日\(.\)$/);
    const t0 = (await card.textContent('#m-now'))!;
    expect(t0).toMatch(/^\d{2}:\d{2}:\d{2}$/);
    await card.screenshot({ path: path.join(shots, 'resident-card.png'), fullPage: true });
    await card.waitForFunction((before) => document.getElementById('m-now')?.textContent !== before, t0, {
      timeout: 5000,
    });
    await card.context().close();

    // the card as an image for the card message: a signed link, nothing without a valid signature
    const link = await cardImagePath(s.suite.mileage.codes.keys, TSU, programme.programmeId, me);
    const image = await fetch(s.url + link);
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/png');
    expect(
      Buffer.from(await image.arrayBuffer())
        .subarray(1, 4)
        .toString('latin1'),
    ).toBe('PNG');
    const forged = `${link.slice(0, -4)}${link.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    expect((await fetch(s.url + forged)).status).toBe(404);
    expect((await fetch(s.url + link.replace(`/liff/${TSU}/`, `/liff/${YOKKAICHI}/`))).status).toBe(404);
    const noCard = await cardImagePath(s.suite.mileage.codes.keys, TSU, programme.programmeId, people[4]!.userId);
    expect((await fetch(s.url + noCard)).status).toBe(404);

    const history = await openResidentPage(browser, s.url, TSU, 'mileage/history', me);
    await history.waitForSelector('#m-history:not([aria-busy])');
    expect(await history.locator('#m-history li').count()).toBe(2);
    expect(await history.textContent('#m-history-count')).toBe('(2 件)');
    await history.context().close();
  });

  it('refuses an expired code and another municipality’s code in Japanese', async () => {
    const me = people[1]!.userId;
    const expired = await scan(me, codes.expired);
    expect(expired.kind).toBe('session_expired');
    expect(expired.result).toBe('ポイントは付与されませんでした');
    await expired.page.screenshot({ path: path.join(shots, 'resident-scan-expired.png'), fullPage: true });
    expect(await expired.page.textContent('#resident-alert')).toContain('受付期間は終了しました');
    await expired.page.context().close();

    const foreign = await scan(me, codes.foreign);
    expect(foreign.kind).toBe('code_foreign');
    expect(foreign.result).toBe('ポイントは付与されませんでした');
    expect(await foreign.page.textContent('#resident-alert')).toContain('別の市町');
    await foreign.page.context().close();

    const nonsense = await scan(me, 'this-is-not-a-code');
    expect(nonsense.kind).toBe('code_invalid');
    await nonsense.page.context().close();

    // and nothing was added
    const home = await openResidentPage(browser, s.url, TSU, 'mileage', me);
    await home.waitForSelector('#m-home:not([aria-busy])');
    expect(await home.textContent('#m-balance')).toBe('0');
    await home.context().close();
  });

  it('says 「有効期限切れ」 on an expired card', async () => {
    const me = people[2]!.userId;
    // a card issued two years ago, valid until last year (written as the card service writes it)
    const issued = Date.now() - 730 * 24 * HOUR;
    await s.suite.ch.insert({
      table: 'mileage_cards',
      format: 'JSONEachRow',
      values: [
        {
          tenant_id: TSU,
          programme_id: programme.programmeId,
          user_id: me,
          card_no: '24201-999999-0',
          design_id: '',
          issued_at: chDateTime(issued),
          valid_until: day(issued + 365 * 24 * HOUR),
          version: 1,
        },
      ],
    });
    const page = await openResidentPage(browser, s.url, TSU, 'mileage/card', me);
    await page.waitForSelector('#m-card:not([hidden])');
    expect(await page.isVisible('#m-card-expired')).toBe(true);
    expect(await page.textContent('#m-card-expired')).toBe('有効期限切れ');
    expect(await page.textContent('#m-card-no')).toBe('24201-999999-0');
    await page.screenshot({ path: path.join(shots, 'resident-card-expired.png'), fullPage: true });
    await page.context().close();
  });
});

describe('accessibility at 360×740 (axe-core, WCAG 2.1 AA)', () => {
  const pages: Array<[string, string, Record<string, string>?]> = [
    ['mileage', '#m-home:not([aria-busy])'],
    ['mileage/history', '#m-history:not([aria-busy])'],
    ['mileage/card', '#m-card-box:not([aria-busy])'],
    ['mileage/scan', '#m-scan:not([aria-busy])', { c: 'expired-or-not' }],
  ];
  it.each(pages)('%s', async (path, ready, query) => {
    for (const who of [people[0]!, people[3]!]) {
      const page = await openResidentPage(browser, s.url, TSU, path, who.userId, { query });
      await page.waitForSelector(ready);
      const r = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
      expect(
        r.violations.map((v) => `${path}: ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(' | ')}`),
      ).toEqual([]);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
      expect(
        await page.evaluate(() => Number.parseFloat(getComputedStyle(document.body).fontSize)),
      ).toBeGreaterThanOrEqual(18);
      await page.context().close();
    }
  });
});
