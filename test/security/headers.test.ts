import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Suite } from '../../cli/suite.ts';
import { html } from '../../core/html.ts';
import { createHttpApp, FrontHandlers, type FastifyInstance } from '../../core/http.ts';
import { createLogger } from '../../core/logger.ts';
import { CONTENT_SECURITY_POLICY } from '../../core/security-headers.ts';
import { harness, type Harness } from '../helpers/index.ts';

// The security headers on every kind of answer of the running suite (pages, API, assets, 404s,
// errors, the front handlers), and HSTS only over https; the webhook receiver, answering LINE's
// servers only, carries nosniff alone.

const EXPECTED = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

function expectSecurityHeaders(res: Response, what: string, overrides: Record<string, string> = {}): void {
  for (const [name, value] of Object.entries({ ...EXPECTED, ...overrides })) {
    expect(res.headers.get(name), `${what}: ${name}`).toBe(value);
  }
}

describe('the policy itself', () => {
  it('is strict: scripts, styles and connections from this site only, no framing, no plugins', () => {
    const directives = Object.fromEntries(
      CONTENT_SECURITY_POLICY.split(';').map((d) => {
        const [name, ...values] = d.trim().split(/\s+/);
        return [name!, values.join(' ')];
      }),
    );
    expect(directives).toEqual({
      'default-src': "'self'",
      'script-src': "'self'",
      'style-src': "'self'",
      'img-src': "'self' data: https:",
      'connect-src': "'self'",
      'frame-ancestors': "'none'",
      'base-uri': "'none'",
      'form-action': "'self'",
      'object-src': "'none'",
    });
  });
});

