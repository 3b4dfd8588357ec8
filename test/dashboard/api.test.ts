import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Suite } from '../../cli/suite.ts';
import { createLogger } from '../../core/logger.ts';
import { MONTH, seedFigures } from '../helpers/dashboard-fixtures.ts';
import { harness, type Harness } from '../helpers/index.ts';

// The suite in this process with the demo's tenants (sandbox off: the figures are seeded by hand).
let h: Harness;
let suite: Suite;
const say: string[] = [];

beforeAll(async () => {
  h = await harness({ clickhouse: false, env: { TAYORI_SANDBOX: 'off' } });
  suite = await h.startSuite(
    { demo: true, say: (l) => say.push(l) },
    createLogger(process.env.DBG ? 'error' : 'silent'),
  );
  await seedFigures(suite.ch);
  for (const u of [
    { username: 'ken', role: 'prefecture', password: 'prefecture-pass-1' },
    { username: 'tsu-staff', role: 'municipality', tenantId: '24201', password: 'municipal-pass-1' },
    { username: 'boss', role: 'admin', password: 'admin-pass-123' },
  ]) {
    const res = await op('/api/v1/users', { method: 'POST', body: JSON.stringify(u) });
    expect(res.status, await res.clone().text()).toBe(201);
  }
});
afterAll(() => h?.close());

const op = (p: string, init: RequestInit = {}) =>
  fetch(suite.url + p, {
    ...init,
    headers: { authorization: `Bearer ${suite.token}`, 'content-type': 'application/json', ...init.headers },
  });

