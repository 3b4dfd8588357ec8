/**
 * Every route fastify has, checked against the access rules of issue 13 — enumerated from the app
 * (routeTable, fed by an onRoute hook), never listed by hand, so a new route is checked the day it
 * is added, and a new public route fails here until someone puts it on the allow-list:
 *
 * - /api/: no credentials → 401 (also through a percent-encoded path such as /%61pi/…);
 * - pages: no session → a redirect to the sign-in page (or 401), never a page with data;
 * - a municipality account (OWN) aimed at another tenant (OTHER) → 403 (records of OTHER: 403 or
 *   404, their existence not disclosed), and nothing of OTHER in any answer it gets;
 * - a state change by a signed-in session without its CSRF token → 403 csrf_failed;
 * - and no answer is a 5xx.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  aimBody,
  aimQuery,
  codeOf,
  fillPath,
  OTHER,
  OTHER_NAME,
  OWN,
  rawRequest,
  STATE_CHANGES,
  startSecuritySuite,
  type RawAnswer,
  type RouteEntry,
  type SecuritySuite,
} from './suite-harness.ts';

let s: SecuritySuite;

beforeAll(async () => {
  s = await startSecuritySuite();
}, 120_000);
afterAll(async () => {
  await s?.close();
});

/**
 * Routes anyone may call. The webhook receiver (/webhook/:tenant) answers before the app (a front
 * handler, checked by its signature) and so is not in the route table; fuzz.test.ts covers it.
 */
const PUBLIC = new Set([
  'GET /healthz',
  'GET /readyz',
  'GET /login',
  'POST /login',
  'POST /api/v1/sessions',
  'GET /r/:token',
  // the full text of a mail-started notice, linked from the LINE message: by an unguessable id (24 random bytes)
  'GET /notices/:noticeId',
  'GET /assets/:name',
  // only redirects: to /login, or to the caller's start page
  'GET /',
]);

/**
 * The residents' pages inside LINE (LIFF): public pages (identity is established in the browser),
 * APIs for residents with a verified ID token (checked below, not by staff credentials), and the
 * sandbox tenants' mock helpers.
 */
const RESIDENT = /^\/liff(-api)?\/:tenantId(\/|$)/;
const isResident = (r: RouteEntry) => RESIDENT.test(r.url) || r.url === '/liff/:tenantId';

/** Routes about the caller alone (no tenant to aim at): signing out, who am I. */
const SELF = new Set(['POST /logout', 'DELETE /api/v1/sessions/current', 'GET /api/v1/me']);

const key = (r: RouteEntry) => `${r.method} ${r.url}`;
const isApi = (r: RouteEntry) => r.url.startsWith('/api/');
const guarded = () => s.routes.filter((r) => !PUBLIC.has(key(r)) && !isResident(r));

/** The same path with its first letter percent-encoded: /%61pi/v1/…, /%6Dunicipalities/…. */
const encoded = (path: string) => `/%${path.charCodeAt(1).toString(16).toUpperCase()}${path.slice(2)}`;

function send(
  r: RouteEntry,
  path: string,
  opts: { cookie?: string; csrf?: string; authorization?: string; body?: Record<string, unknown> } = {},
): Promise<RawAnswer> {
  const headers: Array<[string, string]> = [];
  if (opts.cookie) headers.push(['Cookie', opts.cookie]);
  if (opts.csrf) headers.push(['X-CSRF-Token', opts.csrf]);
  if (opts.authorization) headers.push(['Authorization', opts.authorization]);
  const changes = STATE_CHANGES.has(r.method);
  if (changes) headers.push(['Content-Type', 'application/json']);
  return rawRequest(s.port, {
    method: r.method,
    path,
    headers,
    body: changes ? JSON.stringify(opts.body ?? {}) : undefined,
  });
}

const line = (r: RouteEntry, path: string, a: RawAnswer) =>
  `${r.method} ${path} → ${a.status} ${codeOf(a.body) ?? a.headers.location ?? a.body.slice(0, 80)}`;

describe('the route table', () => {
  it('is enumerated from fastify, with every allow-listed public route still there', () => {
    const keys = new Set(s.routes.map(key));
    expect(s.routes.length).toBeGreaterThan(50);
    // the table is fastify's own: what it routes is in it, and only that
    for (const r of s.routes) expect(s.suite.app.hasRoute({ method: r.method as 'GET', url: r.url })).toBe(true);
    for (const k of [...PUBLIC, ...SELF]) expect(keys, `${k} is allow-listed but not a route any more`).toContain(k);
  });
});

