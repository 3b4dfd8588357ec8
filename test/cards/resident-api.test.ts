/**
 * The card API through the LIFF frame with real sandbox ID tokens: registration validated in
 * Japanese with nothing half-saved, the card answer with eligibility, a resident only ever reaching
 * their own household (identity from the token, never a parameter), personal fields sealed in the
 * store, and the card still answering while Redis or ClickHouse is down.
 */
import { createClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardUnavailable } from '../../core/clickhouse.ts';
import { freePort } from '../../core/redis-server.ts';
import { residentCall, residentIdToken, type SandboxResident, sandboxResidents } from '../helpers/resident.ts';
import { type CardsSuite, startCardsSuite } from './cards-suite.ts';

const TSU = '24201';
const YOK = '24202';
let s: CardsSuite;
let people: SandboxResident[];
const tokens: string[] = [];

const household = (over: Record<string, unknown> = {}) => ({
  holderName: '県民 花子カード試験',
  relationship: '母',
  kind: 'children',
  children: [
    { name: '県民 一郎', birthDate: '2015-04-01' },
    { name: '県民 二郎', birthDate: '2019-08-10' },
  ],
  ...over,
});

beforeAll(async () => {
  s = await startCardsSuite('tayori-cards-api-');
  people = await sandboxResidents(s.url, TSU, 3);
  for (const p of people) tokens.push(await residentIdToken(s.url, TSU, p.userId));
}, 120_000);
afterAll(() => s?.close());

describe('registration', () => {
  it('refuses incomplete input with Japanese messages per field and stores nothing', async () => {
    const r = await residentCall(s.url, TSU, tokens[0], 'PUT', 'cards/household', {
      holderName: ' ',
      relationship: '',
      kind: 'children',
      children: [],
    });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_input');
    const fields = Object.fromEntries(r.body.error.details.map((d: any) => [d.field, d.message]));
    expect(fields).toMatchObject({
      holderName: 'カード対象者の氏名を入力してください',
      relationship: '続柄を入力してください',
      'children.0.name': '第1子の氏名と生年月日を入力してください',
    });
    const six = Array.from({ length: 6 }, (_, i) => ({ name: `子${i}`, birthDate: '2020-01-01' }));
    const many = await residentCall(s.url, TSU, tokens[0], 'PUT', 'cards/household', household({ children: six }));
    expect(many.status).toBe(400);
    expect(JSON.stringify(many.body)).toContain('5 人まで');
    const future = await residentCall(
      s.url,
      TSU,
      tokens[0],
      'PUT',
      'cards/household',
      household({
        children: [{ name: 'x', birthDate: '2999-01-01' }],
      }),
    );
    expect(future.status).toBe(400);
    expect((await residentCall(s.url, TSU, tokens[0], 'GET', 'cards/household')).body).toEqual({ household: null });
    expect((await residentCall(s.url, TSU, tokens[0], 'GET', 'cards/card')).body.registered).toBe(false);
  });

  it('registers, shows the card with the data, and seals every personal field in the store', async () => {
    const put = await residentCall(s.url, TSU, tokens[0], 'PUT', 'cards/household', household());
    expect(put.status).toBe(200);
    const card = await residentCall(s.url, TSU, tokens[0], 'GET', 'cards/card');
    expect(card.body).toMatchObject({
      registered: true,
      household: {
        holderName: '県民 花子カード試験',
        relationship: '母',
        children: [{ name: '県民 一郎' }, { name: '県民 二郎' }],
      },
      eligibility: { eligible: true, until: '2038-03-31' },
    });
    const raw = JSON.stringify([...s.cards.households.stored(TSU)]);
    for (const text of ['花子', '一郎', '母', '2015-04-01', 'children']) expect(raw).not.toContain(text);
  });

  it('a pregnant household registers without children', async () => {
    const r = await residentCall(
      s.url,
      TSU,
      tokens[1],
      'PUT',
      'cards/household',
      household({ holderName: '妊娠 世帯主', kind: 'pregnant', children: [] }),
    );
    expect(r.status).toBe(200);
    const card = await residentCall(s.url, TSU, tokens[1], 'GET', 'cards/card');
    expect(card.body.eligibility).toEqual({ eligible: true, until: null });
    expect(card.body.household.kindLabel).toBe('妊娠中の世帯');
  });
});

