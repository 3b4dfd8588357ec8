/**
 * Staff and the cards' personal data: without カード利用者情報 every personal-data route (enumerated
 * from the app's routes) is 403 and no other answer — JSON, CSV, pages — carries a planted name;
 * with it, search, a streamed CSV (BOM, formula neutralised) and a push to chosen holders — a delivery
 * through delivery's service, in its list, one message to the friend and none to the holder who is not
 * one — each audited with who and how many, never with a name. The name is in no ClickHouse table either.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CARD_HOLDER_ROUTES } from '../../cards/index.ts';
import { residentCall, residentIdToken, type SandboxResident, sandboxResidents } from '../helpers/resident.ts';
import { type CardsSuite, startCardsSuite } from './cards-suite.ts';

const TSU = '24201';
const PLANTED = '試験ＱＺＸ花子';
let s: CardsSuite;
let people: SandboxResident[];
const tokens: Record<'pref' | 'admin' | 'holders' | 'muni', string> = { pref: '', admin: '', holders: '', muni: '' };

async function call(token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(s.url + path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // the bytes as they are (Response.text() would drop a BOM)
  const bytes = Buffer.from(await res.arrayBuffer());
  return { status: res.status, text: bytes.toString('utf8'), type: res.headers.get('content-type') ?? '' };
}

async function staffToken(username: string, role: string, permissions?: string[], tenantId?: string): Promise<string> {
  const u = await s.op('POST', '/api/v1/users', {
    username,
    role,
    password: 'correct horse battery 42',
    ...(permissions ? { permissions } : {}),
    ...(tenantId ? { tenantId } : {}),
  });
  expect(u.status, JSON.stringify(u.body)).toBe(201);
  const t = await s.op('POST', `/api/v1/users/${username}/tokens`, { label: 'test' });
  expect(t.status).toBe(201);
  return t.body.token;
}

const fill = (url: string) =>
  url
    .replace(':tenantId', TSU)
    .replace(':kind', 'card')
    .replace(':state', 'published')
    .replace(/:[A-Za-z]+/g, 'x')
    .replace('*', 'x');

beforeAll(async () => {
  s = await startCardsSuite('tayori-cards-staff-', { delivery: true });
  people = await sandboxResidents(s.url, TSU, 3);
  const household = (holderName: string) => ({
    holderName,
    relationship: '母',
    kind: 'children',
    children: [{ name: `${holderName}の子`, birthDate: '2016-06-06' }],
  });
  for (const [i, name] of [PLANTED, '=HYPERLINK("http://x")', '埼玉 三郎'].entries()) {
    const t = await residentIdToken(s.url, TSU, people[i]!.userId);
    expect((await residentCall(s.url, TSU, t, 'PUT', 'cards/household', household(name))).status).toBe(200);
  }
  await s.follow(TSU, [people[0]!.userId, people[1]!.userId]);
  tokens.pref = await staffToken('pref-reader', 'prefecture');
  tokens.admin = await staffToken('admin-plain', 'admin');
  tokens.muni = await staffToken('tsu-staff', 'municipality', undefined, TSU);
  tokens.holders = await staffToken('pref-cards', 'prefecture', ['card_holders']);
}, 180_000);
afterAll(() => s?.close());

describe('without カード利用者情報', () => {
  it('the permission is off by default for every role, admin included', async () => {
    const me = JSON.parse((await call(tokens.admin, 'GET', '/api/v1/me')).text);
    expect(me.permissions ?? me.user?.permissions).not.toContain('card_holders');
  });

  it('every personal-data route is 403, for every account without the permission', async () => {
    const personal = s.routes
      .filter((r) => /^\/api\/v1\/cards\/.*(holders|push)/.test(r.url))
      .map((r) => `${r.method} ${r.url}`);
    expect(personal.sort()).toEqual([...CARD_HOLDER_ROUTES].sort());
    for (const who of ['pref', 'admin', 'muni'] as const) {
      for (const key of CARD_HOLDER_ROUTES) {
        const [method, url] = key.split(' ') as [string, string];
        const r = await call(
          tokens[who],
          method,
          fill(url),
          method === 'POST' ? { userIds: [people[0]!.userId], text: 'x' } : undefined,
        );
        expect(r.status, `${who} ${key}`).toBe(403);
        expect(r.text).not.toContain(PLANTED);
      }
    }
  });

  it('no other answer of the app carries the planted name (every GET route, staff and resident)', async () => {
    const residentToken = await residentIdToken(s.url, TSU, people[2]!.userId);
    const checked: string[] = [];
    for (const r of s.routes.filter((x) => x.method === 'GET' && !x.url.includes('__mock'))) {
      const path = fill(r.url);
      for (const t of [tokens.pref, tokens.admin, s.token]) {
        if (t === s.token && CARD_HOLDER_ROUTES.includes(`GET ${r.url}` as never)) continue;
        const a = await call(t, 'GET', path);
        expect(a.text, `${r.url}`).not.toContain(PLANTED);
      }
      if (r.url.startsWith('/liff-api/')) expect((await call(residentToken, 'GET', path)).text).not.toContain(PLANTED);
      checked.push(r.url);
    }
    expect(checked).toContain('/api/v1/cards/stats');
    expect(checked).toContain('/liff-api/:tenantId/cards/card');
  }, 120_000);

  it('counts only: registered, eligible, by kind and month', async () => {
    const r = JSON.parse((await call(tokens.pref, 'GET', '/api/v1/cards/stats')).text);
    const tsu = r.tenants.find((t: any) => t.tenantId === TSU);
    expect(tsu).toMatchObject({ registered: 3, eligible: 3, ineligible: 0, byKind: { children: 3 } });
    expect(tsu.byMonth.reduce((n: number, m: any) => n + m.registered, 0)).toBe(3);
    const muni = JSON.parse((await call(tokens.muni, 'GET', '/api/v1/cards/stats')).text);
    expect(muni.tenants.map((t: any) => t.tenantId)).toEqual([TSU]);
  });
});

describe('with カード利用者情報', () => {
  it('search, export and push, each audited without a name', async () => {
    const found = JSON.parse(
      (await call(tokens.holders, 'GET', `/api/v1/cards/tenants/${TSU}/holders?q=${encodeURIComponent('ＱＺＸ')}`))
        .text,
    );
    expect(found.total).toBe(1);
    expect(found.holders[0]).toMatchObject({ holderName: PLANTED, userId: people[0]!.userId });

    const csv = await call(tokens.holders, 'GET', `/api/v1/cards/tenants/${TSU}/holders.csv`);
    expect(csv.status).toBe(200);
    expect(csv.type).toContain('text/csv');
    expect(csv.text.startsWith('\uFEFFLINEユーザーID,カード対象者氏名')).toBe(true);
    expect(csv.text).toContain(PLANTED);
    expect(csv.text).toContain(`"'=HYPERLINK(""http://x"")"`);
    expect(csv.text.trim().split('\r\n')).toHaveLength(4);

    // people[0] is a friend; people[2] registered a card but is not a friend (blocked): skipped and counted
    const push = await call(tokens.holders, 'POST', `/api/v1/cards/tenants/${TSU}/push`, {
      userIds: [people[0]!.userId, people[2]!.userId, people[0]!.userId],
      text: '優待カードのお知らせ',
    });
    expect(push.status, push.text).toBe(200);
    const sent = JSON.parse(push.text);
    expect(sent).toMatchObject({ recipients: 2, audienceLabel: '指定した住民: カード利用者 (2人)' });
    // a delivery like any other: in delivery's list, with its outcome
    const d = await s.delivery!.waitFinished(TSU, sent.deliveryId, 30_000);
    expect(d).toMatchObject({
      status: 'done',
      targets: 1,
      skipped: 1,
      accepted: 1,
      failed: 0,
      sendMethod: 'multicast',
    });
    const listed = JSON.parse((await call(s.token, 'GET', `/api/v1/tenants/${TSU}/deliveries`)).text).deliveries;
    expect(listed.find((x: any) => x.id === sent.deliveryId)).toMatchObject({
      title: '優待カード利用者へのお知らせ',
      audienceLabel: '指定した住民: カード利用者 (2人)',
      status: 'done',
      targets: 1,
      accepted: 1,
    });
    // exactly one message for the friend, none for the one skipped
    const channelId = (await s.h.tenants.get(TSU))!.channelId;
    const pushed = async (userId: string) => {
      const res = await fetch(`${s.sandbox.url}/__sandbox/channels/${channelId}/receipts/${userId}`);
      const { receipts } = (await res.json()) as { receipts: Array<{ messages: Array<{ text?: string }> }> };
      return receipts.filter((x) => x.messages.some((m) => m.text === '優待カードのお知らせ')).length;
    };
    expect(await pushed(people[0]!.userId)).toBe(1);
    expect(await pushed(people[2]!.userId)).toBe(0);
    const notHolder = await call(tokens.holders, 'POST', `/api/v1/cards/tenants/${TSU}/push`, {
      userIds: [`U${'0'.repeat(32)}`],
      text: 'x',
    });
    expect(notHolder.status).toBe(400);

    const audit = JSON.parse((await call(s.token, 'GET', `/api/v1/audit?tenant=${TSU}&limit=100`)).text)
      .records as any[];
    const mine = audit.filter((a) => a.username === 'pref-cards');
    const detail = (a: any) => (typeof a.detail === 'string' ? JSON.parse(a.detail) : a.detail);
    expect(mine.find((a) => a.action === 'card_holders_viewed')).toBeTruthy();
    expect(detail(mine.find((a) => a.action === 'export'))).toMatchObject({ what: 'card_holders', rows: 3 });
    const send = mine.filter((a) => a.action === 'send');
    expect(send).toHaveLength(1);
    expect(send[0].target).toBe(sent.deliveryId);
    expect(detail(send[0])).toMatchObject({ what: 'card_holders_push', audience: 'users', recipients: 2 });
  });

  it('the planted name is in no ClickHouse table', async () => {
    const rs = await s.h.ch.query({
      query: 'SELECT name FROM system.tables WHERE database = currentDatabase()',
      format: 'JSONEachRow',
    });
    const tables = ((await rs.json()) as Array<{ name: string }>).map((t) => t.name);
    expect(tables).toContain('audit_log');
    for (const t of tables) {
      const r = await s.h.ch
        .query({ query: `SELECT * FROM \`${t}\` LIMIT 100000`, format: 'JSONEachRow' })
        .catch(() => undefined);
      if (!r) continue;
      expect(JSON.stringify(await r.json()), t).not.toContain('ＱＺＸ');
    }
  }, 60_000);
});
