/**
 * Test devices by QR code, end to end in real Chromium on the whole suite (demo tenants on the
 * sandbox, LIFF through LINE's mock with real ID tokens): a 配信 staff member shows the one-time
 * code on 配信設定, a phone "scans" it (opens the URL the code holds as a simulated resident), confirms
 * 「この端末をテスト端末として登録しますか」 with a name, and the staff page shows the device; a
 * test-send reaches that LINE user. The same code again, an expired code and another tenant's code
 * are refused in Japanese; typing an ID still works; the LIFF page passes axe-core at 360 px.
 */
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser } from 'playwright-core';
import QRCode from 'qrcode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Suite } from '../../cli/suite.ts';
import { pairingIdOf } from '../../delivery/test-device-pairing.ts';
import { launchChromium, operatorCall, signedInPage } from '../helpers/browser.ts';
import { harness, sandboxHook, waitFor, type Harness } from '../helpers/index.ts';
import {
  openResidentPage,
  residentCall,
  residentIdToken,
  sandboxResidents,
  type SandboxResident,
} from '../helpers/resident.ts';

const TENANT = '24201';
const OTHER = '24202';
let h: Harness;
let suite: Suite;
let browser: Browser;
let people: SandboxResident[];
const op = <T = any>(method: string, p: string, body?: unknown) => operatorCall<T>(suite, method, p, body);
const devices = async (tenant = TENANT) =>
  (await op<{ devices: Array<{ userId: string; label: string }> }>('GET', `/api/v1/tenants/${tenant}/test-devices`))
    .body.devices;
const tokenOf = (url: string) => url.split('/').pop()!;

