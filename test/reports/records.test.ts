import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Suite } from '../../cli/suite.ts';
import { harness, type Harness } from '../helpers/index.ts';

// Minutes (議事録) and the issue log (課題管理表) through the running suite's API, stored in the
// embedded ClickHouse engine.
let h: Harness;
let suite: Suite;

beforeAll(async () => {
  h = await harness({ clickhouse: false });
  suite = await h.startSuite({ demo: true });
});
afterAll(() => h?.close());

const call =
  (token: string) =>
  async <T = Record<string, unknown>>(
    method: string,
    p: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> => {
    const res = await fetch(suite.url + p, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as T };
  };
const api = <T = Record<string, unknown>>(method: string, p: string, body?: unknown) =>
  call(suite.token)<T>(method, p, body);

type Minutes = Record<string, unknown> & { id: string; version: number; status: string; tenantIds: string[] };
type Issue = Record<string, unknown> & {
  id: string;
  no: number;
  version: number;
  status: string;
  resolvedOn: string | null;
};
type History = {
  history: Array<{
    version: number;
    action: string;
    changedBy: string;
    changes?: Array<{ field: string; label: string; from: unknown; to: unknown }>;
    note?: string;
    record: Record<string, unknown>;
  }>;
};

const meeting = {
  heldAt: '2026-04-15T14:00',
  endedAt: '2026-04-15T15:30',
  kind: '定例会',
  title: '第1回 定例会',
  place: 'web会議',
  tenantIds: ['24000', '24201'],
  attendees: [
    { organization: '三重県 健康推進課', name: '山田 花子' },
    { organization: '受託者', name: '佐藤 一郎' },
  ],
  agenda: ['友だち登録数の推移', '5月の配信計画'],
  discussion: '津市の登録者数は前月比で増加。ブロック率は横ばい。',
  decisions: ['5月は健康ポイントの案内を配信する'],
  actionItems: [{ task: '配信原稿の作成', owner: '佐藤', due: '2026-04-30' }],
};

describe('議事録 (minutes) API', () => {
  let created: Minutes;

  it("creates a draft, with the meeting in Tokyo time and the month's due date", async () => {
    const r = await api<Minutes>('POST', '/api/v1/minutes', meeting);
    expect(r.status).toBe(201);
    created = r.body;
    expect(created).toMatchObject({
      heldAt: '2026-04-15T14:00:00+09:00',
      endedAt: '2026-04-15T15:30:00+09:00',
      kind: '定例会',
      status: 'draft',
      statusLabel: '下書き',
      tenantIds: ['24000', '24201'],
      agenda: meeting.agenda,
      decisions: meeting.decisions,
      actionItems: meeting.actionItems,
      attendees: meeting.attendees,
      createdBy: 'operator',
      reportMonth: '2026-04',
      reportDue: '2026-05-11',
    });
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    const got = await api<Minutes>('GET', `/api/v1/minutes/${created.id}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(created);
  });

  it('lists by month (Tokyo), tenant and status', async () => {
    // 2026-04-30 23:30 in Tokyo is still April, though it is April 30 14:30 UTC; May 1 00:30 Tokyo is May
    const late = await api<Minutes>('POST', '/api/v1/minutes', {
      heldAt: '2026-04-30T23:30',
      kind: '個別検討会議',
      title: '津市 個別検討',
      tenantIds: ['24201'],
    });
    const may = await api<Minutes>('POST', '/api/v1/minutes', {
      heldAt: '2026-05-01T00:30',
      kind: '研修',
      title: '操作研修',
      tenantIds: ['24202'],
    });
    expect(late.status).toBe(201);
    expect(may.status).toBe(201);
    const april = await api<{ minutes: Minutes[] }>('GET', '/api/v1/minutes?month=2026-04');
    expect(april.body.minutes.map((m) => m.id)).toEqual([created.id, late.body.id]);
    const tsu = await api<{ minutes: Minutes[] }>('GET', '/api/v1/minutes?tenant=24201');
    expect(tsu.body.minutes.map((m) => m.id)).toEqual([created.id, late.body.id]);
    const mayList = await api<{ minutes: Minutes[] }>('GET', '/api/v1/minutes?month=2026-05');
    expect(mayList.body.minutes.map((m) => m.title)).toEqual(['操作研修']);
    expect(mayList.body.minutes[0]).toMatchObject({ reportMonth: '2026-05', reportDue: '2026-06-10' });
  });

  it('edits a draft, then approves it; approved minutes are frozen until reopened', async () => {
    const edited = await api<Minutes>('PATCH', `/api/v1/minutes/${created.id}`, {
      decisions: ['5月は健康ポイントの案内を配信する', '6月に研修を行う'],
      version: created.version,
    });
    expect(edited.status).toBe(200);
    expect(edited.body.decisions).toHaveLength(2);
    expect(edited.body.title).toBe(meeting.title); // untouched fields stay
    expect(edited.body.version).toBeGreaterThan(created.version);

    // a change made on the old version is refused
    const stale = await api('PATCH', `/api/v1/minutes/${created.id}`, {
      title: '古い版からの変更',
      version: created.version,
    });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ error: { code: 'stale_version' } });

    const approved = await api<Minutes>('POST', `/api/v1/minutes/${created.id}/approve`, {});
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: 'approved', statusLabel: '承認済み', approvedBy: 'operator' });
    expect(approved.body.approvedAt).toMatch(/\+09:00$/);

    const frozen = await api('PATCH', `/api/v1/minutes/${created.id}`, { title: '変更' });
    expect(frozen.status).toBe(409);
    expect(frozen.body).toMatchObject({
      error: { code: 'minutes_approved', message: expect.stringContaining('承認済み') },
    });
    expect((await api('POST', `/api/v1/minutes/${created.id}/approve`, {})).status).toBe(409);
    expect((await api('DELETE', `/api/v1/minutes/${created.id}`)).status).toBe(409);

    const reopened = await api<Minutes>('POST', `/api/v1/minutes/${created.id}/reopen`, {});
    expect(reopened.body).toMatchObject({ status: 'draft', approvedBy: '', approvedAt: null });
    const again = await api<Minutes>('POST', `/api/v1/minutes/${created.id}/approve`, {});
    expect(again.body.status).toBe('approved');

    const h = await api<History>('GET', `/api/v1/minutes/${created.id}/history`);
    expect(h.body.history.map((e) => e.action)).toEqual(['created', 'updated', 'approved', 'reopened', 'approved']);
    expect(h.body.history[0]!.record.decisions).toHaveLength(1);
    expect(h.body.history[1]!.record.decisions).toHaveLength(2);
  });

  it('deletes a draft', async () => {
    const d = await api<Minutes>('POST', '/api/v1/minutes', {
      heldAt: '2026-06-01T10:00',
      kind: 'その他',
      title: '消す議事録',
    });
    expect((await api('DELETE', `/api/v1/minutes/${d.body.id}`)).status).toBe(200);
    expect((await api('GET', `/api/v1/minutes/${d.body.id}`)).status).toBe(404);
    expect((await api<{ minutes: Minutes[] }>('GET', '/api/v1/minutes?month=2026-06')).body.minutes).toEqual([]);
  });

  it('refuses bad input with field-level Japanese messages, and writes nothing', async () => {
    const before = (await api<{ minutes: Minutes[] }>('GET', '/api/v1/minutes')).body.minutes.length;
    const bad = await api<{
      error: { code: string; message: string; details: Array<{ field: string; message: string }> };
    }>('POST', '/api/v1/minutes', {
      heldAt: '2026-02-30T10:00',
      kind: '懇親会',
      title: '',
      tenantIds: ['123'],
      actionItems: [{ task: 'x', owner: '', due: '2026/05/01' }],
      extra: 1,
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_minutes');
    const fields = bad.body.error.details.map((d) => d.field);
    expect(fields).toEqual(
      expect.arrayContaining(['heldAt', 'kind', 'title', 'tenantIds.0', 'actionItems.0.owner', 'actionItems.0.due']),
    );
    expect(bad.body.error.message).toMatch(/種別は 定例会・個別検討会議・研修・その他/);
    expect(bad.body.error.message).toMatch(/件名を入力してください/);

    const ended = await api('POST', '/api/v1/minutes', {
      heldAt: '2026-04-01T10:00',
      endedAt: '2026-04-01T09:00',
      kind: '研修',
      title: 't',
    });
    expect(ended.status).toBe(400);
    expect(ended.body).toMatchObject({
      error: { code: 'invalid_minutes', message: expect.stringContaining('終了日時') },
    });
    const unknown = await api('POST', '/api/v1/minutes', {
      heldAt: '2026-04-01T10:00',
      kind: '研修',
      title: 't',
      tenantIds: ['24999'],
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ error: { message: expect.stringContaining('24999') } });

    expect((await api('GET', '/api/v1/minutes/not-a-uuid')).status).toBe(400);
    expect((await api('GET', '/api/v1/minutes/00000000-0000-4000-8000-000000000000')).body).toMatchObject({
      error: { code: 'minutes_not_found' },
    });
    expect((await api('GET', '/api/v1/minutes?month=2026-13')).status).toBe(400);
    expect((await api<{ minutes: Minutes[] }>('GET', '/api/v1/minutes')).body.minutes.length).toBe(before);
  });
});

describe('課題管理表 (issue log) API', () => {
  let first: Issue;

  it('raises issues with consecutive Nos.', async () => {
    const a = await api<Issue>('POST', '/api/v1/issues', {
      tenantId: '24201',
      raisedOn: '2026-04-03',
      category: '友だち登録',
      description: '登録者数が伸び悩んでいる',
      owner: '佐藤',
      dueOn: '2026-04-30',
    });
    expect(a.status).toBe(201);
    first = a.body;
    expect(first).toMatchObject({
      tenantId: '24201',
      raisedOn: '2026-04-03',
      status: '未着手',
      response: '',
      resolvedOn: null,
      dueOn: '2026-04-30',
      createdBy: 'operator',
    });
    const b = await api<Issue>('POST', '/api/v1/issues', {
      tenantId: '24202',
      raisedOn: '2026-04-10',
      category: '配信',
      description: 'リッチメニューの表示崩れ',
    });
    expect(b.body.no).toBe(first.no + 1);
    expect((await api<Issue>('GET', `/api/v1/issues/${first.id}`)).body).toEqual(first);
  });

  it('keeps every change: the history shows what changed, who changed it and why', async () => {
    const s1 = await api<Issue>('PATCH', `/api/v1/issues/${first.id}`, {
      status: '対応中',
      response: 'ポスター掲示を提案',
      note: '定例会で協議',
      version: first.version,
    });
    expect(s1.status).toBe(200);
    expect(s1.body).toMatchObject({ status: '対応中', resolvedOn: null });
    // 完了 without a day gets today's; with one, that day
    const s2 = await api<Issue>('PATCH', `/api/v1/issues/${first.id}`, { status: '完了', resolvedOn: '2026-04-25' });
    expect(s2.body).toMatchObject({ status: '完了', resolvedOn: '2026-04-25' });
    // an unchanged value makes no new version
    const same = await api<Issue>('PATCH', `/api/v1/issues/${first.id}`, { status: '完了' });
    expect(same.body.version).toBe(s2.body.version);
    // back to 対応中: the resolution day goes
    const s3 = await api<Issue>('PATCH', `/api/v1/issues/${first.id}`, { status: '対応中', note: '再発' });
    expect(s3.body.resolvedOn).toBeNull();

    const h = await api<History & { no: number }>('GET', `/api/v1/issues/${first.id}/history`);
    expect(h.status).toBe(200);
    expect(h.body.no).toBe(first.no);
    expect(h.body.history.map((e) => e.action)).toEqual(['created', 'updated', 'updated', 'updated']);
    expect(h.body.history[1]).toMatchObject({
      changedBy: 'operator',
      note: '定例会で協議',
      changes: [
        { field: 'response', label: '対応内容', from: '', to: 'ポスター掲示を提案' },
        { field: 'status', label: '状況', from: '未着手', to: '対応中' },
      ],
    });
    expect(h.body.history[2]!.changes).toEqual([
      { field: 'status', label: '状況', from: '対応中', to: '完了' },
      { field: 'resolvedOn', label: '完了日', from: null, to: '2026-04-25' },
    ]);
    expect(h.body.history[3]!.changes!.map((c) => c.field)).toEqual(['status', 'resolvedOn']);
    expect(h.body.history.map((e) => e.record.status)).toEqual(['未着手', '対応中', '完了', '対応中']);
    const versions = h.body.history.map((e) => e.version);
    expect([...versions].sort((x, y) => x - y)).toEqual(versions);

    const stale = await api('PATCH', `/api/v1/issues/${first.id}`, { owner: '別の人', version: first.version });
    expect(stale.status).toBe(409);
  });

  it("lists the log by No., by tenant, status, and a month's log (raised by its end, open at its start)", async () => {
    const march = await api<Issue>('POST', '/api/v1/issues', {
      tenantId: '24000',
      raisedOn: '2026-03-05',
      category: '運用',
      description: '3月に解決した課題',
      status: '完了',
      resolvedOn: '2026-03-20',
    });
    expect(march.status).toBe(201);
    const all = (await api<{ issues: Issue[] }>('GET', '/api/v1/issues')).body.issues;
    expect(all.map((i) => i.no)).toEqual([...all.map((i) => i.no)].sort((x, y) => x - y));
    expect(all).toHaveLength(3);
    const april = (await api<{ issues: Issue[] }>('GET', '/api/v1/issues?month=2026-04')).body.issues;
    expect(april.map((i) => i.id)).not.toContain(march.body.id);
    expect(april).toHaveLength(2);
    const marchLog = (await api<{ issues: Issue[] }>('GET', '/api/v1/issues?month=2026-03')).body.issues;
    expect(marchLog.map((i) => i.id)).toEqual([march.body.id]);
    expect(
      (await api<{ issues: Issue[] }>('GET', '/api/v1/issues?tenant=24202')).body.issues.map((i) => i.tenantId),
    ).toEqual(['24202']);
    expect(
      (await api<{ issues: Issue[] }>('GET', `/api/v1/issues?status=${encodeURIComponent('完了')}`)).body.issues.map(
        (i) => i.id,
      ),
    ).toEqual([march.body.id]);
  });

  it('refuses bad input in Japanese', async () => {
    const bad = await api<{ error: { code: string; message: string; details: Array<{ field: string }> } }>(
      'POST',
      '/api/v1/issues',
      {
        tenantId: '24',
        category: '',
        description: '',
        status: '保留',
        dueOn: '2026-02-31',
      },
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_issue');
    expect(bad.body.error.details.map((d) => d.field).sort()).toEqual([
      'category',
      'description',
      'dueOn',
      'status',
      'tenantId',
    ]);
    expect(bad.body.error.message).toMatch(/状況は 未着手・対応中・完了 のいずれかです/);
    const resolvedOpen = await api('POST', '/api/v1/issues', {
      tenantId: '24201',
      category: 'x',
      description: 'y',
      resolvedOn: '2026-04-01',
    });
    expect(resolvedOpen.status).toBe(400);
    expect(resolvedOpen.body).toMatchObject({ error: { message: expect.stringContaining('完了') } });
    const early = await api('POST', '/api/v1/issues', {
      tenantId: '24201',
      raisedOn: '2026-04-10',
      category: 'x',
      description: 'y',
      status: '完了',
      resolvedOn: '2026-04-01',
    });
    expect(early.status).toBe(400);
    expect((await api('PATCH', `/api/v1/issues/${first.id}`, { tenantId: '24999' })).status).toBe(400);
  });

  it('deletes an entry from the log, keeping its history', async () => {
    const d = await api<Issue>('POST', '/api/v1/issues', {
      tenantId: '24201',
      category: '誤登録',
      description: '消す課題',
    });
    expect((await api('DELETE', `/api/v1/issues/${d.body.id}`)).status).toBe(200);
    expect((await api('GET', `/api/v1/issues/${d.body.id}`)).status).toBe(404);
    expect((await api<{ issues: Issue[] }>('GET', '/api/v1/issues')).body.issues.map((i) => i.id)).not.toContain(
      d.body.id,
    );
    // a No. is never given twice
    const next = await api<Issue>('POST', '/api/v1/issues', {
      tenantId: '24201',
      category: '運用',
      description: '次の課題',
    });
    expect(next.body.no).toBe(d.body.no + 1);
  });

  it('writes each change once: the current row comes from the history row in the same INSERT', async () => {
    const c = await api<Issue>('POST', '/api/v1/issues', {
      tenantId: '24201',
      category: '運用',
      description: '一度だけ書く',
    });
    await api('PATCH', `/api/v1/issues/${c.body.id}`, { status: '対応中', note: '着手' });
    await api('DELETE', `/api/v1/issues/${c.body.id}`);
    const rows = async (table: string) =>
      await (
        await suite.ch.query({
          query: `SELECT version, ${table === 'report_issues' ? 'is_deleted, status' : "action = 'deleted' AS is_deleted, JSONExtractString(record, 'status') AS status"} FROM ${table} WHERE issue_id = {id:String} ORDER BY version`,
          query_params: { id: c.body.id },
          format: 'JSONEachRow',
        })
      ).json<Record<string, unknown>>();
    const history = await rows('report_issues_history');
    expect(history.map((r) => [r.status, Number(r.is_deleted)])).toEqual([
      ['未着手', 0],
      ['対応中', 0],
      ['対応中', 1],
    ]);
    // background merges may have collapsed older current rows; every one left is a history row, and the last is there
    const current = await rows('report_issues');
    expect(current.length).toBeGreaterThan(0);
    for (const r of current) expect(history).toContainEqual(r);
    expect(current.at(-1)).toEqual(history.at(-1));
  });
});

describe('who may see and change records', () => {
  const tokenFor = async (username: string, role: string, tenantId: string | null, permissions: string[]) => {
    const created = await api('POST', '/api/v1/users', {
      username,
      role,
      ...(tenantId ? { tenantId } : {}),
      password: 'a-long-passphrase-for-tests',
      permissions,
    });
    expect(created.status).toBe(201);
    return (await api<{ token: string }>('POST', `/api/v1/users/${username}/tokens`, {})).body.token;
  };

  it('keeps a municipality account to its own tenant, and needs 帳票の管理 to change', async () => {
    const tsu = call(await tokenFor('tsu-reports', 'municipality', '24201', ['manage_reports']));
    const yokkaichi = call(await tokenFor('yokkaichi-reader', 'municipality', '24202', []));

    // Tsu sees the minutes that concern Tsu only
    const minutes = (await tsu<{ minutes: Minutes[] }>('GET', '/api/v1/minutes')).body.minutes;
    expect(minutes.length).toBeGreaterThan(0);
    expect(minutes.every((m) => m.tenantIds.includes('24201'))).toBe(true);
    expect((await tsu('GET', '/api/v1/minutes?tenant=24202')).status).toBe(403);
    const trainings = (await api<{ minutes: Minutes[] }>('GET', '/api/v1/minutes?month=2026-05')).body.minutes;
    expect((await tsu('GET', `/api/v1/minutes/${trainings[0]!.id}`)).status).toBe(404);

    // and records for Tsu only
    const own = await tsu<Minutes>('POST', '/api/v1/minutes', {
      heldAt: '2026-04-20T10:00',
      kind: '個別検討会議',
      title: '津市内の打合せ',
      tenantIds: ['24201'],
    });
    expect(own.status).toBe(201);
    expect(own.body.createdBy).toBe('tsu-reports');
    expect(
      (
        await tsu('POST', '/api/v1/minutes', {
          heldAt: '2026-04-20T10:00',
          kind: 'その他',
          title: 'x',
          tenantIds: ['24202'],
        })
      ).status,
    ).toBe(403);
    expect(
      (await tsu('POST', '/api/v1/minutes', { heldAt: '2026-04-20T10:00', kind: 'その他', title: 'x' })).status,
    ).toBe(400);

    const issues = (await tsu<{ issues: Issue[] }>('GET', '/api/v1/issues')).body.issues;
    expect(issues.length).toBeGreaterThan(0);
    expect(issues.every((i) => i.tenantId === '24201')).toBe(true);
    const other = (await api<{ issues: Issue[] }>('GET', '/api/v1/issues?tenant=24202')).body.issues[0]!;
    expect((await tsu('GET', `/api/v1/issues/${other.id}`)).status).toBe(404);
    expect((await tsu('PATCH', `/api/v1/issues/${other.id}`, { status: '完了' })).status).toBe(404);
    expect((await tsu('POST', '/api/v1/issues', { tenantId: '24202', category: 'x', description: 'y' })).status).toBe(
      403,
    );
    const mine = await tsu<Issue>('POST', '/api/v1/issues', {
      tenantId: '24201',
      category: '配信',
      description: '津市からの課題',
    });
    expect(mine.status).toBe(201);
    expect((await tsu('PATCH', `/api/v1/issues/${mine.body.id}`, { tenantId: '24202' })).status).toBe(403);

    // Yokkaichi without 帳票の管理 reads its own, changes nothing
    expect((await yokkaichi('GET', '/api/v1/issues')).status).toBe(200);
    const denied = await yokkaichi('POST', '/api/v1/issues', { tenantId: '24202', category: 'x', description: 'y' });
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ error: { code: 'forbidden', message: expect.stringContaining('帳票の管理') } });
  });

  it("lets the prefecture read every tenant's records", async () => {
    const pref = call(await tokenFor('pref-reader', 'prefecture', null, ['manage_reports']));
    const all = (await pref<{ issues: Issue[] }>('GET', '/api/v1/issues')).body.issues;
    expect(new Set(all.map((i) => i.tenantId))).toEqual(new Set(['24000', '24201', '24202']));
  });

  it('refuses anonymous callers', async () => {
    const res = await fetch(`${suite.url}/api/v1/issues`);
    expect(res.status).toBe(401);
  });
});
