/**
 * The residents' mileage API end to end, through the real LIFF frame (core/resident): real sandbox
 * ID tokens verified by the frame, the scan of a staff-made session code (once per session; another
 * municipality's code refused in Japanese), the summary with its member number and progress, the
 * history, and the card pushed through the sandbox's Messaging API when the goal is reached.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorTokenAuth } from '../../core/auth.ts';
import { parseMemberNumber } from '../../core/check-digit.ts';
import { loadSecretBox } from '../../core/crypto.ts';
import { createHttpApp, type FastifyInstance } from '../../core/http.ts';
import { createLogger } from '../../core/logger.ts';
import { createResidentFrame } from '../../core/resident/index.ts';
import { addDays, tokyoToday } from '../../core/time.ts';
import { type AwardResult, createMileage, type Mileage, type ResidentSummary } from '../../mileage/index.ts';
import { type Harness, harness, stillResidents, waitFor } from '../helpers/index.ts';
import type { Ingest } from '../../ingest/index.ts';
import { mileageIngest, shipped } from './event-log.ts';
import { residentCall, residentIdToken, sandboxResidents } from '../helpers/resident.ts';

const TSU = '24201';
const YOK = '24202';
const OP = 'operator-token-resident-api';
const channelOf = (i: number) => `20000019${i}0`;
let h: Harness;
let app: FastifyInstance;
let mileage: Mileage;
let ingest: Ingest;
let url: string;

async function op<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${OP}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
}

/** A programme running today, one QR activity of `points`, and a session open now; its code. */
async function programmeWithSession(tenantId: string, points: number, goal: number): Promise<string> {
  const today = tokyoToday();
  const p = await op('POST', `/api/v1/mileage/tenants/${tenantId}/programmes`, {
    fiscalYear: 2026,
    name: `${tenantId} 健康マイレージ`,
    startsOn: addDays(today, -30),
    endsOn: addDays(today, 30),
    goalPoints: goal,
    cardValidMonths: 12,
  });
  expect(p.status).toBe(201);
  return newSessionCode(tenantId, p.body.programmeId, points);
}

async function newSessionCode(tenantId: string, programmeId: string, points: number): Promise<string> {
  const a = await op('POST', `/api/v1/mileage/tenants/${tenantId}/programmes/${programmeId}/activities`, {
    name: `イベント ${points} 点`,
    points,
    method: 'qr',
  });
  const now = Date.now();
  const s = await op('POST', `/api/v1/mileage/tenants/${tenantId}/sessions`, {
    programmeId,
    activityId: a.body.activityId,
    title: '健康教室',
    heldOn: tokyoToday(),
    validFrom: new Date(now - 3_600_000).toISOString(),
    validUntil: new Date(now + 3_600_000).toISOString(),
  });
  const c = await op('GET', `/api/v1/mileage/tenants/${tenantId}/sessions/${s.body.sessionId}/code`);
  expect(c.body.url).toContain('/mileage/scan?c=');
  return c.body.code as string;
}

beforeAll(async () => {
  h = await harness({
    prefix: 'tayori-mileage-resident-',
    redis: true,
    sandbox: {
      config: {
        channels: [1, 2].map((n) => ({
          channelId: channelOf(n),
          botUserId: `U${String(n).repeat(32)}`,
          channelSecret: `secret-19${n}`,
          channelAccessToken: `token-19${n}`,
          login: { channelId: `10000019${n}0`, channelSecret: `login-19${n}` },
          residents: stillResidents(10, 190 + n),
        })),
      },
    },
    tenants: [TSU, YOK].map((id, i) => ({
      id,
      name: ['津市', '四日市市'][i]!,
      kind: 'municipality' as const,
      channelId: channelOf(i + 1),
      credentials: 'sandbox' as const,
    })),
  });
  for (const [i, id] of [TSU, YOK].entries()) {
    await h.tenants.setLiff(id, { liffChannelId: `10000019${i + 1}0`, liffId: `10000019${i + 1}0-Mileage${i}` });
  }
  const logger = createLogger(process.env.TEST_LOG ?? 'silent');
  app = createHttpApp(logger);
  const endpoints = () => ({ line: 'http://127.0.0.1:9', sandbox: h.sandbox.url });
  const residents = createResidentFrame({ app, tenants: h.tenants, endpoints, publicUrl: () => url, assets: () => {} });
  ingest = await mileageIngest(h);
  mileage = createMileage({
    ch: h.ch,
    ingest,
    redis: h.redis.client,
    tenants: h.tenants,
    endpoints,
    logger,
    box: loadSecretBox(h.config, { create: true }),
    residents,
    publicUrl: 'https://tayori.example.jp',
  });
  await mileage.start();
  h.defer('mileage', () => mileage.stop());
  mileage.registerRoutes(app, operatorTokenAuth([OP]));
  mileage.registerResidentApi(residents);
  await app.listen({ port: 0, host: '127.0.0.1' });
  h.defer('app', () => app.close());
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}, 60_000);
afterAll(() => h?.close());

