/**
 * Redis or ClickHouse unavailable: every /api/ route (enumerated from fastify) answers 503 with a
 * code and a Japanese message when it needs the missing part — never 500, never a hang — or
 * answers as usual when it does not; the process keeps serving and recovers when the part is back.
 *
 * Redis: the suite's own redis-server is killed, then started again on its port and directory;
 * then stopped (SIGSTOP: it keeps its connections and answers nothing), then continued.
 * ClickHouse: the suite's client is pointed, at its boundary, at a port where nothing listens (a
 * real @clickhouse/client, so the errors are the ones a dead server gives), then restored.
 */
import { createClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardUnavailable } from '../../core/clickhouse.ts';
import { freePort, type LocalRedis } from '../../core/redis-server.ts';
import { isAlive, redisPidOf, startTestRedis, waitFor } from '../helpers/index.ts';
import {
  codeOf,
  fillPath,
  OWN,
  rawRequest,
  STATE_CHANGES,
  startSecuritySuite,
  type RawAnswer,
  type RouteEntry,
  type SecuritySuite,
} from './suite-harness.ts';

let s: SecuritySuite;
let restarted: LocalRedis | undefined;

beforeAll(async () => {
  s = await startSecuritySuite();
}, 120_000);
afterAll(async () => {
  await s?.close();
  await restarted?.stop();
});

const JAPANESE = /[\u3040-\u30ff\u4e00-\u9fff]/;
/** Generous: a hang is what it is about, not speed. */
const HANG_MS = 20_000;
const PARALLEL = 128;

type Caller = { cookie?: string; csrf?: string; authorization?: string };

function call(r: RouteEntry, who: Caller): Promise<RawAnswer> {
  const headers: Array<[string, string]> = [];
  if (who.cookie) headers.push(['Cookie', who.cookie]);
  if (who.csrf) headers.push(['X-CSRF-Token', who.csrf]);
  if (who.authorization) headers.push(['Authorization', who.authorization]);
  const changes = STATE_CHANGES.has(r.method);
  if (changes) headers.push(['Content-Type', 'application/json']);
  return rawRequest(
    s.port,
    { method: r.method, path: fillPath(r.url, OWN, s.fixtures), headers, body: changes ? '{}' : undefined },
    HANG_MS,
  );
}

/**
 * Every /api/ route, called by `who`, a few at a time. A failure is a 5xx other than a 503 with
 * one of `codes` and a Japanese message, a hang, or (when `must503`) anything but that 503.
 */
async function sweep(who: Caller, codes: string[], must503: (r: RouteEntry) => boolean): Promise<string[]> {
  // signing in is checked on its own; signing out would end the session the sweep goes on with
  const skip = new Set(['POST /api/v1/sessions', 'DELETE /api/v1/sessions/current']);
  const routes = s.routes.filter((r) => r.url.startsWith('/api/') && !skip.has(`${r.method} ${r.url}`));
  const failures: string[] = [];
  // most calls wait on a refused or timed-out Redis command, not on the machine: many at a time
  for (let i = 0; i < routes.length; i += PARALLEL) {
    await Promise.all(
      routes.slice(i, i + PARALLEL).map(async (r) => {
        const a = await call(r, who);
        const code = codeOf(a.body);
        const proper503 = a.status === 503 && codes.includes(code ?? '') && JAPANESE.test(a.body);
        const bad = a.status === 'timeout' || a.status === 'closed' || (a.status >= 500 && !proper503);
        if (bad || (must503(r) && !proper503))
          failures.push(`${r.method} ${r.url} → ${a.status} ${code ?? a.body.slice(0, 100)}`);
      }),
    );
  }
  return failures.sort();
}

/**
 * /readyz names the failing part (its status is the readiness helper's: webhooks may still be taken
 * through the event log) without showing the raw connection error to a caller who is not signed in.
 */
function expectReadyzNames(a: RawAnswer, part: 'redis' | 'clickhouse') {
  expect(a.status).not.toBe('timeout');
  const body = JSON.parse(a.body) as Record<string, unknown>;
  expect(body[part], a.body).not.toBe('ok');
  expect(a.body).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|Error:|socket hang up/);
}

const operator = () => ({ authorization: `Bearer ${s.suite.token}` });

