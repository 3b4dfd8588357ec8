/**
 * A resident in real Chromium, on a 360×740 phone screen, through the demo suite (tenants wired to
 * the sandbox, each with a LIFF app made through the sandbox's LIFF server API at start): the
 * frame's LIFF start-up runs LINE's LIFF mock with a sandbox resident's real ID token, and the page
 * shows the resident the server verified (/liff-api/<tenantId>/me). Without `?as=` the demo picker
 * asks whom to show the page as and remembers the answer. The home page passes axe-core's WCAG 2.1
 * AA rules and fits the screen.
 */
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSuite, type Suite } from '../../cli/suite.ts';
import { createLogger } from '../../core/logger.ts';
import { launchChromium, signedInPage } from '../helpers/browser.ts';
import { migratedTmpDir, testConfig } from '../helpers/index.ts';
import { openResidentPage, sandboxResidents, type SandboxResident } from '../helpers/resident.ts';

const TENANT = '24201';
const tmp = migratedTmpDir('tayori-liff-browser-');
let suite: Suite;
let browser: Browser;
let residents: SandboxResident[];

beforeAll(async () => {
  suite = await startSuite(
    testConfig(tmp.dir, { TAYORI_SANDBOX: 'on', TAYORI_DEMO_RESIDENT_RATIO: '0.0001', TAYORI_DEMO_SPEED: '1' }),
    createLogger('silent'),
    { demo: true },
  );
  residents = await sandboxResidents(suite.url, TENANT, 3);
  browser = await launchChromium();
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await suite?.close();
  tmp.remove();
});