describe('eligibility on the card', () => {
  it('the card says why once the youngest child is past the 31 March after reaching 18', async () => {
    await residentCall(
      s.url,
      TSU,
      tokens[2],
      'PUT',
      'cards/household',
      household({
        children: [{ name: '年長', birthDate: '2008-04-01' }],
      }),
    );
    s.setNow(Date.parse('2026-03-31T14:59:59Z')); // 23:59:59 on 31 March in Tokyo
    expect((await residentCall(s.url, TSU, tokens[2], 'GET', 'cards/card')).body.eligibility.eligible).toBe(true);
    s.setNow(Date.parse('2026-03-31T15:00:00Z')); // 1 April in Tokyo
    const after = await residentCall(s.url, TSU, tokens[2], 'GET', 'cards/card');
    expect(after.body.eligibility).toMatchObject({ eligible: false, until: '2026-03-31' });
    expect(after.body.eligibility.reason).toContain('18 歳');
    s.setNow(undefined);
  });
});

describe("only the resident's own card", () => {
  it('another resident, another tenant and no token never get this household', async () => {
    const other = await residentCall(s.url, TSU, tokens[1], 'GET', 'cards/card');
    expect(JSON.stringify(other.body)).not.toContain('花子カード試験');
    // the same person's token for another municipality's channel is refused there and elsewhere
    const yok = await residentIdToken(s.url, YOK, (await sandboxResidents(s.url, YOK, 1))[0]!.userId);
    const cross = await residentCall(s.url, TSU, yok, 'GET', 'cards/card');
    expect(cross.status).toBe(401);
    expect((await residentCall(s.url, TSU, undefined, 'GET', 'cards/card')).status).toBe(401);
    // a user id in the query or body changes nothing
    const withParam = await residentCall(s.url, TSU, tokens[1], 'GET', `cards/card?userId=${people[0]!.userId}`);
    expect(JSON.stringify(withParam.body)).not.toContain('花子カード試験');
  });
});

describe('always available', () => {
  it('the card answers while Redis is down', async () => {
    await s.h.redis.server.stop();
    const r = await residentCall(s.url, TSU, tokens[0], 'GET', 'cards/card');
    expect(r.status).toBe(200);
    expect(r.body.household.holderName).toBe('県民 花子カード試験');
    const page = await fetch(`${s.url}/liff/${TSU}/cards/card`);
    expect(page.status).toBe(200);
  });

  it('the card answers while ClickHouse is unreachable', async () => {
    const ch = s.h.ch;
    const saved = { query: ch.query, insert: ch.insert, command: ch.command, exec: ch.exec };
    const dead = guardUnavailable(createClient({ url: `http://127.0.0.1:${await freePort()}`, request_timeout: 2000 }));
    Object.assign(ch, { query: dead.query, insert: dead.insert, command: dead.command, exec: dead.exec });
    try {
      // past the frame's tenant cache, so ClickHouse would be asked
      await new Promise((r) => setTimeout(r, 5200));
      const r = await residentCall(s.url, TSU, tokens[0], 'GET', 'cards/card');
      expect(r.status).toBe(200);
      expect(r.body.household.holderName).toBe('県民 花子カード試験');
      expect((await fetch(`${s.url}/liff/${TSU}/cards/card`)).status).toBe(200);
      expect((await residentCall(s.url, TSU, tokens[0], 'PUT', 'cards/household', household())).status).toBe(200);
    } finally {
      Object.assign(ch, saved);
      await dead.close();
    }
  }, 30_000);
});
