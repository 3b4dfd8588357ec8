/**
 * Test devices by QR code (delivery/test-device-pairing.ts):
 *
 *   POST /api/v1/tenants/:tenantId/test-devices/pairings             a one-time code (deliver) → { pairingId, url, qr, expiresAt }
 *   GET  /api/v1/tenants/:tenantId/test-devices/pairings/:pairingId  waiting | used (with the device) | expired
 *   page /liff/<tenantId>/test-device/<token>                        「この端末をテスト端末として登録しますか」
 *   GET  /liff-api/<tenantId>/test-device/<token>                     the code still usable? (404 / 409 / 410 in Japanese)
 *   POST /liff-api/<tenantId>/test-device/<token>  { label }          registers the ID token's user
 */
import { fileURLToPath } from 'node:url';
import type { Authenticator } from '../core/auth.ts';
import type { FastifyInstance } from '../core/http.ts';
import { html } from '../core/html.ts';
import type { ResidentShell } from '../core/resident-shell.ts';
import { staffRequests } from '../core/staff-requests.ts';
import type { TenantStore } from '../core/tenants.ts';
import { z } from '../core/zod.ts';
import type { ResidentStore } from './residents.ts';
import { parseOrThrow } from './service.ts';
import type { TestDevicePairings } from './test-device-pairing.ts';

const labelSchema = z.object({
  label: z.string({ error: '名前を入力してください' }).trim().max(50, '名前は 50 文字以内です').default(''),
});

const tokenOf = (req: { params?: unknown }) => String((req.params as { token?: string } | undefined)?.token ?? '');

export function registerTestDevicePairingRoutes(
  app: FastifyInstance,
  deps: {
    auth: Authenticator;
    pairings: TestDevicePairings;
    tenants: TenantStore;
    residentShell: () => ResidentShell | undefined;
  },
): void {
  const staff = staffRequests(deps.auth);
  const base = '/api/v1/tenants/:tenantId/test-devices/pairings';
  app.post(base, staff.pre, async (req, reply) => {
    const tenant = await deps.tenants.require(staff.allowed(req, 'deliver'));
    const made = await deps.pairings.create(tenant.id, staff.by(req), (path) =>
      deps.residentShell()?.liffUrl(tenant, path),
    );
    return reply.status(201).send(made);
  });
  app.get(`${base}/:pairingId`, staff.pre, async (req) =>
    deps.pairings.status(staff.seen(req), staff.param(req, 'pairingId')),
  );
}

const file = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** The LIFF page a scanned code opens, and its API (the user is the verified ID token's). */
export function registerTestDeviceResidentPages(
  residents: ResidentShell,
  deps: { pairings: TestDevicePairings; residents: ResidentStore },
): void {
  residents.assets({ 'test-device-liff.js': file('./browser/test-device-liff.ts') });
  residents.page('test-device/:token', async () => ({
    title: 'テスト端末の登録',
    scripts: ['test-device-liff.js'],
    body: html`<section class="r-card" id="td-root" aria-busy="true" aria-labelledby="td-h">
<h2 id="td-h">この端末をテスト端末として登録しますか</h2>
<p>登録すると、市町の担当者がテスト送信したメッセージがこの LINE に届きます。</p>
<form id="td-form" hidden>
<p><label for="td-label">端末の名前 (担当者名など)</label><br>
<input id="td-label" name="label" maxlength="50" autocomplete="off"></p>
<p id="td-expires" class="r-muted"></p>
<button type="submit" id="td-submit">登録する</button>
</form>
<p id="td-done" role="status" hidden></p>
</section>`,
  }));
  residents.api('GET', 'test-device/:token', async ({ tenant, req, displayName }) => ({
    ...(await deps.pairings.check(tenant.id, tokenOf(req))),
    displayName: displayName ?? null,
  }));
  residents.api('POST', 'test-device/:token', async ({ tenant, req, userId, body }) => {
    const { label } = parseOrThrow(labelSchema, body ?? {}, 'invalid_test_device');
    const device = await deps.pairings.claim(tenant.id, tokenOf(req), userId, label, {
      ip: req.ip,
      userAgent: String(req.headers['user-agent'] ?? ''),
    });
    return { ...device, friend: await deps.residents.isFriend(tenant.id, userId) };
  });
}
