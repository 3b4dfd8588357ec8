/**
 * The mileage domain and its APIs on real parts (embedded ClickHouse, redis-server): programmes and
 * permissions through the staff HTTP API (real authenticator, staff tokens resolved from a table),
 * scans once per session (expired, not started, foreign code, outside the period), self-report caps
 * per Tokyo day, grants by member number, CSV/xlsx import preview errors and confirm-once,
 * corrections, the card issued once at the goal with its validity, many parallel scans by one
 * resident, Redis losing its guards, and an INSERT that fails. The residents' API handlers are
 * called through a test double of ResidentShell that only records what was registered (the LIFF
 * frame itself is tested in test/mileage/resident-api-e2e.test.ts once it exists).
 */
import type { AddressInfo } from 'node:net';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator, type StaffIdentity } from '../../core/auth.ts';
import { memberNumber, parseMemberNumber } from '../../core/check-digit.ts';
import { loadSecretBox } from '../../core/crypto.ts';
import { createHttpApp, type FastifyInstance } from '../../core/http.ts';
import { createLogger } from '../../core/logger.ts';
import type { ResidentContext, ResidentShell } from '../../core/resident-shell.ts';
import type { Tenant } from '../../core/tenants.ts';
import {
  type AwardResult,
  cardValidUntil,
  createMileage,
  type ImportConfirmation,
  type ImportPreview,
  type Mileage,
  type Programme,
  type ResidentSummary,
  type Session,
} from '../../mileage/index.ts';
import { type Harness, harness, waitFor } from '../helpers/index.ts';
import { BacklogFullError, type Ingest } from '../../ingest/index.ts';
import { mileageIngest, shipped } from './event-log.ts';

const logger = createLogger(process.env.TEST_LOG ?? 'silent');
const TSU = '24201';
const YOKKAICHI = '24202';
const OP = 'operator-token-mileage';
const user = (n: number) => `U${n.toString(16).padStart(32, '0')}`;

const staff: Record<string, StaffIdentity> = {};
const addStaff = (key: string, s: Omit<StaffIdentity, 'userId' | 'username' | 'displayName'>) => {
  const token = `tyr_${key.padEnd(24, 'x')}`;
  staff[token] = { userId: key, username: key, displayName: key, ...s };
  return token;
};
const T = {
  tsuManager: addStaff('tsumanager', { role: 'municipality', tenantId: TSU, permissions: ['manage_mileage'] }),
  tsuChannels: addStaff('tsuchannels', { role: 'municipality', tenantId: TSU, permissions: ['deliver'] }),
  tsuReader: addStaff('tsureader', { role: 'municipality', tenantId: TSU, permissions: [] }),
  yokkaichi: addStaff('yokkaichi', { role: 'municipality', tenantId: YOKKAICHI, permissions: ['manage_mileage'] }),
  pref: addStaff('prefmanager', { role: 'prefecture', tenantId: null, permissions: ['manage_mileage'] }),
  prefReader: addStaff('prefreader', { role: 'prefecture', tenantId: null, permissions: [] }),
  contractor: addStaff('contractor', { role: 'contractor', tenantId: null, permissions: ['manage_channels'] }),
};

let h: Harness;
let mileage: Mileage;
let ingest: Ingest;
const refuse = { on: false };
let app: FastifyInstance;
let base: string;
let clock = Date.parse('2026-06-15T01:00:00Z'); // 10:00 in Tokyo
const resident = new Map<string, (ctx: ResidentContext<unknown>) => Promise<unknown>>();
let tsu: Tenant;
let yok: Tenant;
let programme: Programme;
let acts: Record<'event' | 'walk' | 'checkup', string>;