/** Signs in through the JSON API; returns a fetch bound to the session cookie and its CSRF token. */
async function signIn(username: string, password: string) {
  const res = await fetch(`${suite.url}/api/v1/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  const cookieHeader = res.headers.get('set-cookie')!;
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  const cookie = cookieHeader.split(';')[0]!;
  const call = (p: string, init: RequestInit = {}) =>
    fetch(suite.url + p, {
      redirect: 'manual',
      ...init,
      headers: { cookie, ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers },
    });
  return { call, csrfToken, cookieHeader };
}

describe('staff sign-in and sessions', () => {
  it('sets an HttpOnly, SameSite=Lax session cookie (no Secure over plain http) and answers /me', async () => {
    const s = await signIn('ken', 'prefecture-pass-1');
    expect(s.cookieHeader).toMatch(/^tayori_session=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+$/);
    const me = await (await s.call('/api/v1/me')).json();
    expect(me).toMatchObject({
      kind: 'staff',
      username: 'ken',
      role: 'prefecture',
      roleLabel: '県',
      permissions: ['manage_reports'],
    });
  });

  // issue 13: X-Forwarded-* count only from a trusted proxy (TAYORI_TRUST_PROXY, off here); behind
  // one, the cookie is __Host-tayori_session with Secure (test/security/access.test.ts)
  it('ignores X-Forwarded-Proto from a peer that is not a trusted proxy', async () => {
    const res = await fetch(`${suite.url}/api/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https' },
      body: JSON.stringify({ username: 'ken', password: 'prefecture-pass-1' }),
    });
    expect(res.headers.get('set-cookie')).toMatch(
      /^tayori_session=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+$/,
    );
  });

  it('refuses a wrong password with 401 and a Japanese message, records it, and throttles after 5 failures', async () => {
    const bad = () =>
      fetch(`${suite.url}/api/v1/sessions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'boss', password: 'wrong-password' }),
      });
    for (let i = 0; i < 5; i++) {
      const r = await bad();
      expect(r.status).toBe(401);
      expect(await r.json()).toMatchObject({
        error: { code: 'sign_in_failed', message: 'ユーザー名またはパスワードが正しくありません' },
      });
    }
    const throttled = await bad();
    expect(throttled.status).toBe(429);
    expect(await throttled.json()).toMatchObject({ error: { code: 'too_many_attempts' } });
    // even the right password waits
    const right = await fetch(`${suite.url}/api/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'boss', password: 'admin-pass-123' }),
    });
    expect(right.status).toBe(429);
    // the lock expires by itself (it grows with each further failure); the test clears it instead
    await suite.redis.del('tayori:login-fail:user:boss', 'tayori:login-lock:user:boss');

    const audit = (await (await op('/api/v1/audit?action=sign_in_failed')).json()) as {
      records: Array<{ username: string; outcome: string }>;
    };
    expect(
      audit.records
        .filter((r) => r.username === 'boss')
        .map((r) => r.outcome)
        .sort(),
    ).toEqual(['denied', 'denied', 'failed', 'failed', 'failed', 'failed', 'failed']);
  });

  it('records sign-ins in the audit log with who, when and from where', async () => {
    await signIn('tsu-staff', 'municipal-pass-1');
    const { records } = (await (await op('/api/v1/audit?action=sign_in')).json()) as {
      records: Array<Record<string, unknown>>;
    };
    expect(records.find((r) => r.username === 'tsu-staff')).toMatchObject({
      action: 'sign_in',
      outcome: 'ok',
      role: 'municipality',
      tenantId: '24201',
      actorKind: 'staff',
      ip: expect.any(String),
    });
  });

  it('needs the CSRF token for a state change made with a session', async () => {
    const s = await signIn('boss', 'admin-pass-123');
    const body = JSON.stringify({ permissions: ['manage_reports', 'export_residents'] });
    const without = await s.call('/api/v1/users/ken/permissions', { method: 'PUT', body });
    expect(without.status).toBe(403);
    expect(await without.json()).toMatchObject({ error: { code: 'csrf_failed' } });
    const withToken = await s.call('/api/v1/users/ken/permissions', {
      method: 'PUT',
      body,
      headers: { 'x-csrf-token': s.csrfToken },
    });
    expect(withToken.status).toBe(200);
    expect(await withToken.json()).toMatchObject({
      username: 'ken',
      permissions: ['export_residents', 'manage_reports'],
    });
  });

  it('caps permissions by role: the prefecture cannot be given delivery', async () => {
    const res = await op('/api/v1/users/ken/permissions', {
      method: 'PUT',
      body: JSON.stringify({ permissions: ['deliver', 'manage_channels'] }),
    });
    expect(await res.json()).toMatchObject({ permissions: [] });
  });

  it('ends the session on sign-out', async () => {
    const s = await signIn('ken', 'prefecture-pass-1');
    expect((await s.call('/api/v1/me')).status).toBe(200);
    const out = await s.call('/api/v1/sessions/current', {
      method: 'DELETE',
      headers: { 'x-csrf-token': s.csrfToken },
    });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/tayori_session=; .*Max-Age=0/);
    const after = await s.call('/api/v1/me');
    expect(after.status).toBe(401);
  });

  it('signs in through the form (303 and a cookie), and shows a wrong password on the form in Japanese', async () => {
    const form = (username: string, password: string, headers: Record<string, string> = {}) =>
      fetch(`${suite.url}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams({ username, password, next: '/overview' }).toString(),
      });
    const ok = await form('ken', 'prefecture-pass-1');
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/overview');
    expect(ok.headers.get('set-cookie')).toMatch(/^tayori_session=/);
    const bad = await form('ken', 'nope-nope-nope');
    expect(bad.status).toBe(401);
    expect(await bad.text()).toContain('ユーザー名またはパスワードが正しくありません');
    const crossSite = await form('ken', 'prefecture-pass-1', { origin: 'https://evil.example' });
    expect(crossSite.status).toBe(403);
    await suite.redis.del('tayori:login-fail:user:ken');
  });

  it('lets an admin edit permissions on the page, only with the CSRF token', async () => {
    const s = await signIn('boss', 'admin-pass-123');
    const page = await (await s.call('/admin/users')).text();
    expect(page).toContain('ユーザー管理');
    const post = (body: URLSearchParams) =>
      s.call('/admin/users/tsu-staff/permissions', {
        method: 'POST',
        body: body.toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
    const without = await post(new URLSearchParams([['permissions', 'deliver']]));
    expect(without.status).toBe(403);
    const withToken = await post(
      new URLSearchParams([
        ['_csrf', s.csrfToken],
        ['permissions', 'deliver'],
        ['permissions', 'export_residents'],
      ]),
    );
    expect(withToken.status).toBe(303);
    const { users } = (await (await op('/api/v1/users')).json()) as {
      users: Array<{ username: string; permissions: string[]; passwordHash?: string }>;
    };
    expect(users.find((u) => u.username === 'tsu-staff')!.permissions).toEqual(['deliver', 'export_residents']);
    expect(JSON.stringify(users)).not.toMatch(/argon2|password/);
    const ken = await signIn('ken', 'prefecture-pass-1');
    expect((await ken.call('/admin/users')).status).toBe(403);
  });

  it('keeps the operator token working for the CLI', async () => {
    expect((await op('/api/v1/tenants')).status).toBe(200);
    expect((await fetch(`${suite.url}/api/v1/tenants`)).status).toBe(401);
  });

  it('printed the demo accounts once seeded', () => {
    expect(say.join('\n')).toMatch(/ユーザー名 admin\s+パスワード \S+/);
    expect(say.join('\n')).toMatch(/ユーザー名 tsu\s+パスワード \S+/);
  });
});

describe('API tokens for scripts', () => {
  it('a personal token works like its account (scope and audit), and only its hash is stored', async () => {
    const made = await op('/api/v1/users/tsu-staff/tokens', {
      method: 'POST',
      body: JSON.stringify({ label: 'export script' }),
    });
    expect(made.status).toBe(201);
    const { token } = (await made.json()) as { token: string };
    expect(token).toMatch(/^tyr_/);
    const call = (p: string) => fetch(suite.url + p, { headers: { authorization: `Bearer ${token}` } });
    expect((await call(`/api/v1/dashboard/overview.csv?month=${MONTH}`)).status).toBe(200);
    expect((await call('/api/v1/dashboard/municipalities/24202')).status).toBe(403);
    expect(
      (await fetch(`${suite.url}/api/v1/me`, { headers: { authorization: 'Bearer tyr_not-a-real-token-000000000' } }))
        .status,
    ).toBe(401);
    const { records } = (await (await op('/api/v1/audit?action=export')).json()) as {
      records: Array<Record<string, unknown>>;
    };
    expect(records[0]).toMatchObject({ username: 'tsu-staff', tenantId: '24201', target: 'overview.csv' });
    const rs = await suite.ch.query({ query: 'SELECT token_hash FROM staff_api_tokens', format: 'JSONEachRow' });
    expect(JSON.stringify(await rs.json())).not.toContain(token);
  });
});

describe('tenant scoping', () => {
  it('gives a municipality account its own tenant and 403 for another, in the API and its queries', async () => {
    const s = await signIn('tsu-staff', 'municipal-pass-1');
    expect((await s.call('/api/v1/dashboard/municipalities/24201')).status).toBe(200);
    const other = await s.call('/api/v1/dashboard/municipalities/24202');
    expect(other.status).toBe(403);
    expect(await other.json()).toMatchObject({
      error: { code: 'forbidden_tenant', message: expect.stringContaining('24202') },
    });
    expect((await s.call('/api/v1/tenants/24202')).status).toBe(403);
    const { tenants } = (await (await s.call('/api/v1/tenants')).json()) as { tenants: Array<{ id: string }> };
    expect(tenants.map((t) => t.id)).toEqual(['24201']);
    const overview = (await (await s.call(`/api/v1/dashboard/overview?month=${MONTH}`)).json()) as {
      rows: Array<{ tenantId: string }>;
      accounts: unknown[];
    };
    expect(overview.rows.map((r) => r.tenantId)).toEqual(['24201']);
    expect(overview.accounts).toEqual([]);
    expect((await s.call('/api/v1/users')).status).toBe(403);
  });
});

describe('figures', () => {
  it('overview: one row per municipality, LINE counts, rates by the shared definitions, null never 0', async () => {
    const s = await signIn('ken', 'prefecture-pass-1');
    const res = await s.call(`/api/v1/dashboard/overview?month=${MONTH}`);
    expect(res.status).toBe(200);
    const o = (await res.json()) as {
      rows: Array<Record<string, unknown> & { missing: Record<string, string> }>;
      totals: Record<string, unknown>;
      monthLabel: string;
      accounts: Array<Record<string, unknown>>;
    };
    expect(o.monthLabel).toBe('令和7年6月');
    expect(o.rows).toHaveLength(29);
    const tsu = o.rows.find((r) => r.tenantId === '24201')!;
    expect(tsu).toMatchObject({
      name: '津市',
      friends: 1200,
      friendsAsOf: '2025-06-30',
      friendsChange: 200,
      targetedReaches: 1000,
      blocks: 66,
      blockRate: 0.055,
      follows: 50,
      unblocks: 2,
      unfollows: 8,
      deliveries: 3,
      delivered: 1515,
      uniqueImpressions: 900,
      openRate: 0.6,
      clicks: 110,
    });
    expect(tsu.friendsPerPopulation).toBeCloseTo(1200 / 274500, 6);
    const yokkaichi = o.rows.find((r) => r.tenantId === '24202')!;
    expect(yokkaichi).toMatchObject({ friends: 2000, friendsChange: null, deliveries: 0, openRate: null });
    expect(yokkaichi.missing).toMatchObject({ friendsChange: 'not_fetched', openRate: 'no_deliveries' });
    const kiho = o.rows.find((r) => r.tenantId === '24562')!;
    expect(kiho).toMatchObject({ friends: null, blocks: null, blockRate: null });
    expect(kiho.missing).toMatchObject({ friends: 'privacy', blockRate: 'privacy' });
    const ise = o.rows.find((r) => r.tenantId === '24203')!;
    expect(ise).toMatchObject({ friends: null, follows: 0 });
    expect(ise.missing.friends).toBe('not_fetched');
    expect(o.totals).toMatchObject({
      municipalities: 29,
      friends: 3200,
      blocks: 166,
      follows: 61,
      unfollows: 12,
      deliveries: 3,
      openRate: 0.6,
    });
    expect(o.totals.blockRate).toBeCloseTo(166 / 3200, 6);
    // the prefecture's own account, beside the municipalities and outside their totals
    expect(o.accounts).toHaveLength(1);
    expect(o.accounts[0]).toMatchObject({
      tenantId: '24000',
      name: '三重県',
      friends: 5000,
      blocks: 200,
      blockRate: 0.04,
    });
  });

  it('municipality: days from LINE and the webhooks, deliveries with open rates', async () => {
    const s = await signIn('tsu-staff', 'municipal-pass-1');
    const v = (await (await s.call('/api/v1/dashboard/municipalities/24201?from=2025-06-01&to=2025-06-30')).json()) as {
      days: Array<Record<string, unknown>>;
      deliveries: Array<Record<string, unknown> & { missing: Record<string, string> }>;
      summary: Record<string, unknown>;
    };
    expect(v.days).toHaveLength(30);
    expect(v.days[0]).toMatchObject({
      day: '2025-06-01',
      follows: 30,
      unblocks: 2,
      unfollows: 5,
      insight: false,
      followers: null,
    });
    expect(v.days[29]).toMatchObject({
      day: '2025-06-30',
      followers: 1200,
      targetedReaches: 1000,
      blocks: 66,
      insight: true,
    });
    expect(v.deliveries.map((d) => [d.key, d.openRate, d.clickRate])).toEqual([
      ['req-1', 0.6, 0.08],
      ['req-2', null, null],
      ['unit-1', 0.6, 0.06],
    ]);
    expect(v.deliveries[2]).toMatchObject({ title: '6月の健康だより', delivered: 500 });
    // a broadcast's record is found by LINE's request id; a delivery made in LINE's own manager shows its key
    expect(v.deliveries.map((d) => d.title)).toEqual(['6月の防災だより', 'req-2', '6月の健康だより']);
    expect(v.deliveries[1]!.missing.openRate).toBe('privacy');
    expect(v.summary).toMatchObject({
      friends: 1200,
      friendsAsOf: '2025-06-30',
      follows: 50,
      unfollows: 8,
      deliveries: 3,
      openRate: 0.6,
    });
  });

  it('residents by registered attribute: friends only, scoped to the tenant', async () => {
    const s = await signIn('tsu-staff', 'municipal-pass-1');
    const a = (await (await s.call('/api/v1/dashboard/municipalities/24201/attributes')).json()) as {
      available: boolean;
      items: unknown[];
    };
    expect(a.available).toBe(true);
    // names from the tenant's categories and items; interests at the middle level, once per resident; birth years by age group
    const age = Number(new Date(Date.now() + 9 * 3_600_000).toISOString().slice(0, 4)) - 1980;
    expect(a.items).toEqual([
      {
        item: 'birth_year',
        itemLabel: '年代 (生まれ年から)',
        value: `${Math.floor(age / 10) * 10}代`,
        label: `${Math.floor(age / 10) * 10}代`,
        residents: 1,
      },
      { item: 'gender', itemLabel: '性別', value: 'female', label: '女性', residents: 2 },
      { item: 'gender', itemLabel: '性別', value: 'male', label: '男性', residents: 1 },
      { item: 'interests', itemLabel: '関心のある分野', value: 'c1', label: '防災', residents: 1 },
      { item: 'interests', itemLabel: '関心のある分野', value: 'c1/c1_1', label: '防災 › 気象・警報', residents: 1 },
      { item: 'residence', itemLabel: 'お住まい', value: 'a1', label: '久居', residents: 1 }, // the blocked resident there is not counted
      { item: 'x:i1', itemLabel: '健康マイレージ', value: 'o1', label: '参加している', residents: 1 },
    ]);
    expect((await s.call('/api/v1/dashboard/municipalities/24202/attributes')).status).toBe(403);
  });

  it('rejects a bad month with a code and a Japanese message', async () => {
    const res = await op('/api/v1/dashboard/overview?month=2025-13');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: { code: 'invalid_input', message: expect.stringContaining('YYYY-MM') },
    });
  });
});

describe('downloads', () => {
  it('CSV: UTF-8 BOM, Japanese headers, 29 rows and the totals, "—" for unknown; the export is audited', async () => {
    const s = await signIn('ken', 'prefecture-pass-1');
    const res = await s.call(`/api/v1/dashboard/overview.csv?month=${MONTH}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv; charset=utf-8/);
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = new TextDecoder().decode(bytes.slice(3)).trimEnd().split('\r\n');
    expect(lines[0]!.split(',').slice(0, 5)).toEqual([
      '地方公共団体コード',
      '市町名',
      '人口',
      '友だち数',
      '友だち数の基準日',
    ]);
    expect(lines).toHaveLength(1 + 29 + 1 + 1);
    expect(lines.at(-1)).toMatch(/^24000,三重県 \(県のアカウント・合計に含みません\),\d+,5000,2025-06-30,/);
    expect(lines.find((l) => l.startsWith('24201,'))).toMatch(
      /^24201,津市,274500,1200,2025-06-30,200,0\.44,1000,66,5\.5,50,2,8,3,1515,900,60,110,/,
    );
    expect(lines.find((l) => l.startsWith('24562,'))).toMatch(/^24562,紀宝町,\d+,—,2025-06-30,—/);
    const { records } = (await (await op('/api/v1/audit?action=export')).json()) as {
      records: Array<Record<string, unknown>>;
    };
    expect(records[0]).toMatchObject({ username: 'ken', target: 'overview.csv', detail: { month: MONTH, rows: 29 } });
  });

  it('Excel: a real xlsx package', async () => {
    const res = await op(`/api/v1/dashboard/overview.xlsx?month=${MONTH}`);
    expect(res.status).toBe(200);
    const buf = Buffer.from(await res.arrayBuffer());
    expect(buf.subarray(0, 4).toString('hex')).toBe('504b0304');
    expect(res.headers.get('content-disposition')).toContain(encodeURIComponent('県全体_2025-06.xlsx'));
  });
});
