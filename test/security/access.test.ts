/**
 * Issue 13, "access that cannot be sidestepped", against the suite in this process (served as
 * https: TAYORI_PUBLIC_URL; no trusted proxy): the /api/ gate and its CSRF check decided by the
 * matched route, not the raw URL (`/%61pi/…`); municipality accounts kept to their tenant; read-only
 * callers kept from the composer's heavy calls; paging validated; the prefecture-wide list scoped
 * before its LIMIT; API tokens that expire, list, revoke and die with a password change or a
 * disabled account; one's own password only with the current one; the `__Host-` session cookie;
 * a forged X-Forwarded-For that does not escape the sign-in throttle; failed token lookups
 * rate-limited; argon2's concurrency cap; TAYORI_TRUST_PROXY.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Suite } from '../../cli/suite.ts';
import { ConfigError, loadConfig, trustProxyOption } from '../../core/config.ts';
import { createHttpApp } from '../../core/http.ts';
import { createLogger } from '../../core/logger.ts';
import { LoginThrottle } from '../../core/sessions.ts';
import { chDateTime, nextVersion } from '../../core/time.ts';
import { HashGate } from '../../core/users.ts';
import type { DeliveryRecord } from '../../delivery/index.ts';
import { harness, type Harness, testEnv, waitFor } from '../helpers/index.ts';

let h: Harness;
const OWN = '24201';
const OTHER = '24202';
let suite: Suite;
type Session = Awaited<ReturnType<typeof signIn>>;
const sessions: Record<string, Session> = {};

const op = (method: string, p: string, body?: unknown) =>
  fetch(suite.url + p, {
    method,
    headers: {
      authorization: `Bearer ${suite.token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
const make = async (username: string, body: Record<string, unknown> = {}) => {
  const res = await op('POST', `/api/v1/users/${username}/tokens`, body);
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as { token: string; id: string; createdAt: string; expiresAt: string };
};
const bearer = (token: string, p: string) => fetch(suite.url + p, { headers: { authorization: `Bearer ${token}` } });

async function signIn(username: string, password: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${suite.url}/api/v1/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ username, password }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  const setCookie = res.headers.get('set-cookie')!;
  const cookie = setCookie.split(';')[0]!;
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  const call = (method: string, p: string, body?: unknown, opts: { csrf?: boolean; form?: boolean } = {}) =>
    fetch(suite.url + p, {
      method,
      redirect: 'manual',
      headers: {
        cookie,
        ...(opts.csrf === false ? {} : { 'x-csrf-token': csrfToken }),
        ...(body !== undefined
          ? { 'content-type': opts.form ? 'application/x-www-form-urlencoded' : 'application/json' }
          : {}),
      },
      body:
        body === undefined
          ? undefined
          : opts.form
            ? new URLSearchParams(body as Record<string, string>).toString()
            : JSON.stringify(body),
    });
  return { call, csrfToken, setCookie, cookie };
}

const codeOf = async (res: Response) => ((await res.json()) as { error?: { code?: string } }).error?.code;

function delivery(tenantId: string, title: string, at: number): DeliveryRecord {
  return {
    tenantId,
    id: `scope-${tenantId}-${at}`,
    kind: 'normal',
    title,
    messages: [{ type: 'text', text: title }],
    links: [],
    clickBucket: '',
    audience: { type: 'all' },
    audienceLabel: 'すべての友だち',
    sendMethod: 'broadcast',
    notificationDisabled: false,
    aggregationUnit: '',
    requestId: '',
    status: 'draft',
    scheduledAt: null,
    startedAt: null,
    finishedAt: null,
    targets: 0,
    skipped: 0,
    batches: 0,
    accepted: 0,
    failed: 0,
    error: '',
    createdAt: at,
    updatedAt: at,
  };
}

beforeAll(async () => {
  h = await harness({
    clickhouse: false,
    env: { TAYORI_SANDBOX: 'off', TAYORI_PUBLIC_URL: 'https://tayori.example.jp' },
  });
  suite = await h.startSuite({ demo: true }, createLogger(process.env.DBG ? 'error' : 'silent'));
  for (const u of [
    { username: 'boss', role: 'admin', password: 'admin-pass-123' },
    { username: 'ken', role: 'prefecture', password: 'prefecture-pass-1' },
    { username: 'tsu-ops', role: 'municipality', tenantId: OWN, password: 'municipal-pass-1' },
    { username: 'tsu-read', role: 'municipality', tenantId: OWN, password: 'municipal-pass-2', permissions: [] },
    { username: 'tsu-pw', role: 'municipality', tenantId: OWN, password: 'municipal-pass-3' },
  ]) {
    const res = await op('POST', '/api/v1/users', u);
    expect(res.status, await res.clone().text()).toBe(201);
  }
  for (const [name, pw] of [
    ['boss', 'admin-pass-123'],
    ['ken', 'prefecture-pass-1'],
    ['tsu-ops', 'municipal-pass-1'],
    ['tsu-read', 'municipal-pass-2'],
  ] as const)
    sessions[name] = await signIn(name, pw);
}, 180_000);

afterAll(async () => {
  await h?.close();
});

describe('the /api/ gate goes by the matched route', () => {
  it('no credentials: 401 through encoded paths, and for /api/ paths no route matches', async () => {
    for (const p of [
      '/%61pi/v1/users',
      '/%61pi/v1/dashboard/overview.csv',
      `/api/v1/tenants/2420%31/residents.csv`,
      '/%61pi/v1/deliveries',
      '/api/v1/no-such-route',
      '/%61pi/v1/no-such-route',
    ]) {
      const res = await fetch(suite.url + p);
      expect(res.status, p).toBe(401);
      expect(await codeOf(res)).toBe('unauthorized');
    }
    expect((await op('GET', '/api/v1/no-such-route')).status).toBe(404);
  });

  it('a session changing state through /%61pi/… still needs its CSRF token', async () => {
    const user = { username: 'csrf-probe', role: 'prefecture', password: 'prefecture-pass-9' };
    const without = await sessions.boss!.call('POST', '/%61pi/v1/users', user, { csrf: false });
    expect(without.status).toBe(403);
    expect(await codeOf(without)).toBe('csrf_failed');
    expect((await op('GET', '/api/v1/users')).ok).toBe(true);
    const users = ((await (await op('GET', '/api/v1/users')).json()) as { users: Array<{ username: string }> }).users;
    expect(users.map((u) => u.username)).not.toContain('csrf-probe');
    expect((await sessions.boss!.call('POST', '/%61pi/v1/users', user)).status).toBe(201);
  });

  it('a municipality account on another tenant: 403, however the path is spelt', async () => {
    const tsu = sessions['tsu-ops']!;
    for (const p of [
      `/api/v1/tenants/${OTHER}/deliveries`,
      `/api/v1/tenants/2420%32/deliveries.csv`,
      `/%61pi/v1/tenants/${OTHER}/residents.csv`,
      `/%61pi/v1/dashboard/municipalities/${OTHER}`,
    ]) {
      const res = await tsu.call('GET', p);
      expect(res.status, p).toBe(403);
    }
    const post = await tsu.call('POST', `/api/v1/tenants/2420%32/deliveries`, { title: 'x', messages: [] });
    expect(post.status).toBe(403);
  });
});

describe('read-only callers and paging', () => {
  const base = `/api/v1/tenants/${OWN}/deliveries`;
  it('the 県 account and a 市町 account without 配信 cannot validate, preview or count (403)', async () => {
    for (const who of ['ken', 'tsu-read']) {
      for (const [p, body] of [
        [`${base}/validate`, { title: 't', messages: [{ type: 'text', text: 'a' }] }],
        [`${base}/preview`, { messages: [{ type: 'text', text: 'a' }] }],
        [`${base}/count`, { audience: { type: 'all' } }],
      ] as const) {
        const res = await sessions[who]!.call('POST', p, body);
        expect(res.status, `${who} ${p}`).toBe(403);
        expect(await codeOf(res)).toBe('forbidden');
      }
    }
    // the 市町 account with 配信 counts
    const ok = await sessions['tsu-ops']!.call('POST', `${base}/count`, { audience: { type: 'all' } });
    expect(ok.status, await ok.clone().text()).toBe(200);
  });

  it('a negative, zero, fractional or non-numeric limit is 400 invalid_input, never 500', async () => {
    for (const p of [
      '/api/v1/deliveries?limit=-1',
      '/api/v1/deliveries?limit=abc',
      `${base}?limit=0`,
      `${base}?limit=1.5`,
      `${base}.csv?limit=-5`,
      '/api/v1/deliveries.csv?limit=99999999',
      `${base}?tests=maybe`,
    ]) {
      const res = await op('GET', p);
      expect(res.status, p).toBe(400);
      expect(await codeOf(res)).toBe('invalid_input');
    }
    expect((await op('GET', `${base}?limit=20`)).status).toBe(200);
  });

  it('/api/v1/deliveries scopes a municipality to its own tenant before the LIMIT', async () => {
    const t0 = Date.now() - 3_600_000;
    for (const [tenant, n] of [
      [OWN, 0],
      [OWN, 1],
      [OTHER, 2],
      [OTHER, 3],
      [OTHER, 4],
    ] as const)
      await suite.delivery.store.put(delivery(tenant, `範囲 ${tenant} ${n}`, t0 + n * 60_000));
    const mine = (await (await sessions['tsu-ops']!.call('GET', '/api/v1/deliveries?limit=2')).json()) as {
      deliveries: Array<{ tenantId: string; title: string }>;
    };
    expect(mine.deliveries.map((d) => d.title)).toEqual([`範囲 ${OWN} 1`, `範囲 ${OWN} 0`]);
    const all = (await (await sessions.ken!.call('GET', '/api/v1/deliveries?limit=2')).json()) as {
      deliveries: Array<{ title: string }>;
    };
    expect(all.deliveries.map((d) => d.title)).toEqual([`範囲 ${OTHER} 4`, `範囲 ${OTHER} 3`]);
  });
});

describe('API tokens', () => {
  const list = async (username: string) =>
    ((await (await op('GET', `/api/v1/users/${username}/tokens`)).json()) as { tokens: Array<{ id: string }> }).tokens;

  it('expire after 90 days unless made with another lifetime; listed without the token', async () => {
    const t = await make('tsu-ops', { label: '集計スクリプト' });
    expect(Date.parse(t.expiresAt) - Date.parse(t.createdAt)).toBe(90 * 86_400_000);
    const week = await make('tsu-ops', { days: 7 });
    expect(Date.parse(week.expiresAt) - Date.parse(week.createdAt)).toBe(7 * 86_400_000);
    for (const days of [0, -1, 731, 'abc']) {
      const res = await op('POST', '/api/v1/users/tsu-ops/tokens', { days });
      expect(res.status, String(days)).toBe(400);
    }
    const listed = await list('tsu-ops');
    expect(listed.map((x) => x.id).sort()).toEqual([t.id, week.id].sort());
    expect(JSON.stringify(listed)).not.toContain(t.token);
    expect((await bearer(t.token, '/api/v1/me')).status).toBe(200);
  });

  it('an expired token is refused', async () => {
    const token = `tyr_${randomBytes(24).toString('base64url')}`;
    const now = Date.now();
    await suite.ch.insert({
      table: 'staff_api_tokens',
      values: [
        {
          token_hash: createHash('sha256').update(token).digest('hex'),
          username: 'tsu-ops',
          label: '期限切れ',
          created_at: chDateTime(now - 91 * 86_400_000),
          expires_at: chDateTime(now - 86_400_000),
          version: nextVersion(),
          is_deleted: 0,
        },
      ],
      format: 'JSONEachRow',
    });
    expect((await bearer(token, '/api/v1/me')).status).toBe(401);
    const listed = (await (await op('GET', '/api/v1/users/tsu-ops/tokens')).json()) as {
      tokens: Array<{ label: string; expired: boolean }>;
    };
    expect(listed.tokens.find((t) => t.label === '期限切れ')?.expired).toBe(true);
  });

  it('revoked: refused at once, gone from the list, audited', async () => {
    const t = await make('tsu-ops', { label: '失効させる' });
    expect((await bearer(t.token, '/api/v1/me')).status).toBe(200);
    const res = await op('DELETE', `/api/v1/users/tsu-ops/tokens/${t.id}`);
    expect(res.status, await res.clone().text()).toBe(200);
    expect((await bearer(t.token, '/api/v1/me')).status).toBe(401);
    expect((await list('tsu-ops')).map((x) => x.id)).not.toContain(t.id);
    expect((await op('DELETE', `/api/v1/users/tsu-ops/tokens/${t.id}`)).status).toBe(404);
    const audit = (await (await op('GET', '/api/v1/audit?action=api_token_revoked')).json()) as {
      records: Array<{ target: string; detail: { id: string } }>;
    };
    expect(audit.records.find((r) => r.detail.id === t.id)).toMatchObject({ target: 'tsu-ops' });
  });

  it('a password change revokes every token of the account; so does disabling it', async () => {
    const a = await make('tsu-ops');
    const b = await make('tsu-ops');
    const pw = await op('PUT', '/api/v1/users/tsu-ops/password', { password: 'municipal-pass-new' });
    expect(pw.status, await pw.clone().text()).toBe(200);
    for (const t of [a, b]) expect((await bearer(t.token, '/api/v1/me')).status).toBe(401);
    expect(await list('tsu-ops')).toEqual([]);

    const c = await make('tsu-read');
    expect((await bearer(c.token, '/api/v1/me')).status).toBe(200);
    expect((await op('PUT', '/api/v1/users/tsu-read/disabled', { disabled: true })).status).toBe(200);
    expect((await op('PUT', '/api/v1/users/tsu-read/disabled', { disabled: false })).status).toBe(200);
    expect((await bearer(c.token, '/api/v1/me')).status).toBe(401);
    expect(await list('tsu-read')).toEqual([]);
  });

  it("one's own password changes only with the current one", async () => {
    const me = await signIn('tsu-pw', 'municipal-pass-3');
    const change = (body: Record<string, unknown>) => me.call('PUT', '/api/v1/users/tsu-pw/password', body);
    const missing = await change({ password: 'municipal-pass-4' });
    expect(missing.status).toBe(400);
    expect(await codeOf(missing)).toBe('current_password_required');
    const wrong = await change({ password: 'municipal-pass-4', currentPassword: 'not-the-password' });
    expect(wrong.status).toBe(403);
    expect(await codeOf(wrong)).toBe('current_password_incorrect');
    const ok = await change({ password: 'municipal-pass-4', currentPassword: 'municipal-pass-3' });
    expect(ok.status, await ok.clone().text()).toBe(200);
    // the session ended with the change; the new password signs in
    expect((await me.call('GET', '/api/v1/me')).status).toBe(401);
    await signIn('tsu-pw', 'municipal-pass-4');
  });

  it('the admin page lists tokens, makes one (shown once) and revokes it, with the CSRF token', async () => {
    const boss = sessions.boss!;
    const made = await boss.call(
      'POST',
      '/admin/tokens',
      { _csrf: boss.csrfToken, username: 'ken', label: '県の集計', days: '30' },
      { form: true, csrf: false },
    );
    expect(made.status, await made.clone().text()).toBe(200);
    const page = await made.text();
    const token = /<code id="new-token">(tyr_[A-Za-z0-9_-]+)<\/code>/.exec(page)?.[1];
    expect(token).toBeTruthy();
    expect((await bearer(token!, '/api/v1/me')).status).toBe(200);
    const [info] = await list('ken');
    expect(Date.parse((info as unknown as { expiresAt: string }).expiresAt) - Date.now()).toBeGreaterThan(
      29 * 86_400_000,
    );
    const usersPage = await (await boss.call('GET', '/admin/users')).text();
    expect(usersPage).toContain('id="tokens"');
    expect(usersPage).toContain(info!.id);
    expect(usersPage).not.toContain(token!);
    const noCsrf = await boss.call(
      'POST',
      '/admin/tokens/revoke',
      { username: 'ken', id: info!.id },
      { form: true, csrf: false },
    );
    expect(noCsrf.status).toBe(403);
    const revoked = await boss.call(
      'POST',
      '/admin/tokens/revoke',
      { _csrf: boss.csrfToken, username: 'ken', id: info!.id },
      { form: true, csrf: false },
    );
    expect(revoked.status).toBe(303);
    expect((await bearer(token!, '/api/v1/me')).status).toBe(401);
    // a non-admin cannot use the page's routes
    const ken = sessions.ken!;
    const denied = await ken.call(
      'POST',
      '/admin/tokens',
      { _csrf: ken.csrfToken, username: 'ken' },
      { form: true, csrf: false },
    );
    expect(denied.status).toBe(403);
  });
});

describe('the session cookie over https', () => {
  it('is __Host-tayori_session: Secure, HttpOnly, SameSite=Lax, Path=/, no Domain', () => {
    expect(sessions.ken!.setCookie).toMatch(
      /^__Host-tayori_session=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+; Secure$/,
    );
  });
  it('the same token under the plain name (planted by a sibling host) is not a session there', async () => {
    const token = sessions.ken!.cookie.split('=').slice(1).join('=');
    const res = await fetch(`${suite.url}/api/v1/me`, { headers: { cookie: `tayori_session=${token}` } });
    expect(res.status).toBe(401);
    expect((await sessions.ken!.call('GET', '/api/v1/me')).status).toBe(200);
  });
});

describe('TAYORI_TRUST_PROXY', () => {
  it('is off by default; takes a hop count or addresses and CIDRs; refuses anything else', () => {
    const env = (v?: string) => testEnv(h.dir, v === undefined ? {} : { TAYORI_TRUST_PROXY: v });
    expect(loadConfig(env()).trustProxy).toBe(false);
    expect(loadConfig(env('off')).trustProxy).toBe(false);
    expect(loadConfig(env('2')).trustProxy).toBe(2);
    expect(loadConfig(env('10.0.0.0/8, 127.0.0.1,::1,loopback')).trustProxy).toEqual([
      '10.0.0.0/8',
      '127.0.0.1',
      '::1',
      'loopback',
    ]);
    for (const bad of ['yes', '10.0.0.0/33', '1.2.3', 'example.com']) {
      expect(() => loadConfig(env(bad)), bad).toThrow(ConfigError);
      expect(() => loadConfig(env(bad))).toThrow(/TAYORI_TRUST_PROXY/);
    }
  });

  it('X-Forwarded-For counts only from a trusted proxy', async () => {
    const ipOf = async (trustProxy: ReturnType<typeof trustProxyOption>) => {
      const app = createHttpApp(createLogger('silent'), { trustProxy });
      app.get('/ip', async (req) => ({ ip: req.ip }));
      await app.listen({ port: 0, host: '127.0.0.1' });
      try {
        const port = (app.server.address() as AddressInfo).port;
        const res = await fetch(`http://127.0.0.1:${port}/ip`, { headers: { 'x-forwarded-for': '203.0.113.7' } });
        return ((await res.json()) as { ip: string }).ip;
      } finally {
        await app.close();
      }
    };
    expect(await ipOf(trustProxyOption(false))).toBe('127.0.0.1');
    expect(await ipOf(trustProxyOption(['10.0.0.0/8']))).toBe('127.0.0.1');
    expect(await ipOf(trustProxyOption(['127.0.0.1']))).toBe('203.0.113.7');
    expect(await ipOf(trustProxyOption(1))).toBe('203.0.113.7');
  });
});

describe('sign-in throttle and argon2', () => {
  it('a lock grows with each failure past the limit and always expires', async () => {
    const t = new LoginThrottle(suite.redis, { perUser: 2, baseLockMs: 200, maxLockMs: 800, prefix: 'test-throttle:' });
    expect([0, 1, 2, 3, 10].map((n) => t.lockMs(n))).toEqual([200, 400, 800, 800, 800]);
    await t.failed('someone', '198.51.100.1');
    await t.check('someone', '198.51.100.1');
    await t.failed('someone', '198.51.100.1');
    await expect(t.check('someone', '198.51.100.1')).rejects.toMatchObject({ code: 'too_many_attempts', status: 429 });
    await waitFor(() => t.check('someone', '198.51.100.1').then(() => true), 10_000, 'the lock to expire');
  });

  it('argon2 runs at most `max` at once; past the queue, 503 busy', async () => {
    const gate = new HashGate({ max: 1, queue: 1 });
    let release!: () => void;
    const first = gate.run(() => new Promise<void>((r) => (release = r)));
    const second = gate.run(async () => 'second');
    await expect(gate.run(async () => 'third')).rejects.toMatchObject({ code: 'busy', status: 503 });
    expect([gate.running, gate.waiting]).toEqual([1, 1]);
    release();
    await first;
    expect(await second).toBe('second');
    expect([gate.running, gate.waiting]).toEqual([0, 0]);
  });

  // these two lock 127.0.0.1 out for a while: last
  it('a forged X-Forwarded-For does not escape the per-address throttle', async () => {
    const attempt = (i: number, username: string, password: string) =>
      fetch(`${suite.url}/api/v1/sessions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': `203.0.113.${i % 250}` },
        body: JSON.stringify({ username, password }),
      });
    for (let i = 0; i < 30; i++) expect((await attempt(i, `nobody-${i}`, 'wrong-password-x')).status).toBe(401);
    const locked = await attempt(99, 'ken', 'prefecture-pass-1');
    expect(locked.status).toBe(429);
    expect(await codeOf(locked)).toBe('too_many_attempts');
  });

  it('failed API-token lookups from one address are rate-limited; the operator token is not', async () => {
    // a valid token not yet looked up: once the address is limited, it is not looked up either
    const fresh = (await make('ken')).token;
    // earlier tests' revoked and expired tokens count too: at most 20 plain 401s, then the limit
    const answers: Array<{ status: number; retry?: number }> = [];
    for (let i = 0; i < 24; i++) {
      const res = await bearer(`tyr_${randomBytes(24).toString('base64url')}`, '/api/v1/me');
      const body = (await res.json()) as { error: { code: string; details?: { retryAfterSeconds?: number } } };
      expect(body.error.code).toBe('unauthorized');
      answers.push({ status: res.status, retry: body.error.details?.retryAfterSeconds });
    }
    expect(new Set(answers.map((a) => a.status))).toEqual(new Set([401]));
    const first = answers.findIndex((a) => a.retry !== undefined);
    expect(first, JSON.stringify(answers)).toBeGreaterThan(0);
    expect(first).toBeLessThanOrEqual(20);
    expect(answers.slice(first).every((a) => (a.retry ?? 0) > 0)).toBe(true);
    const refused = (await (await bearer(fresh, '/api/v1/me')).json()) as { error: { details?: unknown } };
    expect(refused.error.details).toHaveProperty('retryAfterSeconds');
    expect((await op('GET', '/api/v1/me')).status).toBe(200);
  });
});