async function call<T = unknown>(
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return {
    status: res.status,
    body: (text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as T,
  };
}

/** A resident API handler called as the LIFF frame would, for a verified resident. */
function asResident<R>(tenant: Tenant, userId: string, method: string, path: string, body?: unknown, query = {}) {
  const handle = resident.get(`${method} ${path}`);
  if (!handle) throw new Error(`no resident API ${method} ${path}`);
  return handle({ tenant, userId, body, req: { query } as never }) as Promise<R>;
}

const scan = (tenant: Tenant, userId: string, code: string) =>
  asResident<AwardResult>(tenant, userId, 'POST', 'mileage/scan', { code });

async function ledgerRows(userId: string): Promise<number> {
  await shipped(ingest);
  const rs = await h.ch.query({
    query: 'SELECT count() AS n FROM mileage_ledger FINAL WHERE user_id = {u:String}',
    query_params: { u: userId },
    format: 'JSONEachRow',
  });
  return Number(((await rs.json()) as Array<{ n: number }>)[0]!.n);
}
async function rollup(userId: string): Promise<number> {
  await shipped(ingest);
  const rs = await h.ch.query({
    query: 'SELECT sum(points) AS p FROM mileage_balances WHERE user_id = {u:String}',
    query_params: { u: userId },
    format: 'JSONEachRow',
  });
  return Number(((await rs.json()) as Array<{ p: number }>)[0]!.p);
}

async function newSession(tenantId: string, input: Record<string, unknown>): Promise<Session> {
  const r = await call<Session>(OP, 'POST', `/api/v1/mileage/tenants/${tenantId}/sessions`, input);
  expect(r.status).toBe(201);
  return r.body;
}
async function codeOf(tenantId: string, sessionId: string): Promise<string> {
  const r = await call<{ code: string; url: string }>(
    OP,
    'GET',
    `/api/v1/mileage/tenants/${tenantId}/sessions/${sessionId}/code`,
  );
  expect(r.status).toBe(200);
  return r.body.code;
}
const eventSession = (over: Record<string, unknown> = {}) => ({
  programmeId: programme.programmeId,
  activityId: acts.event,
  title: '健康ウォーキング大会',
  heldOn: '2026-06-15',
  place: '津市産業・スポーツセンター',
  validFrom: '2026-06-15T09:00:00+09:00',
  validUntil: '2026-06-15T17:00:00+09:00',
  ...over,
});

beforeAll(async () => {
  h = await harness({
    redis: true,
    tenants: [
      { id: TSU, name: '津市', kind: 'municipality', channelId: '2000000001' },
      { id: YOKKAICHI, name: '四日市市', kind: 'municipality', channelId: '2000000002' },
      { id: '24000', name: '三重県', kind: 'prefecture', channelId: '2000000000' },
    ],
  });
  const shell: ResidentShell = {
    page() {},
    api(method, path, handle) {
      resident.set(`${method} ${path}`, handle as (ctx: ResidentContext<unknown>) => Promise<unknown>);
    },
    assets() {},
    liffUrl: (t, path) => `https://liff.line.me/1234567890-${t.id}abc/${path}`,
  };
  // the shipper's INSERTs fail while refuse.on (ClickHouse refusing writes, at the client boundary)
  const refusing = new Proxy(h.ch, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target);
      if (prop === 'insert')
        return (...args: Parameters<typeof target.insert>) =>
          refuse.on ? Promise.reject(new Error('ClickHouse refuses writes (test)')) : target.insert(...args);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  ingest = await mileageIngest(h, { ch: refusing });
  mileage = createMileage({
    ch: h.ch,
    ingest,
    redis: h.redis.client,
    tenants: h.tenants,
    endpoints: () => ({ line: 'http://127.0.0.1:1' }),
    logger,
    box: loadSecretBox(h.config),
    residents: shell,
    now: () => clock,
  });
  await mileage.start();
  h.defer('mileage', () => mileage.stop());
  mileage.registerResidentApi(shell);
  app = createHttpApp(logger);
  const auth = createAuthenticator({
    operatorTokens: [OP],
    staff: { session: async () => undefined, apiToken: async (t) => staff[t] },
  });
  mileage.registerRoutes(app, auth);
  await app.listen({ port: 0, host: '127.0.0.1' });
  h.defer('app', () => app.close());
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  tsu = await h.tenants.require(TSU);
  yok = await h.tenants.require(YOKKAICHI);
}, 60_000);
afterAll(() => h?.close());

describe('programmes and permissions', () => {
  const input = {
    fiscalYear: 2026,
    name: '津市とこわか健康マイレージ',
    startsOn: '2026-04-01',
    endsOn: '2027-03-31',
    goalPoints: 100,
    cardValidMonths: 12,
  };

  it('lets only accounts that manage mileage or channels, for their own tenant, create a programme', async () => {
    const path = `/api/v1/mileage/tenants/${TSU}/programmes`;
    const denied = await call<{ error: { code: string; message: string } }>(T.tsuReader, 'POST', path, input);
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toContain('マイレージ管理');
    const foreign = await call<{ error: { code: string } }>(T.yokkaichi, 'POST', path, input);
    expect(foreign.status).toBe(403);
    expect(foreign.body.error.code).toBe('forbidden_tenant');
    const bad = await call<{ error: { code: string; message: string } }>(T.tsuManager, 'POST', path, {
      ...input,
      endsOn: '2026-03-01',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('終了日は開始日以降');
    const created = await call<Programme>(T.tsuManager, 'POST', path, input);
    expect(created.status).toBe(201);
    programme = created.body;
    expect(programme).toMatchObject({ tenantId: TSU, goalPoints: 100, activities: [] });
    const overlap = await call<{ error: { code: string } }>(T.contractor, 'POST', path, { ...input, name: '重複' });
    expect(overlap.status).toBe(409);
    expect(overlap.body.error.code).toBe('programme_overlap');
    // the other municipality's own programme, by an account with チャネルの管理 (the contractor)
    const other = await call<Programme>(T.contractor, 'POST', `/api/v1/mileage/tenants/${YOKKAICHI}/programmes`, {
      ...input,
      name: '四日市市健康マイレージ',
    });
    expect(other.status).toBe(201);
  });

  it('adds activities, listed in the order they were added', async () => {
    const add = (body: unknown) =>
      call<{ activityId: string }>(
        T.tsuManager,
        'POST',
        `/api/v1/mileage/tenants/${TSU}/programmes/${programme.programmeId}/activities`,
        body,
      );
    const noLabel = await call<{ error: { message: string } }>(
      T.tsuManager,
      'POST',
      `/api/v1/mileage/tenants/${TSU}/programmes/${programme.programmeId}/activities`,
      { name: 'ウォーキング', points: 5, method: 'self_report' },
    );
    expect(noLabel.status).toBe(400);
    expect(noLabel.body.error.message).toContain('ボタン名');
    const event = await add({ name: '健康イベント参加', points: 30, method: 'qr' });
    const walk = await add({
      name: 'ウォーキング 30 分',
      points: 5,
      method: 'self_report',
      selfReportLabel: '今日30分歩いた',
      dailyCap: 1,
    });
    const checkup = await add({ name: '健康診断の受診', points: 50, method: 'grant', periodCap: 1 });
    expect([event.status, walk.status, checkup.status]).toEqual([201, 201, 201]);
    acts = { event: event.body.activityId, walk: walk.body.activityId, checkup: checkup.body.activityId };
    const read = await call<Programme>(
      T.tsuReader,
      'GET',
      `/api/v1/mileage/tenants/${TSU}/programmes/${programme.programmeId}`,
    );
    expect(read.body.activities.map((a) => a.name)).toEqual([
      '健康イベント参加',
      'ウォーキング 30 分',
      '健康診断の受診',
    ]);
    programme = read.body;
  });

  it('shows a municipality only its own programmes; the prefecture sees every one', async () => {
    const mine = await call<{ programmes: Programme[] }>(T.yokkaichi, 'GET', '/api/v1/mileage/programmes');
    expect(mine.body.programmes.map((p) => p.tenantId)).toEqual([YOKKAICHI]);
    const theirs = await call<{ error: { code: string } }>(
      T.yokkaichi,
      'GET',
      `/api/v1/mileage/programmes?tenant=${TSU}`,
    );
    expect(theirs.status).toBe(403);
    const notMine = await call(
      T.yokkaichi,
      'GET',
      `/api/v1/mileage/tenants/${TSU}/programmes/${programme.programmeId}`,
    );
    expect(notMine.status).toBe(403);
    const all = await call<{ programmes: Programme[] }>(T.prefReader, 'GET', '/api/v1/mileage/programmes');
    expect(all.body.programmes.map((p) => p.tenantId).sort()).toEqual([TSU, YOKKAICHI]);
    const prefEdit = await call(
      T.prefReader,
      'PUT',
      `/api/v1/mileage/tenants/${TSU}/programmes/${programme.programmeId}`,
      {
        goalPoints: 90,
      },
    );
    expect(prefEdit.status).toBe(403);
  });

  it('audits programme changes, keeping versions', async () => {
    const r = await call<Programme>(
      T.tsuManager,
      'PUT',
      `/api/v1/mileage/tenants/${TSU}/programmes/${programme.programmeId}`,
      {
        description: '健康づくりの活動でポイントをためよう',
      },
    );
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      description: '健康づくりの活動でポイントをためよう',
      goalPoints: 100,
      updatedBy: 'tsumanager',
    });
    const rs = await h.ch.query({
      query: "SELECT action FROM audit_log WHERE action LIKE 'mileage_%' ORDER BY at",
      format: 'JSONEachRow',
    });
    const actions = ((await rs.json()) as Array<{ action: string }>).map((a) => a.action);
    expect(actions).toEqual(
      expect.arrayContaining(['mileage_programme_created', 'mileage_activity_added', 'mileage_programme_changed']),
    );
  });
});

describe('scans', () => {
  let session: Session;
  let code: string;

  it('gives the session code a LIFF URL of the scan page', async () => {
    session = await newSession(TSU, eventSession());
    const r = await call<{ code: string; url: string; expiresAt: string }>(
      T.tsuReader,
      'GET',
      `/api/v1/mileage/tenants/${TSU}/sessions/${session.sessionId}/code`,
    );
    code = r.body.code;
    expect(r.body.url).toBe(`https://liff.line.me/1234567890-${TSU}abc/mileage/scan?c=${encodeURIComponent(code)}`);
    expect(code.length).toBeLessThan(160);
    expect(r.body.expiresAt).toBe('2026-06-15T08:00:00.000Z');
  });

  it('awards once per resident per session; the second scan answers awarded:false with the balance', async () => {
    const u = user(1);
    const first = await scan(tsu, u, code);
    expect(first).toMatchObject({ awarded: true, points: 30, balance: 30, goal: 100 });
    expect(parseMemberNumber(first.memberNo)).toEqual({ tenantId: TSU, serial: 1 });
    const again = await scan(tsu, u, code);
    expect(again).toMatchObject({ awarded: false, reason: 'already', balance: 30, memberNo: first.memberNo });
    expect(await ledgerRows(u)).toBe(1);
    expect(await rollup(u)).toBe(30);
    const summary = await asResident<ResidentSummary>(tsu, u, 'GET', 'mileage/summary');
    expect(summary).toMatchObject({ balance: 30, goal: 100, progress: 0.3, memberNo: first.memberNo, card: null });
    expect(summary.recent[0]).toMatchObject({
      kind: 'scan',
      activityName: '健康イベント参加',
      points: 30,
      activityOn: '2026-06-15',
    });
  });

  it('refuses a code outside its window, from another municipality, or tampered, in Japanese', async () => {
    const later = await newSession(
      TSU,
      eventSession({ validFrom: '2026-06-16T09:00:00+09:00', validUntil: '2026-06-16T17:00:00+09:00' }),
    );
    await expect(scan(tsu, user(2), await codeOf(TSU, later.sessionId))).rejects.toMatchObject({
      code: 'session_not_started',
    });
    const past = await newSession(
      TSU,
      eventSession({ validFrom: '2026-06-14T09:00:00+09:00', validUntil: '2026-06-14T17:00:00+09:00' }),
    );
    await expect(scan(tsu, user(2), await codeOf(TSU, past.sessionId))).rejects.toMatchObject({
      code: 'session_expired',
      message: expect.stringContaining('受付期間は終了'),
    });
    const yokProgramme = (
      await call<{ programmes: Programme[] }>(OP, 'GET', `/api/v1/mileage/programmes?tenant=${YOKKAICHI}`)
    ).body.programmes[0]!;
    const yokAct = await call<{ activityId: string }>(
      OP,
      'POST',
      `/api/v1/mileage/tenants/${YOKKAICHI}/programmes/${yokProgramme.programmeId}/activities`,
      { name: 'イベント', points: 10, method: 'qr' },
    );
    const yokSession = await newSession(YOKKAICHI, {
      ...eventSession(),
      programmeId: yokProgramme.programmeId,
      activityId: yokAct.body.activityId,
    });
    const foreign = await codeOf(YOKKAICHI, yokSession.sessionId);
    await expect(scan(tsu, user(2), foreign)).rejects.toMatchObject({
      code: 'code_foreign',
      message: expect.stringContaining('別の市町'),
    });
    expect((await scan(yok, user(2), foreign)).awarded).toBe(true);
    const tampered = `${code.slice(0, -3)}${code.slice(-3) === 'AAA' ? 'BBB' : 'AAA'}`;
    await expect(scan(tsu, user(2), tampered)).rejects.toMatchObject({ code: 'code_invalid' });
    await expect(scan(tsu, user(2), 'not-a-code-at-all')).rejects.toMatchObject({ code: 'code_invalid' });
    expect(await ledgerRows(user(2))).toBe(1); // only 四日市's
  });

  it('refuses points outside the programme period and from a retired activity', async () => {
    const after = await newSession(
      TSU,
      eventSession({
        heldOn: '2027-04-01',
        validFrom: '2027-04-01T09:00:00+09:00',
        validUntil: '2027-04-01T17:00:00+09:00',
      }),
    );
    const afterCode = await codeOf(TSU, after.sessionId);
    const saved = clock;
    clock = Date.parse('2027-04-01T01:00:00Z');
    try {
      await expect(scan(tsu, user(3), afterCode)).rejects.toMatchObject({
        code: 'outside_period',
        message: expect.stringContaining('2026-04-01〜2027-03-31'),
      });
    } finally {
      clock = saved;
    }
    const act = await call<{ activityId: string }>(
      OP,
      'POST',
      `/api/v1/mileage/tenants/${TSU}/programmes/${programme.programmeId}/activities`,
      { name: '終了する活動', points: 7, method: 'qr' },
    );
    const s = await newSession(TSU, eventSession({ activityId: act.body.activityId }));
    const c = await codeOf(TSU, s.sessionId);
    expect((await scan(tsu, user(3), c)).awarded).toBe(true);
    const del = await call<{ deleted: boolean }>(
      T.tsuManager,
      'DELETE',
      `/api/v1/mileage/tenants/${TSU}/programmes/${programme.programmeId}/activities/${act.body.activityId}`,
    );
    expect(del.body.deleted).toBe(false); // it has an award: retired, not deleted
    const s2 = await newSession(TSU, eventSession({ activityId: acts.event, title: '別会場' }));
    const c2 = await codeOf(TSU, s2.sessionId);
    // a session of the retired activity made before it was retired is refused
    await expect(scan(tsu, user(4), c)).rejects.toMatchObject({ code: 'activity_retired' });
    expect((await scan(tsu, user(4), c2)).awarded).toBe(true);
    expect(await rollup(user(3))).toBe(7);
  });

  it('refuses the code of a retired session; an edited session keeps its code', async () => {
    const s = await newSession(TSU, eventSession({ title: '中止になった教室' }));
    const c = await codeOf(TSU, s.sessionId);
    const edit = await call<Session>(T.tsuManager, 'PUT', `/api/v1/mileage/tenants/${TSU}/sessions/${s.sessionId}`, {
      place: '津市役所 本庁舎',
    });
    expect(edit.body).toMatchObject({ place: '津市役所 本庁舎', title: '中止になった教室' });
    const gone = await call(T.tsuManager, 'DELETE', `/api/v1/mileage/tenants/${TSU}/sessions/${s.sessionId}`);
    expect(gone.status).toBe(204);
    await expect(scan(tsu, user(5), c)).rejects.toMatchObject({ code: 'session_not_found', status: 404 });
    const listed = await call<{ sessions: Session[] }>(T.tsuReader, 'GET', `/api/v1/mileage/tenants/${TSU}/sessions`);
    expect(listed.body.sessions.some((x) => x.sessionId === s.sessionId)).toBe(false);
  });

  it('awards once when one resident scans many times at once', async () => {
    const s = await newSession(TSU, eventSession({ title: '同時読み取り' }));
    const c = await codeOf(TSU, s.sessionId);
    const u = user(10);
    const results = await Promise.all(Array.from({ length: 40 }, () => scan(tsu, u, c)));
    expect(results.filter((r) => r.awarded)).toHaveLength(1);
    expect(new Set(results.map((r) => r.memberNo)).size).toBe(1);
    expect(await ledgerRows(u)).toBe(1);
    expect(await rollup(u)).toBe(30);
  });

  it('gives distinct member numbers to many residents joining at once', async () => {
    const s = await newSession(TSU, eventSession({ title: '多数同時' }));
    const c = await codeOf(TSU, s.sessionId);
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => scan(tsu, user(100 + i), c)));
    expect(results.every((r) => r.awarded)).toBe(true);
    expect(new Set(results.map((r) => r.memberNo)).size).toBe(60);
    for (const r of results) expect(parseMemberNumber(r.memberNo)?.tenantId).toBe(TSU);
  });
});