describe('without credentials', () => {
  it('every /api/ route answers 401, also through a percent-encoded path', async () => {
    const failures: string[] = [];
    for (const r of guarded().filter(isApi)) {
      const path = fillPath(r.url, OWN, s.fixtures);
      for (const p of [path, encoded(path)]) {
        for (const creds of [
          {},
          { cookie: 'tayori_session=forged' },
          { authorization: 'Bearer tyr_forgedforgedforged000' },
        ]) {
          const a = await send(r, p, creds);
          const refused = a.status === 401 && codeOf(a.body) === 'unauthorized';
          // failed token look-ups are throttled per address: 429 is a refusal too
          const throttled =
            'authorization' in creds && a.status === 429 && codeOf(a.body) === 'too_many_token_failures';
          if (!refused && !throttled) failures.push(line(r, p, a));
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('every page redirects to the sign-in page (or answers 401), never shows data', async () => {
    const failures: string[] = [];
    for (const r of guarded().filter((x) => !isApi(x))) {
      const path = fillPath(r.url, OWN, s.fixtures);
      for (const p of [path, encoded(path)]) {
        const a = await send(r, p);
        const toLogin = a.status === 303 && /^\/login(\?|$)/.test(a.headers.location ?? '');
        if (!toLogin && a.status !== 401) failures.push(line(r, p, a));
      }
    }
    expect(failures).toEqual([]);
  });
});

describe(`a municipality account (${OWN}) aimed at another tenant (${OTHER})`, () => {
  it('gets 403 on routes of that tenant, 403/404 on its records, and never sees its data', async () => {
    const failures: string[] = [];
    const session = await s.tsu();
    for (const r of guarded().filter((x) => !SELF.has(key(x)))) {
      const filled = fillPath(r.url, OTHER, s.fixtures);
      const names = [OTHER, s.fixtures.otherDelivery, s.fixtures.otherMinutes, s.fixtures.otherIssue];
      const aimed = r.url.includes(':') && names.some((n) => filled.includes(n));
      // aimed by its path: an empty (valid) change, so the answer is about the tenant, not the body
      const path = aimed ? filled : `${filled}?${aimQuery(OTHER)}`;
      const body = aimed ? {} : aimBody(OTHER);
      const a = await send(r, path, { cookie: session.cookie, csrf: session.csrfToken, body });
      const status = typeof a.status === 'number' ? a.status : 0;
      let ok: boolean;
      if (filled.includes(`/${OTHER}`)) ok = status === 403;
      else if (aimed) ok = status === 403 || (status === 404 && /not_found$/.test(codeOf(a.body) ?? ''));
      else if (STATE_CHANGES.has(r.method)) ok = status >= 400 && status < 500;
      else ok = (status === 403 || status === 404 || (status >= 200 && status < 400)) && status !== 0;
      // whatever the status, nothing of the other tenant in the answer
      const leaks = status < 400 && [OTHER, OTHER_NAME].some((m) => a.body.includes(m));
      if (!ok || leaks) failures.push(`${line(r, path, a)}${leaks ? ' (shows the other tenant)' : ''}`);
    }
    expect(failures).toEqual([]);
  });
});

describe("the prefecture's account (reads every tenant)", () => {
  it("never changes a tenant's deliveries, settings or channel: 403 on every state change under /api/v1/tenants", async () => {
    const failures: string[] = [];
    const session = await s.ken();
    const changes = guarded().filter((r) => STATE_CHANGES.has(r.method) && r.url.startsWith('/api/v1/tenants'));
    expect(changes.length).toBeGreaterThan(10);
    for (const r of changes) {
      const path = fillPath(r.url, OWN, s.fixtures);
      const a = await send(r, path, { cookie: session.cookie, csrf: session.csrfToken });
      if (a.status !== 403) failures.push(line(r, path, a));
    }
    expect(failures).toEqual([]);
  });
});

describe('resident routes (LIFF)', () => {
  const residentApis = () => s.routes.filter((r) => r.url.startsWith('/liff-api/'));

  it('are only under /liff/:tenantId and /liff-api/:tenantId', () => {
    const liff = s.routes.filter((r) => /^\/liff(-api)?(\/|$)/.test(r.url));
    expect(liff.filter((r) => !isResident(r)).map(key)).toEqual([]);
    expect(residentApis().map(key)).toContain('GET /liff-api/:tenantId/me');
  });

  it('every /liff-api/ route refuses a missing, forged or staff credential with 401, for every tenant', async () => {
    const failures: string[] = [];
    const session = await s.tsu();
    const forgedJwt = `${Buffer.from('{"alg":"ES256","kid":"x"}').toString('base64url')}.${Buffer.from(
      `{"iss":"https://access.line.me","sub":"U${'0'.repeat(32)}","aud":"1242010000","exp":4102444800,"iat":1}`,
    ).toString('base64url')}.${'A'.repeat(86)}`;
    for (const r of residentApis()) {
      for (const tenant of [OWN, OTHER]) {
        const path = r.url.replace(':tenantId', tenant).replace(/:(\w+)/g, 'x');
        for (const p of [path, encoded(path)]) {
          for (const creds of [
            {},
            { authorization: `Bearer ${forgedJwt}` },
            { authorization: 'Bearer tyr_forgedforgedforged000' },
            { authorization: `Bearer ${s.suite.token}` },
            { cookie: session.cookie, csrf: session.csrfToken },
          ]) {
            const a = await send(r, p, creds);
            if (a.status !== 401 || !/^id_token_(missing|invalid)$/.test(codeOf(a.body) ?? '')) {
              failures.push(line(r, p, a));
            }
          }
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('the mock helpers never hand out a token for a made-up resident or a malformed user id', async () => {
    const a = await rawRequest(s.port, { method: 'GET', path: `/liff/${OWN}/__mock/id-token?as=U${'0'.repeat(32)}` });
    expect(a.status).toBe(404);
    const b = await rawRequest(s.port, { method: 'GET', path: `/liff/${OWN}/__mock/id-token?as=admin` });
    expect(b.status).toBe(400);
  });
});

describe('a state change by a signed-in session without its CSRF token', () => {
  it('is refused with 403 csrf_failed on every route, also through a percent-encoded path', async () => {
    const failures: string[] = [];
    for (const r of guarded().filter((x) => STATE_CHANGES.has(x.method))) {
      const path = fillPath(r.url, OWN, s.fixtures);
      for (const p of [path, encoded(path)]) {
        // a fresh look-up each time: a route that wrongly signs out must not spoil the next checks
        const session = await s.tsu();
        const a = await send(r, p, { cookie: session.cookie, body: { _csrf: 'forged' } });
        if (a.status !== 403 || codeOf(a.body) !== 'csrf_failed') failures.push(line(r, p, a));
      }
    }
    expect(failures).toEqual([]);
  });
});
