/**
 * The residents' frame on an app of its own (embedded ClickHouse, tenants, the sandbox as LINE
 * Login): a capability's page and JSON API registered through ResidentShell; the token checked before
 * the body is read; small JSON bodies only; unknown tenants, tenants without LIFF settings and LINE
 * tenants' mock helpers refused with codes; no input makes the app answer 5xx.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { html } from '../../core/html.ts';
import { createHttpApp, type FastifyInstance } from '../../core/http.ts';
import { createLogger } from '../../core/logger.ts';
import { createResidentFrame, type ResidentFrame } from '../../core/resident/index.ts';
import { harness, stillResidents, type Harness } from '../helpers/harness.ts';
import { residentCall, residentIdToken, sandboxIdToken, sandboxResidents } from '../helpers/resident.ts';

const A = '24201';
const B = '24202';
const LINE_TENANT = '24203';
const UNSET = '24204';
let h: Harness;
let app: FastifyInstance;
let frame: ResidentFrame;
let url: string;
let user: string;
const seen: unknown[] = [];

beforeAll(async () => {
  h = await harness({
    prefix: 'tayori-resident-frame-',
    sandbox: {
      config: {
        channels: ['1', '2', '3', '4'].map((n) => ({
          channelId: `20000018${n}0`,
          botUserId: `U${n.repeat(32)}`,
          channelSecret: `secret-${n}`,
          channelAccessToken: `token-18${n}`,
          login: { channelId: `10000018${n}0`, channelSecret: `login-${n}` },
          residents: stillResidents(30, 180 + Number(n)),
        })),
      },
    },
    tenants: [A, B, LINE_TENANT, UNSET].map((id, i) => ({
      id,
      name: ['津市', '四日市市', '伊勢市', '松阪市'][i]!,
      kind: 'municipality' as const,
      channelId: `20000018${i + 1}0`,
      credentials: 'sandbox' as const,
    })),
  });
  for (const [i, id] of [A, B, LINE_TENANT].entries()) {
    await h.tenants.setLiff(id, { liffChannelId: `10000018${i + 1}0`, liffId: `10000018${i + 1}0-Abcdefgh` });
  }
  // a tenant on LINE itself (its LIFF settings are real ones; no mock helpers)
  await h.tenants.setCredentials(LINE_TENANT, { channelSecret: 's', channelAccessToken: 't', lineApi: 'line' });

  app = createHttpApp(createLogger('silent'));
  const assets = new Map<string, string>();
  frame = createResidentFrame({
    app,
    tenants: h.tenants,
    endpoints: () => ({ line: 'http://127.0.0.1:9', sandbox: h.sandbox.url }),
    publicUrl: () => url,
    assets: (files) => {
      for (const [k, v] of Object.entries(files)) assets.set(k, v);
    },
  });
  frame.page('test/hello', async ({ tenant }) => ({ title: 'テスト', body: html`<p>${tenant.name}</p>` }), {
    menu: 'テストのページ',
  });
  frame.api<{ n: number }>('POST', 'test/echo', async ({ body, userId, tenant }) => {
    seen.push(body);
    return { n: body.n, userId, tenantId: tenant.id };
  });
  frame.api('GET', 'test/items/:itemId', async ({ req, userId }) => ({
    itemId: (req.params as { itemId: string }).itemId,
    q: req.query.q ?? null,
    userId,
    ip: req.ip,
  }));
  frame.api('GET', 'test/boom', async () => {
    throw new Error('capability failed');
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  h.defer('app', () => app.close());
  user = (await sandboxResidents(url, A, 1))[0]!.userId;
  expect(assets.has('resident-liff.js')).toBe(true);
}, 60_000);
afterAll(async () => {
  await h?.close();
});

const raw = (path: string, init: RequestInit = {}) => fetch(url + path, init);
const codeOf = async (res: Response) => ((await res.json()) as { error?: { code?: string } }).error?.code;

describe('pages', () => {
  it('draw the frame around a capability page, and list it on the home page', async () => {
    const res = await raw(`/liff/${A}/test/hello`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const text = await res.text();
    expect(text).toMatch(/<html lang="ja">/);
    expect(text).toContain('name="viewport"');
    expect(text).toContain('<p>津市</p>');
    expect(text).toContain('"liffId":"1000001810-Abcdefgh"');
    expect(text).toContain('"sandbox":true');
    expect(text).not.toMatch(/<script>(?!<)/); // no inline script
    const home = await (await raw(`/liff/${A}/`)).text();
    expect(home).toContain(`href="/liff/${A}/test/hello"`);
    expect(home).toContain('テストのページ');
    expect((await raw(`/liff/${A}`, { redirect: 'manual' })).headers.get('location')).toBe(`/liff/${A}/`);
  });

  it('say in Japanese when the tenant is unknown or has no LIFF app', async () => {
    const unknown = await raw('/liff/99999/test/hello');
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain('登録されていません');
    const unset = await raw(`/liff/${UNSET}/test/hello`);
    expect(unset.status).toBe(409);
    expect(await unset.text()).toContain('まだ設定されていません');
    expect((await raw('/liff/%E0/test/hello')).status).toBeLessThan(500);
    const missing = await raw(`/liff/${A}/no/such/page`);
    expect([missing.status, missing.headers.get('content-type')]).toEqual([404, 'text/html; charset=utf-8']);
    expect(await missing.text()).toContain('このページは見つかりません');
  });

  it('give LIFF URLs: LINE’s for LINE tenants, this site’s for sandbox tenants', async () => {
    const a = (await h.tenants.get(A))!;
    const line = (await h.tenants.get(LINE_TENANT))!;
    expect(frame.liffUrl(a, 'mileage/card')).toBe(`${url}/liff/${A}/mileage/card`);
    expect(frame.liffUrl(line, '/mileage/card')).toBe('https://liff.line.me/1000001830-Abcdefgh/mileage/card');
    expect(frame.liffUrl((await h.tenants.get(UNSET))!, 'x')).toBeUndefined();
  });
});

describe('APIs', () => {
  it('answer a verified resident with the parsed body', async () => {
    const token = await residentIdToken(url, A, user);
    const r = await residentCall(url, A, token, 'POST', 'test/echo', { n: 7 });
    expect(r).toEqual({ status: 200, body: { n: 7, userId: user, tenantId: A } });
    expect((await residentCall(url, A, token, 'GET', 'me')).body).toMatchObject({ userId: user });
  });

  it('GET: the front lane (a plain path) and fastify (an encoded one) answer alike, params and query included', async () => {
    const token = await residentIdToken(url, A, user);
    const get = (path: string) => raw(path, { headers: { authorization: `Bearer ${token}` } });
    const plain = await get(`/liff-api/${A}/test/items/it-1?q=%E3%81%82`);
    const encoded = await get(`/liff-api/${A}/test/%69tems/it-1?q=%E3%81%82`);
    for (const res of [plain, encoded]) {
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(await res.json()).toEqual({ itemId: 'it-1', q: 'あ', userId: user, ip: '127.0.0.1' });
    }
    // errors keep their shape on both: a forged token, an unknown tenant, a handler that fails
    const forged = await raw(`/liff-api/${A}/test/items/x`, { headers: { authorization: 'Bearer abc.def.ghi' } });
    expect([forged.status, await codeOf(forged)]).toEqual([401, 'id_token_invalid']);
    const unknown = await raw('/liff-api/99999/test/items/x', { headers: { authorization: `Bearer ${token}` } });
    expect([unknown.status, await codeOf(unknown)]).toEqual([404, 'tenant_not_found']);
    const boom = await get(`/liff-api/${A}/test/boom`);
    expect([boom.status, await codeOf(boom)]).toEqual([500, 'internal_error']);
    // a path no API has goes on to fastify's 404
    const none = await get(`/liff-api/${A}/test/nothing`);
    expect([none.status, await codeOf(none)]).toEqual([404, 'not_found']);
  });

  it('refuse before reading the body: no token, a forged one, an expired one, another tenant’s', async () => {
    const big = JSON.stringify({ n: 'x'.repeat(100_000) });
    const noToken = await raw(`/liff-api/${A}/test/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: big,
    });
    expect(noToken.status).toBe(401);
    expect(await codeOf(noToken)).toBe('id_token_missing');
    const forged = await residentCall(url, A, 'eyJhbGciOiJFUzI1NiJ9.e30.AAAA', 'POST', 'test/echo', { n: 1 });
    expect(forged.body.error.code).toBe('id_token_invalid');
    const expired = await sandboxIdToken(h.sandbox.url, '1000001810', user, { expiresIn: -5 });
    const late = await residentCall(url, A, expired, 'POST', 'test/echo', { n: 1 });
    expect([late.status, late.body.error.code, late.body.error.message]).toEqual([
      401,
      'id_token_expired',
      expect.stringContaining('LINE からもう一度開いてください'),
    ]);
    const userB = (await sandboxResidents(url, B, 1))[0]!.userId;
    const tokenB = await residentIdToken(url, B, userB);
    expect((await residentCall(url, A, tokenB, 'GET', 'me')).body.error.code).toBe('id_token_invalid');
    expect(seen).toEqual([{ n: 7 }]);
  });

  it('take small JSON bodies only, and survive bad ones', async () => {
    const token = await residentIdToken(url, A, user);
    const post = (body: string, type = 'application/json') =>
      raw(`/liff-api/${A}/test/echo`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': type },
        body,
      });
    expect((await post(JSON.stringify({ n: 'x'.repeat(20_000) }))).status).toBe(413);
    expect((await post('{"n":')).status).toBe(400);
    expect((await post('n=1', 'text/plain')).status).toBe(415);
    const boom = await residentCall(url, A, token, 'GET', 'test/boom');
    expect(boom.status).toBe(500);
    expect(boom.body.error.code).toBeTruthy();
    expect((await residentCall(url, A, token, 'GET', 'me')).status).toBe(200); // still serving
  });

  it('refuse tenants without LIFF settings and unknown tenants with their codes', async () => {
    const token = await residentIdToken(url, A, user);
    expect((await residentCall(url, UNSET, token, 'GET', 'me')).body.error.code).toBe('liff_not_configured');
    expect((await residentCall(url, '99999', token, 'GET', 'me')).body.error.code).toBe('tenant_not_found');
  });
});

describe('the tenant behind a surge of residents', () => {
  it('is read once at a time, and the tenant read before serves while ClickHouse is slow or failing', async () => {
    const token = await residentIdToken(url, A, user);
    expect((await residentCall(url, A, token, 'GET', 'me')).status).toBe(200); // read and remembered
    const realNow = Date.now;
    let ahead = 6_000; // past the 5 s a reading is used for
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => realNow.call(Date) + ahead);
    const real = h.tenants.get.bind(h.tenants);
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    const get = vi.spyOn(h.tenants, 'get').mockImplementation(async (id) => {
      await slow;
      return real(id);
    });
    try {
      // ClickHouse slow: nobody waits for it, and it is asked once
      const surge = await Promise.all(Array.from({ length: 30 }, () => residentCall(url, A, token, 'GET', 'me')));
      expect(surge.map((r) => r.status)).toEqual(Array(30).fill(200));
      expect(get).toHaveBeenCalledTimes(1);
      release();
      await new Promise((r) => setTimeout(r, 50));
      // ClickHouse failing: the tenant still serves, and is asked again only after a pause
      get.mockRejectedValue(new Error('ClickHouse unreachable'));
      ahead = 12_000;
      const first = await residentCall(url, A, token, 'GET', 'me');
      const during = await Promise.all(Array.from({ length: 20 }, () => residentCall(url, A, token, 'GET', 'me')));
      expect([first, ...during].map((r) => r.status)).toEqual(Array(21).fill(200));
      expect(get).toHaveBeenCalledTimes(2);
      // an unknown tenant is not served from anything
      expect((await residentCall(url, '99998', token, 'GET', 'me')).status).toBeGreaterThanOrEqual(500);
    } finally {
      release();
      get.mockRestore();
      clock.mockRestore();
    }
  });
});

describe('the mock helpers (sandbox tenants only)', () => {
  it('hand out residents and their real tokens for sandbox tenants, 404 for LINE tenants', async () => {
    expect((await sandboxResidents(url, B, 3)).length).toBe(3);
    expect((await raw(`/liff/${LINE_TENANT}/__mock/residents`)).status).toBe(404);
    expect((await raw(`/liff/${LINE_TENANT}/__mock/id-token?as=${user}`)).status).toBe(404);
    expect((await raw(`/liff/${A}/__mock/id-token?as=U${'f'.repeat(32)}`)).status).toBe(404);
    expect((await raw(`/liff/${A}/__mock/id-token?as=<script>`)).status).toBe(400);
  });

  it('follow a tenant’s change at once (LIFF settings cleared → 409)', async () => {
    await h.tenants.setLiff(B, { liffChannelId: '', liffId: '' });
    const token = await residentIdToken(url, A, user);
    expect((await residentCall(url, B, token, 'GET', 'me')).body.error.code).toBe('liff_not_configured');
    expect((await raw(`/liff/${B}/__mock/residents`)).status).toBe(404);
  });
});