describe('security headers on the running suite', () => {
  let h: Harness;
  let suite: Suite;
  let cookie = '';

  beforeAll(async () => {
    h = await harness({ clickhouse: false, env: { TAYORI_DEMO_RESIDENT_RATIO: '0.0001', TAYORI_DEMO_SPEED: '1000' } });
    suite = await h.startSuite({ demo: true });
    const op = (p: string, body: unknown) =>
      fetch(suite.url + p, {
        method: 'POST',
        headers: { authorization: `Bearer ${suite.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const user = { username: 'ken-h', displayName: '三重県', role: 'prefecture', password: 'prefecture-pass-h1' };
    expect((await op('/api/v1/users', user)).status).toBe(201);
    const signIn = await op('/api/v1/sessions', { username: user.username, password: user.password });
    expect(signIn.status).toBe(201);
    cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
  });
  afterAll(() => h?.close());

  const get = (p: string, headers: Record<string, string> = {}) =>
    fetch(suite.url + p, { headers, redirect: 'manual' });

  it('a page (signed in and the sign-in form), its redirect, and no inline script or style in it', async () => {
    const page = await get('/overview', { cookie });
    expect(page.status).toBe(200);
    expectSecurityHeaders(page, 'page');
    const body = await page.text();
    // every <script> loads a file or is a JSON data block; no <style>, no style="" and no on…="" handler
    for (const tag of body.match(/<script\b[^>]*>/g) ?? [])
      expect(tag).toMatch(/ src="\/assets\/|type="application\/json"/);
    expect(body).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    const login = await get('/login');
    expect(login.status).toBe(200);
    expectSecurityHeaders(login, 'sign-in page');
    expect(await login.text()).toContain('<form method="post" action="/login">');
    const redirect = await get('/overview');
    expect(redirect.status).toBe(303);
    expectSecurityHeaders(redirect, 'redirect to sign-in');
  });

  it('an API answer, an unauthenticated API call and a bad request', async () => {
    const me = await get('/api/v1/me', { authorization: `Bearer ${suite.token}` });
    expect(me.status).toBe(200);
    expectSecurityHeaders(me, 'API');
    const anonymous = await get('/api/v1/dashboard/overview');
    expect(anonymous.status).toBe(401);
    expectSecurityHeaders(anonymous, 'API 401');
    const bad = await fetch(`${suite.url}/api/v1/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${suite.token}`, 'content-type': 'application/json' },
      body: '{"id":',
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_json');
    expectSecurityHeaders(bad, 'error');
  });

  it('assets (scripts, styles, apexcharts), a 404 and an error page', async () => {
    for (const [file, type] of [
      ['dashboard.js', 'javascript'],
      ['charts.js', 'javascript'],
      ['dashboard.css', 'text/css'],
      ['apexcharts.js', 'javascript'],
      ['apexcharts.css', 'text/css'],
    ] as const) {
      const res = await get(`/assets/${file}`);
      expect(res.status, file).toBe(200);
      expect(res.headers.get('content-type')).toContain(type);
      expectSecurityHeaders(res, file);
    }
    const missing = await get('/assets/nope.js');
    expect(missing.status).toBe(404);
    expectSecurityHeaders(missing, 'missing asset');
    const notFound = await get('/no/such/page');
    expect(notFound.status).toBe(404);
    expectSecurityHeaders(notFound, '404');
    // a page's error (a tenant that does not exist): a Japanese error page
    const errorPage = await get('/municipalities/99999', { cookie });
    expect(errorPage.status).toBe(404);
    expect(errorPage.headers.get('content-type')).toContain('text/html');
    expectSecurityHeaders(errorPage, 'error page');
  });

  it('the webhook receiver (a front handler) and a click link', async () => {
    const webhook = await fetch(`${suite.url}/webhook/24201`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"destination":"x","events":[]}',
    });
    expect(webhook.status).toBe(401);
    // LINE's servers are its only callers and its answers are fixed JSON: no browser policies, no sniffing
    expect(webhook.headers.get('x-content-type-options')).toBe('nosniff');
    expect(webhook.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(webhook.headers.get('content-security-policy')).toBeNull();
    const body = JSON.stringify(await webhook.json());
    expect(body).not.toContain('<');
    const link = await get('/r/unknown-token-123');
    expect(link.status).toBe(404);
    expectSecurityHeaders(link, '/r/ unknown');
  });

  it('no HSTS over plain http when the public URL is not https', async () => {
    expect((await get('/login')).headers.get('strict-transport-security')).toBeNull();
  });
});

describe('HSTS and headers a route sets itself', () => {
  const apps: FastifyInstance[] = [];
  afterAll(async () => {
    for (const a of apps) await a.close();
  });

  async function serve(opts: { publicUrl?: string; trustProxy?: boolean }): Promise<string> {
    const front = new FrontHandlers();
    front.add(
      (req) => req.url === '/front',
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('front');
      },
    );
    const app = createHttpApp(createLogger('silent'), { front, ...opts });
    app.get('/page', async (_req, reply) => reply.type('text/html; charset=utf-8').send(html`<p>${'<b>'}</p>`));
    app.get('/go', async (_req, reply) =>
      reply.status(302).header('location', 'https://example.jp/').header('referrer-policy', 'no-referrer').send(),
    );
    app.get('/boom', async () => {
      throw new Error('boom');
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    apps.push(app);
    const addr = app.server.address() as { port: number };
    return `http://127.0.0.1:${addr.port}`;
  }

  it('an https public URL turns HSTS on for app and front-handler answers', async () => {
    const url = await serve({ publicUrl: 'https://tayori.example.jp' });
    for (const p of ['/page', '/front', '/nope', '/boom']) {
      const res = await fetch(url + p);
      expect(res.headers.get('strict-transport-security'), p).toMatch(/^max-age=\d{8,}; includeSubDomains$/);
      expectSecurityHeaders(res, p);
    }
    expect((await fetch(`${url}/boom`)).status).toBe(500);
  });

  it('a request that came through TLS at a trusted proxy gets HSTS; an untrusted X-Forwarded-Proto does not', async () => {
    const trusted = await serve({ trustProxy: true });
    const viaTls = await fetch(`${trusted}/page`, { headers: { 'x-forwarded-proto': 'https' } });
    expect(viaTls.headers.get('strict-transport-security')).toMatch(/^max-age=/);
    const plain = await serve({});
    const forged = await fetch(`${plain}/page`, { headers: { 'x-forwarded-proto': 'https' } });
    expect(forged.headers.get('strict-transport-security')).toBeNull();
    expect((await fetch(`${plain}/front`)).headers.get('strict-transport-security')).toBeNull();
  });

  it('a page sent as html leaves as its escaped text; a route may narrow the referrer policy (/r/ keeps no-referrer)', async () => {
    const url = await serve({});
    const page = await fetch(`${url}/page`);
    expect(await page.text()).toBe('<p>&lt;b&gt;</p>');
    const go = await fetch(`${url}/go`, { redirect: 'manual' });
    expect(go.status).toBe(302);
    expectSecurityHeaders(go, 'redirect', { 'referrer-policy': 'no-referrer' });
  });
});