describe('self-report', () => {
  const ev = (id: string, at: string) => ({ webhookEventId: id, timestamp: Date.parse(at) });

  it('records once per event and within the daily cap, counted per Tokyo day', async () => {
    const u = user(20);
    const first = await mileage.resident.selfReport(
      TSU,
      u,
      acts.walk,
      ev('01SELF0000000000000000001', '2026-06-15T14:00:00Z'),
    );
    expect(first).toMatchObject({ awarded: true, points: 5, balance: 5 });
    // LINE redelivers the same event: nothing more, and no error
    const redelivered = await mileage.resident.selfReport(
      TSU,
      u,
      acts.walk,
      ev('01SELF0000000000000000001', '2026-06-15T14:00:00Z'),
    );
    expect(redelivered).toMatchObject({ awarded: false, balance: 5 });
    // 23:59 in Tokyo the same day: over the cap
    await expect(
      mileage.resident.selfReport(TSU, u, acts.walk, ev('01SELF0000000000000000002', '2026-06-15T14:59:00Z')),
    ).rejects.toMatchObject({ code: 'cap_reached', status: 409, message: expect.stringContaining('1 日 1 回まで') });
    // 00:00 in Tokyo the next day (15:00 UTC): a new day
    const next = await mileage.resident.selfReport(
      TSU,
      u,
      acts.walk,
      ev('01SELF0000000000000000003', '2026-06-15T15:00:00Z'),
    );
    expect(next).toMatchObject({ awarded: true, balance: 10 });
    await expect(
      mileage.resident.selfReport(TSU, u, acts.event, ev('01SELF0000000000000000004', '2026-06-16T01:00:00Z')),
    ).rejects.toMatchObject({ code: 'activity_not_found' });
    expect(await ledgerRows(u)).toBe(2);
  });

  it('applies a changed points value to later awards only', async () => {
    const u = user(20);
    const path = `/api/v1/mileage/tenants/${TSU}/programmes/${programme.programmeId}/activities/${acts.walk}`;
    const changed = await call<{ points: number }>(T.tsuManager, 'PUT', path, { points: 8 });
    expect(changed.body.points).toBe(8);
    const r = await mileage.resident.selfReport(
      TSU,
      u,
      acts.walk,
      ev('01SELF0000000000000000005', '2026-06-17T01:00:00Z'),
    );
    expect(r).toMatchObject({ awarded: true, points: 8, balance: 18 });
    // the history is the ledger's: the award is there once the event log is shipped
    await shipped(ingest);
    const history = await asResident<{ entries: Array<{ points: number }>; total: number }>(
      tsu,
      u,
      'GET',
      'mileage/history',
      undefined,
      { limit: '2', offset: '0' },
    );
    expect(history.total).toBe(3);
    expect(history.entries.map((e) => e.points)).toEqual([8, 5]);
    await call(T.tsuManager, 'PUT', path, { points: 5 });
  });
});