describe('Redis stopped', () => {
  let port: number;

  it('every /api/ route answers 503 redis_unavailable (a session: always), never 500 or a hang', async () => {
    const session = await s.tsu();
    port = Number(s.suite.redis.options.port);
    const pid = redisPidOf(s.dataDir);
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => !isAlive(pid), 10_000, 'redis-server gone');

    expectReadyzNames(await rawRequest(s.port, { method: 'GET', path: '/readyz' }, HANG_MS), 'redis');

    const codes = ['redis_unavailable', 'store_unavailable'];
    const asSession = await sweep({ cookie: session.cookie, csrf: session.csrfToken }, codes, () => true);
    const asOperator = await sweep(operator(), codes, () => false);
    expect({ asSession, asOperator }).toEqual({ asSession: [], asOperator: [] });
    // signing in needs the session store: 503 as well, not a wrong-password 401
    const signIn = await rawRequest(s.port, {
      method: 'POST',
      path: '/api/v1/sessions',
      headers: [['Content-Type', 'application/json']],
      body: JSON.stringify({ username: 'tsu-sec', password: 'security-suite-pass-1' }),
    });
    expect([signIn.status, codeOf(signIn.body)]).toEqual([503, 'redis_unavailable']);
    expect((await rawRequest(s.port, { method: 'GET', path: '/healthz' })).status).toBe(200);
  }, 300_000);

  it('serves again once redis-server is back', async () => {
    restarted = await startTestRedis(s.dataDir, port);
    await waitFor(
      async () => (await rawRequest(s.port, { method: 'GET', path: '/readyz' })).status === 200,
      30_000,
      '/readyz 200',
    );
    // each of the suite's connections reconnects on its own (ioredis backs off up to 2 s)
    for (const p of ['/api/v1/tenants', '/api/v1/reports/jobs', '/api/v1/insight/status']) {
      const get = () =>
        rawRequest(s.port, { method: 'GET', path: p, headers: [['Authorization', operator().authorization]] });
      await waitFor(async () => (await get()).status === 200, 30_000, `${p} 200`);
    }
    const session = await s.tsu();
    const me = await rawRequest(s.port, { method: 'GET', path: '/api/v1/me', headers: [['Cookie', session.cookie]] });
    expect(me.status).toBe(200);
  });
});

describe('Redis stalled (accepts connections, answers nothing)', () => {
  it('every /api/ route answers 503 (a session: always) once a command times out, never a hang; then recovers', async () => {
    const session = await s.tsu();
    const pid = restarted?.pid ?? redisPidOf(s.dataDir);
    process.kill(pid, 'SIGSTOP');
    let asSession: string[];
    let asOperator: string[];
    try {
      const codes = ['redis_unavailable', 'store_unavailable'];
      asSession = await sweep({ cookie: session.cookie, csrf: session.csrfToken }, codes, () => true);
      asOperator = await sweep(operator(), codes, () => false);
      expect((await rawRequest(s.port, { method: 'GET', path: '/healthz' })).status).toBe(200);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    expect({ asSession, asOperator }).toEqual({ asSession: [], asOperator: [] });
    await waitFor(
      async () => (await rawRequest(s.port, { method: 'GET', path: '/readyz' })).status === 200,
      30_000,
      '/readyz 200',
    );
    const me = await rawRequest(s.port, { method: 'GET', path: '/api/v1/me', headers: [['Cookie', session.cookie]] });
    expect(me.status).toBe(200);
  }, 300_000);
});

describe('ClickHouse unavailable', () => {
  it('every /api/ route answers 503 clickhouse_unavailable when it needs it, never 500 or a hang; then recovers', async () => {
    const session = await s.tsu();
    const ch = s.suite.ch;
    const saved = { query: ch.query, insert: ch.insert, command: ch.command, exec: ch.exec };
    const dead = guardUnavailable(createClient({ url: `http://127.0.0.1:${await freePort()}`, request_timeout: 5000 }));
    Object.assign(ch, { query: dead.query, insert: dead.insert, command: dead.command, exec: dead.exec });
    let asSession: string[];
    let asOperator: string[];
    try {
      expectReadyzNames(await rawRequest(s.port, { method: 'GET', path: '/readyz' }, HANG_MS), 'clickhouse');
      // audit_unavailable: a personal-data read whose audit record cannot be written is refused (cards' holders)
      const codes = ['clickhouse_unavailable', 'store_unavailable', 'audit_unavailable'];
      // routes that read records must say 503; others may answer (a signed-in account is cached a while)
      const reads = (keys: string[]) => (r: RouteEntry) => keys.includes(`${r.method} ${r.url}`);
      asSession = await sweep(
        { cookie: session.cookie, csrf: session.csrfToken },
        codes,
        reads(['GET /api/v1/minutes', 'GET /api/v1/issues']),
      );
      asOperator = await sweep(
        operator(),
        codes,
        reads(['GET /api/v1/tenants', 'GET /api/v1/minutes', 'GET /api/v1/issues', 'GET /api/v1/audit']),
      );
      expect((await rawRequest(s.port, { method: 'GET', path: '/healthz' })).status).toBe(200);
    } finally {
      Object.assign(ch, saved);
      await dead.close();
    }
    expect({ asSession, asOperator }).toEqual({ asSession: [], asOperator: [] });
    await waitFor(
      async () => (await rawRequest(s.port, { method: 'GET', path: '/readyz' })).status === 200,
      30_000,
      '/readyz 200',
    );
    const tenants = await rawRequest(s.port, {
      method: 'GET',
      path: '/api/v1/tenants',
      headers: [['Authorization', operator().authorization]],
    });
    expect(tenants.status).toBe(200);
  }, 300_000);
});
