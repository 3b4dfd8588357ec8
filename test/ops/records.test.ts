/**
 * ops/ records through the staff API (障害報告書, 対応履歴管理表, 運用課題管理表, 計画停止): history
 * kept field by field, the two-open-day answer figure and the incident report's due date on the
 * minutes' open-day calendar, the planned-stop banner from ten days ahead, bad input refused in
 * Japanese with nothing stored, municipalities kept out. The monthly availability from a month of
 * self-check results (down minutes, a gap, a planned stop counted apart), and reports' monthly
 * package with the 運用報告 workbook: 稼働率, 対応履歴管理表, 運用課題管理表 and their changes.
 */
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Authenticator, Principal } from '../../core/auth.ts';
import { createHttpApp } from '../../core/http.ts';
import { createLogger } from '../../core/logger.ts';
import { createMailer } from '../../core/mailer.ts';
import { chDateTime } from '../../core/time.ts';
import { createOps, type Ops } from '../../ops/index.ts';
import { isOpenDay } from '../../reports/due-date.ts';
import { buildMonthlyPackage } from '../../reports/documents/index.ts';
import { docxText, reportSources } from '../helpers/report-documents-fixtures.ts';
import { harness, type Harness } from '../helpers/index.ts';

const logger = createLogger('silent');
let h: Harness;
let ops: Ops;
let base: string;

const staff = (role: 'contractor' | 'prefecture' | 'municipality', manage: boolean): Principal => ({
  kind: 'staff',
  via: 'token',
  userId: role,
  username: `${role}-user`,
  displayName: role,
  role,
  tenantId: role === 'municipality' ? '24201' : null,
  permissions: manage ? ['manage_reports'] : [],
});
const callers: Record<string, Principal> = {
  itaku: staff('contractor', true),
  ken: staff('prefecture', false),
  tsu: staff('municipality', true),
};
const caller = (req: { headers: { authorization?: string } }) =>
  callers[(req.headers.authorization ?? '').replace(/^Bearer /, '')];
const auth: Authenticator = {
  identify: async (req) => caller(req),
  require: async (req) => caller(req) ?? Promise.reject(new Error('no caller')),
};