beforeAll(async () => {
  h = await harness({
    prefix: 'tayori-test-device-qr-',
    clickhouse: false,
    env: { TAYORI_DEMO_RESIDENT_RATIO: '0.0001', TAYORI_DEMO_SPEED: '1000' },
  });
  suite = await h.startSuite({ demo: true });
  people = await sandboxResidents(suite.url, TENANT, 4);
  expect(
    (
      await op('POST', '/api/v1/users', {
        username: 'tsu-qr',
        displayName: '津市 配信担当',
        role: 'municipality',
        tenantId: TENANT,
        password: 'municipal-pass-7',
        permissions: ['deliver'],
      })
    ).status,
  ).toBe(201);
  browser = await launchChromium();
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

describe('test devices by QR code', () => {
  it('registers the scanning LINE user from the 配信設定 page, once', async () => {
    const staff = await signedInPage(browser, suite.url, 'tsu-qr', 'municipal-pass-7');
    await staff.goto(`${suite.url}/municipalities/${TENANT}/delivery-settings`);
    await staff.click('#test-device-qr');
    const img = staff.locator('#test-device-qr-image');
    await img.waitFor();
    const url = (await img.getAttribute('data-url'))!;
    expect(url).toMatch(new RegExp(`^${suite.url}/liff/${TENANT}/test-device/[A-Za-z0-9_-]{43}$`));
    // the picture is that URL's QR code
    expect(await img.getAttribute('src')).toBe(
      await QRCode.toDataURL(url, { errorCorrectionLevel: 'M', margin: 4, width: 320 }),
    );

    const me = people[0]!;
    const phone = await openResidentPage(
      browser,
      suite.url,
      TENANT,
      new URL(url).pathname.split(`/${TENANT}/`)[1]!,
      me.userId,
    );
    await phone.waitForSelector('#td-form:not([hidden])');
    expect(await phone.textContent('h2#td-h')).toBe('この端末をテスト端末として登録しますか');
    expect(await phone.inputValue('#td-label')).toBe(me.displayName);
    const axe = await new AxeBuilder({ page: phone }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
    expect(axe.violations.map((v) => v.id)).toEqual([]);
    await phone.fill('#td-label', '広報課 山田のスマホ');
    await phone.click('#td-submit');
    await phone.waitForSelector('#td-done:not([hidden])');
    expect(await phone.textContent('#td-done')).toContain('テスト端末として登録しました (広報課 山田のスマホ)');

    // the staff page notices and lists it
    await staff.waitForFunction(() =>
      document.querySelector('#test-devices .status')?.textContent?.includes('QR コードで登録されました'),
    );
    expect(await staff.locator('#test-devices tbody').textContent()).toContain('広報課 山田のスマホ');
    expect(await devices()).toContainEqual({ userId: me.userId, label: '広報課 山田のスマホ' });
    const audit = await op<{ records: Array<{ action: string; target: string; username: string; detail: any }> }>(
      'GET',
      `/api/v1/audit?tenant=${TENANT}&action=test_device_added`,
    );
    expect(audit.status).toBe(200);
    expect(audit.body.records[0]).toMatchObject({ target: me.userId, username: 'tsu-qr', detail: { via: 'qr' } });

    // a test-send reaches that LINE user
    const sent = await op('POST', `/api/v1/tenants/${TENANT}/deliveries/test-send`, {
      messages: [{ type: 'text', text: 'QR 登録のテスト' }],
    });
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    const channel = (await suite.tenants.require(TENANT)).channelId;
    await waitFor(async () => {
      const r = await sandboxHook(suite.sandbox!.url, 'GET', `/channels/${channel}/receipts/${me.userId}`);
      return JSON.stringify(r).includes('QR 登録のテスト');
    });

    // the same code again: refused in Japanese, on the page and in the API
    const again = await openResidentPage(browser, suite.url, TENANT, `test-device/${tokenOf(url)}`, people[1]!.userId);
    await again.waitForFunction(() => document.querySelector('#resident-alert')?.textContent);
    expect(await again.textContent('#resident-alert')).toContain('この QR コードはすでに使われています');
    expect(await again.isHidden('#td-form')).toBe(true);
    const token = await residentIdToken(suite.url, TENANT, people[1]!.userId);
    const reused = await residentCall(suite.url, TENANT, token, 'POST', `test-device/${tokenOf(url)}`, { label: 'x' });
    expect(reused.status).toBe(409);
    expect(reused.body.error).toMatchObject({ code: 'pairing_used' });
    expect((await devices()).map((d) => d.userId)).not.toContain(people[1]!.userId);
  });

  it('refuses an expired code, an unknown one and another tenant’s, in Japanese', async () => {
    const made = await op<{ pairingId: string; url: string }>(
      'POST',
      `/api/v1/tenants/${TENANT}/test-devices/pairings`,
    );
    expect(made.status).toBe(201);
    const t = tokenOf(made.body.url);
    expect(made.body.pairingId).toBe(pairingIdOf(t));
    const who = people[2]!.userId;
    const idToken = await residentIdToken(suite.url, TENANT, who);
    // another tenant's page does not know this tenant's code
    const [stranger] = await sandboxResidents(suite.url, OTHER, 1);
    const otherToken = await residentIdToken(suite.url, OTHER, stranger!.userId);
    const elsewhere = await residentCall(suite.url, OTHER, otherToken, 'POST', `test-device/${t}`, { label: 'x' });
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.body.error.code).toBe('pairing_not_found');
    expect(elsewhere.body.error.message).toContain('この QR コードは無効です');
    // the code's minutes are over (its expiry moved into the past)
    await suite.delivery.fanOut.redis.hset(
      `tayori:delivery:test-device-pairing:${made.body.pairingId}`,
      'expiresAt',
      String(Date.now() - 1000),
    );
    const late = await residentCall(suite.url, TENANT, idToken, 'POST', `test-device/${t}`, { label: '遅い' });
    expect(late.status).toBe(410);
    expect(late.body.error).toMatchObject({ code: 'pairing_expired' });
    expect(late.body.error.message).toContain('有効期限 (10 分) が切れています');
    const checked = await residentCall(suite.url, TENANT, idToken, 'GET', `test-device/${t}`);
    expect(checked.status).toBe(410);
    expect(
      (await op('GET', `/api/v1/tenants/${TENANT}/test-devices/pairings/${made.body.pairingId}`)).body.status,
    ).toBe('expired');
    // a made-up token; no ID token at all
    const bogus = await residentCall(suite.url, TENANT, idToken, 'POST', `test-device/${'A'.repeat(43)}`, {});
    expect(bogus.status).toBe(404);
    expect((await residentCall(suite.url, TENANT, undefined, 'POST', `test-device/${t}`, {})).status).toBe(401);
    expect((await devices()).map((d) => d.userId)).not.toContain(who);
    // another tenant's staff poll cannot see it
    expect(
      (await op('GET', `/api/v1/tenants/${OTHER}/test-devices/pairings/${made.body.pairingId}`)).body.error.code,
    ).toBe('pairing_not_found');

    // typing an ID stays possible
    const typed = await op('POST', `/api/v1/tenants/${TENANT}/test-devices`, { userId: who, label: '手入力' });
    expect(typed.status).toBe(201);
    expect(await devices()).toContainEqual({ userId: who, label: '手入力' });
    expect((await op('DELETE', `/api/v1/tenants/${TENANT}/test-devices/${who}`)).status).toBe(200);
    const records = async (action: string) =>
      (
        await op<{ records: Array<{ target: string; detail: any }> }>(
          'GET',
          `/api/v1/audit?tenant=${TENANT}&action=${action}`,
        )
      ).body.records;
    expect((await records('test_device_added')).find((r) => r.target === who)?.detail).toMatchObject({ via: 'id' });
    expect((await records('test_device_removed')).map((r) => r.target)).toContain(who);
    expect((await records('test_device_pairing_created')).map((r) => r.target)).toContain(made.body.pairingId);
  });
});