describe('the residents’ mileage API through the LIFF frame', () => {
  it('scans once per session, refuses another municipality’s code, and issues the card at the goal', async () => {
    const code = await programmeWithSession(TSU, 30, 60);
    const [r] = await sandboxResidents(url, TSU, 1);
    const token = await residentIdToken(url, TSU, r!.userId);

    expect((await residentCall(url, TSU, undefined, 'POST', 'mileage/scan', { code })).status).toBe(401);

    const first = await residentCall<AwardResult>(url, TSU, token, 'POST', 'mileage/scan', { code });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ awarded: true, points: 30, balance: 30, goal: 60 });
    expect(parseMemberNumber(first.body.memberNo)?.tenantId).toBe(TSU);
    const second = await residentCall<AwardResult>(url, TSU, token, 'POST', 'mileage/scan', { code });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ awarded: false, balance: 30 });

    const yokCode = await programmeWithSession(YOK, 10, 100);
    const foreign = await residentCall(url, TSU, token, 'POST', 'mileage/scan', { code: yokCode });
    expect(foreign.status).toBe(400);
    expect(foreign.body.error.code).toBe('code_foreign');
    expect(foreign.body.error.message).toContain('別の市町');
    const bad = await residentCall(url, TSU, token, 'POST', 'mileage/scan', { code: 'x' });
    expect(bad.status).toBe(400);

    const programmeId = (await op('GET', `/api/v1/mileage/programmes?tenant=${TSU}`)).body.programmes[0].programmeId;
    const goal = await residentCall<AwardResult>(url, TSU, token, 'POST', 'mileage/scan', {
      code: await newSessionCode(TSU, programmeId, 30),
    });
    expect(goal.body).toMatchObject({ awarded: true, balance: 60 });
    expect(goal.body.cardIssued).toMatchObject({ cardNo: first.body.memberNo, expired: false });

    const summary = await residentCall<ResidentSummary>(url, TSU, token, 'GET', 'mileage/summary');
    expect(summary.body).toMatchObject({ balance: 60, goal: 60, progress: 1, memberNo: first.body.memberNo });
    expect(summary.body.card?.cardNo).toBe(first.body.memberNo);
    // the history is the ledger's: the awards are there once the event log is shipped
    await shipped(ingest);
    const history = await residentCall(url, TSU, token, 'GET', 'mileage/history?limit=1&offset=0');
    expect(history.body).toMatchObject({ total: 2, limit: 1, offset: 0 });
    expect(history.body.entries).toHaveLength(1);
    const card = await residentCall(url, TSU, token, 'GET', 'mileage/card');
    expect(card.body).toMatchObject({ tenantName: '津市', memberNo: first.body.memberNo });

    // the card message, pushed to the resident through LINE's Messaging API (the sandbox)
    const pushed = await waitFor(
      async () => {
        const res = await fetch(`${h.sandbox.url}/__sandbox/channels/${channelOf(1)}/receipts/${r!.userId}`);
        const receipts = (
          (await res.json()) as {
            receipts: Array<{ kind: string; messages: Array<{ type: string; altText?: string }> }>;
          }
        ).receipts;
        return receipts.find((x) => x.kind === 'push');
      },
      10_000,
      'the card message',
    );
    expect(pushed.messages[0]).toMatchObject({ type: 'flex', altText: expect.stringContaining(first.body.memberNo) });
    // with the card's image (the public, signed link LINE fetches) and a button to the card's LIFF page
    const bubble = (pushed.messages[0] as unknown as { contents: Record<string, any> }).contents;
    expect(bubble.hero.url).toMatch(/^https:\/\/tayori\.example\.jp\/liff\/24201\/mileage\/card\.png\?k=/);
    // (a sandbox tenant's LIFF URL is the suite's own page, as the frame gives it)
    expect(bubble.footer.contents[0].action.uri).toMatch(/\/liff\/24201\/mileage\/card$/);
  });

  it('gives a first visitor a member number', async () => {
    const [, r] = await sandboxResidents(url, TSU, 2);
    const token = await residentIdToken(url, TSU, r!.userId);
    const s = await residentCall<ResidentSummary>(url, TSU, token, 'GET', 'mileage/summary');
    expect(s.status).toBe(200);
    expect(s.body).toMatchObject({ balance: 0, card: null });
    expect(parseMemberNumber(s.body.memberNo ?? '')?.tenantId).toBe(TSU);
  });
});