async function api<T = any>(method: string, p: string, body?: unknown, who = 'itaku') {
  const res = await fetch(base + p, {
    method,
    headers: { authorization: `Bearer ${who}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (res.status === 204 ? undefined : await res.json()) as T };
}

const MIN = 60_000;
/** 2026-04 in Tokyo: every minute checked up, but 60 minutes down, a 30-minute gap, a 2-hour planned stop. */
const APRIL = Date.parse('2026-03-31T15:00:00Z');
const DOWN = [Date.parse('2026-04-10T01:00:00Z'), Date.parse('2026-04-10T02:00:00Z')] as const;
const GAP = [Date.parse('2026-04-15T03:00:00Z'), Date.parse('2026-04-15T03:30:00Z')] as const;
const STOP = ['2026-04-20T01:00:00+09:00', '2026-04-20T03:00:00+09:00'] as const;

beforeAll(async () => {
  h = await harness({});
  ops = createOps({
    ch: h.ch,
    logger,
    mailer: createMailer({}),
    settings: {
      backupDir: `${h.dir}/backups`,
      backupTime: '03:00',
      keepDaily: 7,
      keepWeekly: 4,
      checkIntervalMs: 60_000,
      incidentAfterMs: 300_000,
    },
    sources: { readiness: async () => ({ status: 'ok', errors: {} }) },
    stores: [],
    isOpenDay,
    selfCheck: false,
  });
  const app = createHttpApp(logger, {});
  ops.registerRoutes(app, auth, ['m']);
  base = await h.serve(app);
  // a month of checks, written as the self-check writes them
  const rows: Array<{ checked_at: string; up: number; problems: string }> = [];
  const stop = [Date.parse(STOP[0]), Date.parse(STOP[1])];
  for (let t = APRIL; t < APRIL + 30 * 24 * 60 * MIN; t += MIN) {
    if ((t >= GAP[0] && t < GAP[1]) || (t >= stop[0]! && t < stop[1]!)) continue;
    const up = t >= DOWN[0] && t < DOWN[1] ? 0 : 1;
    rows.push({ checked_at: chDateTime(t + 7_000), up, problems: up ? '[]' : '[{"key":"part:redis"}]' });
  }
  await h.ch.insert({ table: 'ops_checks', values: rows, format: 'JSONEachRow' });
}, 120_000);
afterAll(() => h?.close());

describe('records', () => {
  it('対応履歴: the open days to an answer (weekends and holidays skipped), history field by field', async () => {
    const a = await api('POST', '/api/v1/ops/supports', {
      receivedAt: '2026-04-10T10:00:00+09:00', // Friday
      tenantId: '24201',
      inquirer: '津市 健康づくり課',
      content: '配信予約の取り消し方法',
    });
    expect(a.status).toBe(201);
    expect(a.body.no).toBe(1);
    const answered = await api('PATCH', `/api/v1/ops/supports/${a.body.id}`, {
      responder: '佐藤',
      response: '配信一覧から取り消せます',
      answeredAt: '2026-04-14T09:00:00+09:00', // Tuesday: two open days
      note: '回答',
    });
    expect(answered.status).toBe(200);
    const b = await api('POST', '/api/v1/ops/supports', {
      receivedAt: '2026-04-28T10:00:00+09:00', // Tuesday before 昭和の日 and the May holidays
      inquirer: '県 健康推進課',
      content: '月次報告の数値',
      answeredAt: '2026-05-07T09:00:00+09:00', // three open days later
    });
    expect(b.status).toBe(201);
    const history = (await api('GET', `/api/v1/ops/supports/${a.body.id}/history`)).body.history;
    expect(history.map((e: { action: string }) => e.action)).toEqual(['created', 'updated']);
    expect(history[1].changes).toEqual([
      { field: 'responder', label: '対応者', from: '', to: '佐藤' },
      { field: 'response', label: '回答内容', from: '', to: '配信一覧から取り消せます' },
      { field: 'answeredAt', label: '回答日時', from: null, to: '2026-04-14T09:00:00+09:00' },
    ]);
    expect(history[1].note).toBe('回答');
    expect(history[1].changedBy).toBe('contractor-user');
  });

  it('運用課題 and 障害報告書: changes kept; the report due five open days after recovery, in Word', async () => {
    const issue = await api('POST', '/api/v1/ops/issues', {
      raisedOn: '2026-04-02',
      title: '夜間の応答遅延',
      owner: '佐藤',
    });
    expect(issue.status).toBe(201);
    expect((await api('PATCH', `/api/v1/ops/issues/${issue.body.id}`, { status: '対応中' })).status).toBe(200);
    const closed = await api('PATCH', `/api/v1/ops/issues/${issue.body.id}`, {
      status: '完了',
      resolvedOn: '2026-04-20',
    });
    expect(closed.body).toMatchObject({ status: '完了', resolvedOn: '2026-04-20', no: 1 });
    const issueHistory = (await api('GET', `/api/v1/ops/issues/${issue.body.id}/history`)).body.history;
    expect(issueHistory[2].changes.map((c: { label: string }) => c.label)).toEqual(['状況', '完了日']);

    const incident = await api('POST', '/api/v1/ops/incidents', {
      title: '配信の遅延',
      detectedAt: '2026-04-24T09:00:00+09:00',
      recoveredAt: '2026-04-24T12:00:00+09:00', // Friday; 4/29 and 5/2–5/6 are closed
      impact: '津市の配信が 3 時間遅れた',
      cause: 'LINE の一時的な障害',
    });
    expect(incident.status).toBe(201);
    expect(incident.body.source).toBe('職員');
    const res = await fetch(`${base}/api/v1/ops/incidents/${incident.body.id}/report.docx`, {
      headers: { authorization: 'Bearer ken' },
    });
    expect(res.status).toBe(200);
    const text = docxText(Buffer.from(await res.arrayBuffer()));
    expect(text).toContain('障害報告書 (No.1)');
    expect(text).toContain('提出期限: 令和8年5月7日');
    expect(text).toContain('津市の配信が 3 時間遅れた');
    expect(text).toContain('再発防止策');
  });

  it('planned stops: the banner from ten days ahead; a stop that ends before it starts is refused', async () => {
    const at = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
    const soon = await api('POST', '/api/v1/ops/stops', { startsAt: at(5), endsAt: at(5.1), reason: 'サーバーの更新' });
    expect(soon.status).toBe(201);
    expect(
      (await api('POST', '/api/v1/ops/stops', { startsAt: at(20), endsAt: at(20.1), reason: '先の更新' })).status,
    ).toBe(201);
    expect(
      (await api('POST', '/api/v1/ops/stops', { startsAt: STOP[0], endsAt: STOP[1], reason: '4月の定期保守' })).status,
    ).toBe(201);
    const status = (await api('GET', '/api/v1/ops/status', undefined, 'ken')).body;
    expect(status.upcomingStops.map((s: { reason: string }) => s.reason)).toEqual(['サーバーの更新']);
    const bad = await api('POST', '/api/v1/ops/stops', { startsAt: at(3), endsAt: at(2), reason: 'x' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_ops_record');
    expect(bad.body.error.message).toContain('終了日時は開始日時より後にしてください');
  });

  it('bad input: 400 in Japanese, nothing stored; reads for 県, changes need 帳票の管理; municipalities kept out', async () => {
    const before = (await api('GET', '/api/v1/ops/supports')).body.supports.length;
    const bad = await api('POST', '/api/v1/ops/supports', { receivedAt: '昨日', inquirer: '' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_ops_record');
    expect(bad.body.error.message).toMatch(/[\u3040-\u30ff\u4e00-\u9fff]/);
    expect((await api('GET', '/api/v1/ops/supports')).body.supports).toHaveLength(before);
    expect((await api('GET', '/api/v1/ops/supports', undefined, 'ken')).status).toBe(200);
    expect((await api('POST', '/api/v1/ops/issues', { raisedOn: '2026-04-02', title: 'x' }, 'ken')).status).toBe(403);
    expect((await api('GET', '/api/v1/ops/supports', undefined, 'tsu')).status).toBe(403);
    expect((await api('GET', '/api/v1/ops/backups', undefined, 'itaku')).status).toBe(403); // 管理者 only
    expect((await api('GET', '/api/v1/ops/issues/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });
});

describe('availability and the monthly package', () => {
  it("April's availability: down minutes and a gap count, the planned stop is apart", async () => {
    const a = (await api('GET', '/api/v1/ops/availability?month=2026-04', undefined, 'ken')).body;
    // 30 days of minutes, the 120-minute stop apart; 60 down, and the gap's 30 less the two a late check may cover
    expect(a).toMatchObject({ month: '2026-04', measuredMinutes: 43_200 - 120, plannedMinutes: 120, downMinutes: 88 });
    expect(a.upMinutes).toBe(43_080 - 88);
    expect(a.percent).toBe(Math.floor(((43_080 - 88) / 43_080) * 10_000) / 100);
    expect(a).toMatchObject({ target: 99, met: true });
    expect((await api('GET', '/api/v1/ops/availability?month=2026-13', undefined, 'ken')).status).toBe(400);
  });

  it('the monthly package holds the 運用報告 workbook: 稼働率, 対応履歴管理表, 運用課題管理表 and the changes', async () => {
    const src = await reportSources(h);
    const files = await buildMonthlyPackage({ ...src, contributors: [ops.monthlyContributor] }, '2026-04', {
      now: new Date('2026-05-01T00:00:00Z'),
    });
    const file = files.find((f) => f.kind === 'ops-xlsx')!;
    expect(file.fileName).toBe('2026-04_運用報告.xlsx');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(file.bytes as unknown as ArrayBuffer);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['稼働率', '対応履歴管理表', '運用課題管理表', '変更履歴']);
    const rows = (name: string) =>
      (wb.getWorksheet(name)!.getSheetValues() as unknown[][]).filter(Boolean).map((r) => r.slice(1));
    const avail = rows('稼働率');
    const figure = avail.find((r) => r[0] === '稼働率')!;
    expect(figure[1]).toBe(Math.floor(((43_080 - 88) / 43_080) * 10_000) / 100);
    expect(String(figure[3])).toContain('目標 99% 以上 — 達成');
    expect(avail.find((r) => r[0] === '計画停止の時間')![1]).toBe(120);
    expect(avail.some((r) => r[0] === '計画停止' && String(r[3]).includes('4月の定期保守'))).toBe(true);
    expect(avail.some((r) => r[0] === '障害 No.1')).toBe(true);

    const support = rows('対応履歴管理表');
    expect(String(support[1]![0])).toContain('受付 2 件、回答済み 2 件、うち 2 開庁日以内 1 件');
    const lines = support.filter((r) => typeof r[0] === 'number');
    expect(lines.map((r) => [r[0], r[3], r[9], r[10]])).toEqual([
      [1, '津市 健康づくり課', 2, '○'],
      [2, '県 健康推進課', 3, '×'],
    ]);
    const issues = rows('運用課題管理表').filter((r) => typeof r[0] === 'number');
    expect(issues.map((r) => [r[0], r[2], r[6]])).toEqual([[1, '夜間の応答遅延', '完了']]);
    const changes = rows('変更履歴').filter((r) => r[0] === '運用課題管理表' && r[4] === '変更');
    expect(changes.map((r) => [r[5], r[6], r[7]])).toEqual([
      ['状況', '未着手', '対応中'],
      ['状況', '対応中', '完了'],
      ['完了日', '—', '2026-04-20'],
    ]);
  }, 120_000);
});