describe('the demo tenants’ LIFF apps', () => {
  it('were made through the sandbox’s LIFF server API, with the tenant’s page as endpoint', async () => {
    const tenant = (await suite.tenants.get(TENANT))!;
    expect(tenant.liffChannelId).toMatch(/^\d+$/);
    expect(tenant.liffId.startsWith(`${tenant.liffChannelId}-`)).toBe(true);
    const login = suite.sandbox!.api.login.loginChannel(tenant.liffChannelId)!;
    const token = await fetch(`${suite.sandbox!.url}/oauth2/v3/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: login.channelId,
        client_secret: login.channelSecret,
      }),
    });
    const { access_token } = (await token.json()) as { access_token: string };
    const apps = (await (
      await fetch(`${suite.sandbox!.url}/liff/v1/apps`, { headers: { authorization: `Bearer ${access_token}` } })
    ).json()) as { apps: Array<{ liffId: string; view: { type: string; url: string } }> };
    expect(apps.apps).toEqual([
      expect.objectContaining({ liffId: tenant.liffId, view: { type: 'full', url: `${suite.url}/liff/${TENANT}/` } }),
    ]);
    expect(suite.residents.liffUrl(tenant, 'mileage/card')).toBe(`${suite.url}/liff/${TENANT}/mileage/card`);
  });
});

describe('a resident page in Chromium (360×740)', () => {
  it('starts LIFF with the mock and shows the resident the server verified', async () => {
    const r = residents[0]!;
    const page = await openResidentPage(browser, suite.url, TENANT, '', r.userId);
    const me = page.locator('#me');
    await me.locator('[class="r-muted"]').waitFor();
    expect(await me.getAttribute('data-user-id')).toBe(r.userId);
    expect(await me.textContent()).toContain(r.displayName);
    expect(await page.textContent('.r-tenant')).toBe('津市');
    expect(await page.textContent('#demo-banner')).toContain(r.displayName);
    expect(await page.textContent('#resident-alert')).toBe('');
    // fits the screen: nothing wider than 360 px
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await page.context().close();
  });

  it('passes axe-core (WCAG 2.1 AA) and has large type and tap targets', async () => {
    const page = await openResidentPage(browser, suite.url, TENANT, '', residents[1]!.userId);
    await page.locator('#me [class="r-muted"]').waitFor();
    const r = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
    expect(
      r.violations.map((v) => `${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(' | ')}`),
    ).toEqual([]);
    const sizes = await page.evaluate(() => ({
      font: Number.parseFloat(getComputedStyle(document.body).fontSize),
      buttons: [...document.querySelectorAll('button, a.r-button')].map((b) => b.getBoundingClientRect().height),
    }));
    expect(sizes.font).toBeGreaterThanOrEqual(18);
    expect(sizes.buttons.length).toBeGreaterThan(0);
    for (const h of sizes.buttons) expect(h).toBeGreaterThanOrEqual(44);
    await page.context().close();
  });

  it('without ?as= asks which resident to show the page as (demo), and remembers the answer', async () => {
    const ctx = await browser.newContext({ viewport: { width: 360, height: 740 }, locale: 'ja-JP' });
    const page = await ctx.newPage();
    page.on('pageerror', (e) => {
      throw e;
    });
    await page.goto(`${suite.url}/liff/${TENANT}/`);
    await page.getByRole('heading', { name: 'デモ: どの住民として表示しますか' }).waitFor();
    const choice = residents[2]!;
    await page.locator(`button[data-user-id="${choice.userId}"]`).click();
    await page.waitForSelector('html[data-liff="ready"]', { state: 'attached' });
    await page.locator('#me [class="r-muted"]').waitFor();
    expect(await page.getAttribute('#me', 'data-user-id')).toBe(choice.userId);
    // a reload keeps the resident (sessionStorage); switching forgets it
    await page.reload();
    await page.locator('#me [class="r-muted"]').waitFor();
    expect(await page.getAttribute('#me', 'data-user-id')).toBe(choice.userId);
    await page.getByRole('button', { name: '住民を切り替える' }).click();
    await page.getByRole('heading', { name: 'デモ: どの住民として表示しますか' }).waitFor();
    await ctx.close();
  });

  it('shows the API’s Japanese message in the alert region when the server refuses the token', async () => {
    const ctx = await browser.newContext({ viewport: { width: 360, height: 740 }, locale: 'ja-JP' });
    const page = await ctx.newPage();
    // the mock is handed a token LINE never issued (what a tampered page would send)
    await page.route('**/__mock/id-token*', (route) =>
      route.fulfill({
        contentType: 'application/json',
        body: JSON.stringify({ idToken: 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJVMCJ9.AAAA' }),
      }),
    );
    await page.goto(`${suite.url}/liff/${TENANT}/?as=${residents[0]!.userId}`);
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent()).toContain('LINE からもう一度開いてください');
    expect(await page.textContent('#me')).toBe('確認できませんでした');
    await ctx.close();
  });
});

describe('LIFF 設定 in the staff dashboard', () => {
  it('registers a LIFF app and creates one through the LIFF server API, with errors at their fields', async () => {
    const password = 'liff-settings-pass-1';
    const res = await fetch(`${suite.url}/api/v1/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${suite.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'liff-admin', displayName: '受託者', role: 'contractor', password }),
    });
    expect(res.status).toBe(201);
    const page = await signedInPage(browser, suite.url, 'liff-admin', password, {
      viewport: { width: 1200, height: 900 },
    });
    const tenant = '24203';
    const login = (await suite.tenants.get(tenant))!.liffChannelId;
    await page.goto(`${suite.url}/municipalities/${tenant}/liff-settings`);
    const axe = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
    expect(axe.violations.map((v) => v.id)).toEqual([]);

    // an id of another channel: refused next to the field
    await page.fill('#r-liff', '1999999999-Zz9Yy8Xx');
    await page.click('#liff-register button[type=submit]');
    await expect
      .poll(() => page.textContent('#r-liff-err'))
      .toContain('この LINE ログインチャネルのものではありません');

    await page.fill('#r-liff', `${login}-Zz9Yy8Xx`);
    await Promise.all([page.waitForNavigation(), page.click('#liff-register button[type=submit]')]);
    expect(await page.textContent('#liff-id')).toBe(`${login}-Zz9Yy8Xx`);
    expect((await suite.tenants.get(tenant))!.liffId).toBe(`${login}-Zz9Yy8Xx`);

    // creating with a wrong secret: the form says so; with the right one: a new app from the sandbox
    await page.fill('#c-secret', 'wrong');
    await page.click('#liff-create button[type=submit]');
    await expect.poll(() => page.textContent('#liff-create .form-summary')).toContain('シークレットが正しくありません');
    await page.fill('#c-secret', suite.sandbox!.api.login.loginChannel(login)!.channelSecret);
    await Promise.all([page.waitForNavigation(), page.click('#liff-create button[type=submit]')]);
    const created = (await suite.tenants.get(tenant))!.liffId;
    expect(created).not.toBe(`${login}-Zz9Yy8Xx`);
    expect(await page.textContent('#liff-id')).toBe(created);

    await page.goto(`${suite.url}/liff-settings`);
    expect(await page.textContent('table.records')).toContain(created);
    await page.context().close();
  });
});