describe('grants, imports and corrections', () => {
  let memberA: string;
  let memberB: string;
  const grantPath = () => `/api/v1/mileage/tenants/${TSU}/programmes/${programme.programmeId}/grants`;

  it('grants by member number once per key; refuses bad numbers and callers without the permission', async () => {
    memberA = (await mileage.members.ensure(TSU, user(30))).memberNo;
    memberB = (await mileage.members.ensure(TSU, user(31))).memberNo;
    const body = {
      memberNo: memberA,
      activityId: acts.checkup,
      activityOn: '2026-06-10',
      reason: '特定健診の受診を確認',
      key: 'grant-0001-a',
    };
    const ok = await call<AwardResult>(T.tsuManager, 'POST', grantPath(), body);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ awarded: true, points: 50, balance: 50 });
    const again = await call<AwardResult>(T.tsuManager, 'POST', grantPath(), body);
    expect(again.body).toMatchObject({ awarded: false, balance: 50 });
    const capped = await call<{ error: { code: string } }>(T.tsuManager, 'POST', grantPath(), {
      ...body,
      key: 'grant-0001-b',
    });
    expect(capped.status).toBe(409);
    expect(capped.body.error.code).toBe('cap_reached');
    const digits = memberA.replaceAll('-', '');
    const wrongCheck = `${digits.slice(0, 5)}-${digits.slice(5, 11)}-${(Number(digits[11]) + 1) % 10}`;
    const bad = await call<{ error: { code: string; message: string } }>(T.tsuManager, 'POST', grantPath(), {
      ...body,
      memberNo: wrongCheck,
      key: 'grant-0001-c',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('member_no_check_digit');
    const unknown = await call<{ error: { code: string } }>(T.tsuManager, 'POST', grantPath(), {
      ...body,
      memberNo: memberNumber(TSU, 99_999),
      key: 'grant-0001-d',
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('member_not_found');
    for (const token of [T.tsuReader, T.tsuChannels, T.pref, T.yokkaichi]) {
      const r = await call(token, 'POST', grantPath(), { ...body, key: 'grant-0001-e' });
      expect(r.status).toBe(403);
    }
    const outside = await call<{ error: { code: string } }>(T.tsuManager, 'POST', grantPath(), {
      ...body,
      memberNo: memberB,
      activityOn: '2026-03-31',
      key: 'grant-0001-f',
    });
    expect(outside.body.error.code).toBe('outside_period');
  });

  const importPath = () => `/api/v1/mileage/tenants/${TSU}/programmes/${programme.programmeId}/imports`;
  const csvFile = (rows: string[][]) =>
    Buffer.from(`\uFEFF${rows.map((r) => r.join(',')).join('\r\n')}\r\n`).toString('base64');

  it('previews a CSV with per-row errors in Japanese and writes nothing; the confirm applies the rows once', async () => {
    const digits = memberB.replaceAll('-', '');
    const wrongCheck = `${digits.slice(0, 5)}-${digits.slice(5, 11)}-${(Number(digits[11]) + 1) % 10}`;
    const file = csvFile([
      ['会員番号', '活動', '活動日', '理由'],
      [memberB, '健康診断の受診', '2026/6/1', '健診結果の報告'],
      [wrongCheck, '健康診断の受診', '2026-06-01', '健診'],
      [memberNumber(TSU, 999), '健康診断の受診', '2026-06-01', '健診'],
      [memberB, 'ヨガ教室', '2026-06-01', '健診'],
      [memberA, '健康診断の受診', '2026-06-02', '健診'], // capped: A has had a check-up
      [memberB, '健康イベント参加', '2026-06-03', ''],
      [memberB, '健康イベント参加', '2026-06-03', ''], // duplicate of the row above
      [memberB, '健康イベント参加', '2026-03-01', ''], // before the period
    ]);
    const before = await ledgerRows(user(31));
    const r = await call<ImportPreview>(T.tsuManager, 'POST', importPath(), {
      fileName: '健診結果.csv',
      data: file,
      reason: '市の集団健診',
    });
    expect(r.status).toBe(200);
    const errs = (row: number) => r.body.rows.find((x) => x.row === row)!.errors.join(' / ');
    expect(errs(2)).toBe('');
    expect(errs(3)).toContain('チェック数字');
    expect(errs(4)).toContain('参加者はいません');
    expect(errs(5)).toContain('活動「ヨガ教室」はこの事業にありません');
    expect(errs(6)).toContain('期間中 1 回まで');
    expect(errs(7)).toBe('');
    expect(errs(8)).toContain('7 行目と同じ内容です');
    expect(errs(9)).toContain('期間');
    expect(r.body).toMatchObject({ valid: 2, invalid: 6 });
    expect(r.body.rows.find((x) => x.row === 7)!.reason).toBe('市の集団健診');
    expect(await ledgerRows(user(31))).toBe(before);

    const confirm = () => call<ImportConfirmation>(T.tsuManager, 'POST', `${importPath()}/${r.body.importId}/confirm`);
    const [one, two] = await Promise.all([confirm(), confirm()]);
    expect(one.body.applied + two.body.applied).toBe(2);
    expect(one.body.alreadyApplied + two.body.alreadyApplied).toBe(2);
    const three = await confirm();
    expect(three.body).toMatchObject({ applied: 0, alreadyApplied: 2, failed: [] });
    expect(await ledgerRows(user(31))).toBe(before + 2);
    expect(await rollup(user(31))).toBe(80);
    const other = await call(T.yokkaichi, 'POST', `${importPath()}/${r.body.importId}/confirm`);
    expect(other.status).toBe(403);
    const unknown = await call<{ error: { code: string } }>(
      T.tsuManager,
      'POST',
      `${importPath()}/00000000-0000-4000-8000-000000000000/confirm`,
    );
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('import_expired');
  });

  it('reads an xlsx file the same way', async () => {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('付与');
    ws.addRow(['会員番号', '活動', '活動日', '理由']);
    ws.addRow([memberA, '健康イベント参加', new Date(Date.UTC(2026, 5, 5)), '講座参加']);
    ws.addRow(['123', '健康イベント参加', new Date(Date.UTC(2026, 5, 5)), '講座参加']);
    const data = Buffer.from(await wb.xlsx.writeBuffer()).toString('base64');
    const r = await call<ImportPreview>(T.tsuManager, 'POST', importPath(), { fileName: 'grants.xlsx', data });
    expect(r.status).toBe(200);
    expect(r.body.rows[0]).toMatchObject({ row: 2, activityOn: '2026-06-05', errors: [] });
    expect(r.body.rows[1]!.errors.join()).toContain('形式が正しくありません');
    // a CSV saved by Excel in Shift_JIS (CP932)
    const sjis = (b64: string) => Buffer.from(b64, 'base64');
    const sjisFile = Buffer.concat([
      sjis('ie+I9ZTUjYYsioiTriyKiJOuk/osl52XUg0K'), // 会員番号,活動,活動日,理由\r\n
      Buffer.from(`${memberA},`),
      sjis('jJKNToNDg3iDk4NnjlGJwQ=='), // 健康イベント参加
      Buffer.from(',2026-06-05,'),
      sjis('jXWNwA=='), // 講座
      Buffer.from('\r\n'),
    ]).toString('base64');
    const fromSjis = await call<ImportPreview>(T.tsuManager, 'POST', importPath(), {
      fileName: 'sjis.csv',
      data: sjisFile,
    });
    expect(fromSjis.body.rows[0]).toMatchObject({ activity: '健康イベント参加', reason: '講座', errors: [] });
    const wrongType = await call<{ error: { code: string } }>(T.tsuManager, 'POST', importPath(), {
      fileName: 'grants.pdf',
      data,
    });
    expect(wrongType.body.error.code).toBe('import_file_type');
    const noHeader = await call<{ error: { code: string } }>(T.tsuManager, 'POST', importPath(), {
      fileName: 'x.csv',
      data: csvFile([
        ['a', 'b'],
        ['1', '2'],
      ]),
    });
    expect(noHeader.body.error.code).toBe('import_header');
  });

  it('corrects an entry with a negative entry naming it, once, with a required reason', async () => {
    const ledgerPath = `/api/v1/mileage/tenants/${TSU}/programmes/${programme.programmeId}/members/${memberA}/ledger`;
    const before = await call<{ balance: number; entries: Array<{ entryId: string; kind: string }> }>(
      T.tsuReader,
      'GET',
      ledgerPath,
    );
    const grant = before.body.entries.find((e) => e.kind === 'grant')!;
    expect(grant.entryId).toBe('grant:grant-0001-a');
    const path = `/api/v1/mileage/tenants/${TSU}/programmes/${programme.programmeId}/corrections`;
    const noReason = await call(T.tsuManager, 'POST', path, { entryId: grant.entryId });
    expect(noReason.status).toBe(400);
    const tooMuch = await call<{ error: { code: string } }>(T.tsuManager, 'POST', path, {
      entryId: grant.entryId,
      points: 51,
      reason: '誤り',
    });
    expect(tooMuch.body.error.code).toBe('correction_too_large');
    const ok = await call<AwardResult>(T.tsuManager, 'POST', path, {
      entryId: grant.entryId,
      reason: '別人の記録を誤って付与',
    });
    expect(ok.body).toMatchObject({ awarded: true, points: -50, balance: before.body.balance - 50 });
    const again = await call<AwardResult>(T.tsuManager, 'POST', path, { entryId: grant.entryId, reason: '二重送信' });
    expect(again.body.awarded).toBe(false);
    const after = await call<{ balance: number; entries: Array<{ kind: string; corrects: string; reason: string }> }>(
      T.tsuReader,
      'GET',
      ledgerPath,
    );
    expect(after.body.balance).toBe(before.body.balance - 50);
    expect(after.body.entries.find((e) => e.kind === 'correction')).toMatchObject({
      corrects: grant.entryId,
      reason: '別人の記録を誤って付与',
    });
    const denied = await call(T.pref, 'POST', path, { entryId: grant.entryId, reason: 'x' });
    expect(denied.status).toBe(403);
  });

  it('lists participants and exports them as CSV (BOM, audited)', async () => {
    const r = await call<{ participants: Array<{ memberNo: string; balance: number }> }>(
      T.tsuReader,
      'GET',
      `/api/v1/mileage/tenants/${TSU}/programmes/${programme.programmeId}/participants`,
    );
    expect(r.body.participants.find((p) => p.memberNo === memberB)).toMatchObject({ balance: 80 });
    const other = await call(
      T.yokkaichi,
      'GET',
      `/api/v1/mileage/tenants/${TSU}/programmes/${programme.programmeId}/participants`,
    );
    expect(other.status).toBe(403);
    const csv = await fetch(
      `${base}/api/v1/mileage/tenants/${TSU}/programmes/${programme.programmeId}/participants.csv`,
      {
        headers: { authorization: `Bearer ${T.tsuReader}` },
      },
    );
    const bytes = Buffer.from(await csv.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.toString('utf8');
    expect(text.split('\r\n')[0]).toBe(
      '\uFEFF会員番号,残高 (ポイント),記録数,初回参加,最終記録,カード番号,カード発行日,カード有効期限,カードの状態',
    );
    expect(text).toContain(`${memberB},80,`);
    const rs = await h.ch.query({
      query: "SELECT count() AS n FROM audit_log WHERE action = 'export' AND target LIKE 'mileage-participants:%'",
      format: 'JSONEachRow',
    });
    expect(Number(((await rs.json()) as Array<{ n: number }>)[0]!.n)).toBe(1);
  });
});

describe('the card', () => {
  it('knows the last valid day (Tokyo dates, month ends, leap years)', () => {
    expect(cardValidUntil('2026-04-10', 12)).toBe('2027-04-09');
    expect(cardValidUntil('2026-04-01', 12)).toBe('2027-03-31');
    expect(cardValidUntil('2026-01-31', 1)).toBe('2026-02-28');
    expect(cardValidUntil('2027-01-31', 13)).toBe('2028-02-29');
    expect(cardValidUntil('2028-02-29', 12)).toBe('2029-02-28');
    expect(cardValidUntil('2026-12-15', 3)).toBe('2027-03-14');
  });

  it('is issued once, when the balance first reaches the goal, dated by the Tokyo day', async () => {
    const u = user(40);
    const saved = clock;
    clock = Date.parse('2026-06-30T15:30:00Z'); // 2026-07-01 00:30 in Tokyo
    try {
      const grant = (key: string, activityId: string) =>
        call<AwardResult>(
          T.tsuManager,
          'POST',
          `/api/v1/mileage/tenants/${TSU}/programmes/${programme.programmeId}/grants`,
          {
            memberNo,
            activityId,
            reason: 'テスト',
            key,
          },
        );
      const memberNo = (await mileage.members.ensure(TSU, u)).memberNo;
      expect((await grant('card-0001', acts.event)).body.cardIssued).toBeUndefined(); // 30
      expect((await grant('card-0002', acts.event)).body.cardIssued).toBeUndefined(); // 60
      expect((await grant('card-0003', acts.event)).body.cardIssued).toBeUndefined(); // 90
      const goal = await grant('card-0004', acts.event); // 120
      expect(goal.body.cardIssued).toMatchObject({ cardNo: memberNo, validUntil: '2027-06-30', expired: false });
      const more = await grant('card-0005', acts.event);
      expect(more.body.cardIssued).toBeUndefined();
      // the card row goes through the event log: in mileage_cards once shipped
      await shipped(ingest);
      const rs = await h.ch.query({
        query: 'SELECT count() AS n FROM mileage_cards WHERE user_id = {u:String}',
        query_params: { u },
        format: 'JSONEachRow',
      });
      expect(Number(((await rs.json()) as Array<{ n: number }>)[0]!.n)).toBe(1);
      const summary = await asResident<ResidentSummary>(tsu, u, 'GET', 'mileage/summary');
      expect(summary.card).toMatchObject({ cardNo: memberNo, validUntil: '2027-06-30', expired: false });
      expect(summary.progress).toBe(1);
      clock = Date.parse('2027-06-30T14:59:00Z'); // the last valid day, 23:59 in Tokyo
      expect((await mileage.cards.card(TSU, programme.programmeId, u))?.expired).toBe(false);
      clock = Date.parse('2027-06-30T15:00:00Z'); // 2027-07-01 00:00 in Tokyo
      expect((await mileage.cards.card(TSU, programme.programmeId, u))?.expired).toBe(true);
    } finally {
      clock = saved;
    }
  });
});

describe('designs', () => {
  const png = (w: number, h: number) => {
    const b = Buffer.alloc(33);
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b, 0);
    b.writeUInt32BE(13, 8);
    b.write('IHDR', 12, 'latin1');
    b.writeUInt32BE(w, 16);
    b.writeUInt32BE(h, 20);
    return b.toString('base64');
  };

  it('lets prefecture staff make, preview and publish the one design; checks the image', async () => {
    const denied = await call(T.tsuManager, 'POST', '/api/v1/mileage/designs', { name: '市町案' });
    expect(denied.status).toBe(403);
    const small = await call<{ error: { code: string; message: string } }>(T.pref, 'POST', '/api/v1/mileage/designs', {
      name: '小さい画像',
      image: png(300, 200),
    });
    expect(small.body.error).toMatchObject({ code: 'image_too_small' });
    const notImage = await call<{ error: { code: string } }>(T.pref, 'POST', '/api/v1/mileage/designs', {
      name: 'テキスト',
      image: Buffer.from('hello').toString('base64'),
    });
    expect(notImage.body.error.code).toBe('image_type');
    const draft = await call<{ designId: string; status: string; hasImage: boolean }>(
      T.pref,
      'POST',
      '/api/v1/mileage/designs',
      {
        name: '2026 年度版',
        note: '協力店で提示すると特典が受けられます',
        image: png(1200, 760),
      },
    );
    expect(draft.status).toBe(201);
    expect(draft.body).toMatchObject({ status: 'draft', hasImage: true });
    expect(
      (await call<{ design: unknown }>(T.tsuReader, 'GET', '/api/v1/mileage/designs/current')).body.design,
    ).toBeNull();
    const preview = await fetch(`${base}/api/v1/mileage/designs/${draft.body.designId}/image`, {
      headers: { authorization: `Bearer ${T.pref}` },
    });
    expect(preview.headers.get('content-type')).toBe('image/png');
    const published = await call<{ status: string }>(
      T.pref,
      'POST',
      `/api/v1/mileage/designs/${draft.body.designId}/publish`,
    );
    expect(published.body.status).toBe('published');
    const current = await call<{ design: { designId: string } }>(T.tsuReader, 'GET', '/api/v1/mileage/designs/current');
    expect(current.body.design.designId).toBe(draft.body.designId);
    const edit = await call<{ error: { code: string } }>(
      T.pref,
      'PUT',
      `/api/v1/mileage/designs/${draft.body.designId}`,
      { name: 'x' },
    );
    expect(edit.body.error.code).toBe('design_published');
  });
});

describe('when parts fail', () => {
  it('never awards twice after Redis loses its guards: they are rebuilt from the ledger', async () => {
    const s = await newSession(TSU, eventSession({ title: 'Redis 消失' }));
    const c = await codeOf(TSU, s.sessionId);
    const u = user(50);
    const first = await scan(tsu, u, c);
    expect(first.awarded).toBe(true);
    const rebuilds = mileage.guards.stats.rebuilds;
    await h.redis.client.flushall();
    const again = await scan(tsu, u, c);
    expect(again).toMatchObject({ awarded: false, balance: 30, memberNo: first.memberNo });
    expect(mileage.guards.stats.rebuilds).toBe(rebuilds + 1);
    // the serial counter is rebuilt too: a newcomer gets a new number, not an old one
    const newcomer = await scan(tsu, user(51), c);
    expect(newcomer.awarded).toBe(true);
    const serial = parseMemberNumber(newcomer.memberNo)!.serial;
    const rs = await h.ch.query({
      query: `SELECT max(toUInt32(splitByChar('-', member_no)[2])) AS m FROM (
                SELECT user_id, member_no FROM mileage_members WHERE tenant_id = {t:String}
                UNION ALL SELECT user_id, member_no FROM mileage_ledger WHERE tenant_id = {t:String} AND member_no != ''
              ) WHERE user_id != {u:String}`,
      query_params: { t: TSU, u: user(51) },
      format: 'JSONEachRow',
    });
    expect(serial).toBe(Number(((await rs.json()) as Array<{ m: number }>)[0]!.m) + 1);
    // the daily cap is rebuilt from the ledger as well
    await expect(
      mileage.resident.selfReport(TSU, user(20), acts.walk, {
        webhookEventId: '01SELF0000000000000000009',
        timestamp: Date.parse('2026-06-15T15:30:00Z'),
      }),
    ).rejects.toMatchObject({ code: 'cap_reached' });
    expect(await ledgerRows(u)).toBe(1);
  });

  it('keeps a first award’s member number from its ledger entry when the member row is missing', async () => {
    const s = await newSession(TSU, eventSession({ title: '会員行なし' }));
    const c = await codeOf(TSU, s.sessionId);
    const u = user(55);
    const first = await scan(tsu, u, c);
    // the member row follows the ledger entry in the background
    await waitFor(async () => {
      const rs = await h.ch.query({
        query: 'SELECT count() AS n FROM mileage_members WHERE user_id = {u:String}',
        query_params: { u },
        format: 'JSONEachRow',
      });
      return Number(((await rs.json()) as Array<{ n: number }>)[0]!.n) === 1;
    });
    await h.ch.command({
      query: 'ALTER TABLE mileage_members DELETE WHERE user_id = {u:String}',
      query_params: { u },
      clickhouse_settings: { mutations_sync: '2' },
    });
    await h.redis.client.flushall();
    expect(await mileage.members.resolve(TSU, first.memberNo)).toEqual({ userId: u, memberNo: first.memberNo });
    expect(await mileage.members.of(TSU, u)).toBe(first.memberNo);
  });

  it('answers 503 and keeps no guard when the event log refuses the award; a retry then awards once', async () => {
    const s = await newSession(TSU, eventSession({ title: 'ログ拒否' }));
    const c = await codeOf(TSU, s.sessionId);
    const u = user(60);
    await mileage.members.ensure(TSU, u);
    const append = ingest.log.append.bind(ingest.log);
    let fail = true;
    ingest.log.append = async (records) => {
      if (fail && records.some((r) => r.kind === 'rows' && r.table === 'mileage_ledger')) {
        fail = false;
        throw new BacklogFullError(1024, 1024);
      }
      return append(records);
    };
    try {
      await expect(scan(tsu, u, c)).rejects.toMatchObject({ status: 503, code: 'backlog_full' });
      expect(await ledgerRows(u)).toBe(0);
      const retry = await scan(tsu, u, c);
      expect(retry).toMatchObject({ awarded: true, balance: 30 });
      expect(await ledgerRows(u)).toBe(1);
    } finally {
      ingest.log.append = append;
    }
  });

  it('acknowledges an award while ClickHouse refuses writes; it is in the ledger once ClickHouse is back', async () => {
    const s = await newSession(TSU, eventSession({ title: 'ClickHouse 停止中' }));
    const c = await codeOf(TSU, s.sessionId);
    const u = user(61);
    const before = await ledgerRows(u);
    refuse.on = true;
    try {
      const first = await scan(tsu, u, c);
      expect(first).toMatchObject({ awarded: true, balance: 30 });
      // the balance shown comes from the guards: the award is in it at once
      const summary = await asResident<ResidentSummary>(tsu, u, 'GET', 'mileage/summary');
      expect(summary.balance).toBe(30);
      expect(await scan(tsu, u, c)).toMatchObject({ awarded: false, reason: 'already' });
      await waitFor(async () => ingest.shipper.stats.failures > 0, 10_000, 'a refused INSERT');
    } finally {
      refuse.on = false;
    }
    expect(await ledgerRows(u)).toBe(before + 1);
    expect(await rollup(u)).toBe(30);
  });
});

describe('participants, a page at a time', () => {
  const N = 137;
  const SERIAL = 600_000; // far above the numbers the guards give in these tests
  let pid: string;
  let path: string;
  /** The seeded participants: member number and balance (ties on purpose: the order must still be one). */
  const seeded = Array.from({ length: N }, (_, i) => ({
    memberNo: memberNumber(TSU, SERIAL + i),
    balance: (i % 10) * 20,
  }));
  const byPoints = [...seeded]
    .sort((a, b) => b.balance - a.balance || a.memberNo.localeCompare(b.memberNo))
    .map((p) => p.memberNo);
  const byMember = seeded.map((p) => p.memberNo).sort();
  type Page = {
    participants: Array<{ memberNo: string; balance: number }>;
    total: number;
    limit: number;
    offset: number;
    summary: { participants: number; reachedGoal: number };
  };

  beforeAll(async () => {
    const created = await call<Programme>(T.tsuManager, 'POST', `/api/v1/mileage/tenants/${TSU}/programmes`, {
      fiscalYear: 2027,
      name: '津市とこわか健康マイレージ (令和9年度)',
      startsOn: '2027-04-01',
      endsOn: '2028-03-31',
      goalPoints: 100,
      cardValidMonths: 12,
    });
    expect(created.status).toBe(201);
    pid = created.body.programmeId;
    path = `/api/v1/mileage/tenants/${TSU}/programmes/${pid}/participants`;
    const uid = (i: number) => `Upage${String(i).padStart(28, '0')}`;
    await h.ch.insert({
      table: 'mileage_members',
      format: 'JSONEachRow',
      values: seeded.map((p, i) => ({
        tenant_id: TSU,
        user_id: uid(i),
        member_no: p.memberNo,
        joined_at: '2027-04-02 01:00:00.000',
      })),
    });
    await h.ch.insert({
      table: 'mileage_ledger',
      format: 'JSONEachRow',
      values: seeded.map((p, i) => ({
        tenant_id: TSU,
        programme_id: pid,
        user_id: uid(i),
        entry_id: `grant:page-${i}`,
        activity_id: '',
        kind: 'grant',
        points: p.balance,
        activity_on: '2027-04-02',
        source_id: '',
        corrects: '',
        reason: '一覧のページ送りの確認',
        actor: 'test',
        recorded_at: '2027-04-02 01:00:00.000',
        member_no: '',
      })),
    });
  });

  const pageThrough = async (query: string, limit: number) => {
    const seen: string[] = [];
    for (let offset = 0; ; offset += limit) {
      const r = await call<Page>(T.tsuReader, 'GET', `${path}?limit=${limit}&offset=${offset}&${query}`);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ limit, offset });
      seen.push(...r.body.participants.map((p) => p.memberNo));
      if (r.body.participants.length < limit) return { seen, total: r.body.total, summary: r.body.summary };
    }
  };

  it('gives every participant exactly once, in order, across pages (50 a page by default), with the total', async () => {
    const first = await call<Page>(T.tsuReader, 'GET', path);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ limit: 50, offset: 0, total: N });
    expect(first.body.participants.map((p) => p.memberNo)).toEqual(byPoints.slice(0, 50));
    expect(first.body.summary).toEqual({
      participants: N,
      reachedGoal: seeded.filter((p) => p.balance >= 100).length,
    });
    const points = await pageThrough('order=points', 50);
    expect(points.seen).toEqual(byPoints);
    expect(points.total).toBe(N);
    const member = await pageThrough('order=member', 40);
    expect(member.seen).toEqual(byMember);
    const all = await call<Page>(T.tsuReader, 'GET', `${path}?limit=500&order=member`);
    expect(all.body.participants.map((p) => p.memberNo)).toEqual(byMember);
    const beyond = await call<Page>(T.tsuReader, 'GET', `${path}?offset=1000`);
    expect(beyond.body).toMatchObject({ participants: [], total: N });
  });

  it('searches by (part of) the member number, hyphens and full-width digits allowed', async () => {
    const wanted = seeded[12]!.memberNo;
    const one = await call<Page>(T.tsuReader, 'GET', `${path}?q=${encodeURIComponent(wanted)}`);
    expect(one.body.participants.map((p) => p.memberNo)).toEqual([wanted]);
    expect(one.body.total).toBe(1);
    const part = '６０００３'; // 60003 typed in full width
    const matching = byMember.filter((n) => n.replaceAll('-', '').includes('60003'));
    expect(matching.length).toBeGreaterThan(1);
    const found = await pageThrough(`order=member&q=${encodeURIComponent(part)}`, 3);
    expect(found.seen).toEqual(matching);
    expect(found.total).toBe(matching.length);
    expect(found.summary.participants).toBe(N);
    const none = await call<Page>(T.tsuReader, 'GET', `${path}?q=999999999`);
    expect(none.body).toMatchObject({ participants: [], total: 0 });
  });

  it('refuses bad bounds and searches with a Japanese 400; ignores parameters it does not know', async () => {
    for (const [query, words] of [
      ['limit=501', '1〜500'],
      ['limit=0', '1〜500'],
      ['limit=abc', '1〜500'],
      ['offset=-1', '0 以上'],
      ['offset=1.5', '0 以上'],
      ['q=abc', '数字とハイフン'],
      ['order=newest', '並び順'],
    ] as const) {
      const r = await call<{ error: { code: string; message: string } }>(T.tsuReader, 'GET', `${path}?${query}`);
      expect(r.status, query).toBe(400);
      expect(r.body.error.code).toBe('invalid_input');
      expect(r.body.error.message, query).toContain(words);
    }
    const ok = await call<Page>(T.tsuReader, 'GET', `${path}?limit=500&unknown=1`);
    expect(ok.status).toBe(200);
    expect(ok.body.participants).toHaveLength(N);
    const other = await call(T.yokkaichi, 'GET', `${path}?limit=501`);
    expect(other.status).toBe(403);
  });

  it('exports every participant in the CSV, streamed in member-number order', async () => {
    const res = await fetch(`${base}${path}.csv`, { headers: { authorization: `Bearer ${T.tsuReader}` } });
    expect(res.status).toBe(200);
    const lines = Buffer.from(await res.arrayBuffer())
      .toString('utf8')
      .split('\r\n')
      .filter(Boolean);
    expect(lines[0]).toBe(
      '\uFEFF会員番号,残高 (ポイント),記録数,初回参加,最終記録,カード番号,カード発行日,カード有効期限,カードの状態',
    );
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(byMember);
    const twelve = seeded[12]!;
    expect(lines).toContain(`${twelve.memberNo},${twelve.balance},1,2027-04-02 10:00,2027-04-02 10:00,,,,`);
  });
});
