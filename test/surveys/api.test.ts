/**
 * Surveys through the staff API and the residents' API on real parts: building (types, その他,
 * branching checked to point forward to existing questions), the edit rules after the first answer,
 * the answer window, one answer per resident (changeable, resumed when partial), the pseudonymous
 * key of anonymous surveys, results and the cross-tab against a direct count (groups under 5 → null),
 * permissions, the audit log and the delivery draft with the 「回答する」 message.
 */
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CrossTab, ResidentSurvey, Survey, SurveyResults } from '../../surveys/index.ts';
import { OP, sampleSurvey, type SurveysWorld, surveysWorld, T, TSU, user, YOKKAICHI } from './fixtures.ts';

let w: SurveysWorld;
beforeAll(async () => {
  w = await surveysWorld();
}, 60_000);
afterAll(() => w?.h.close());

const path = `/api/v1/surveys/tenants/${TSU}/surveys`;
type Err = { error: { code: string; message: string } };

async function create(over: Record<string, unknown> = {}): Promise<Survey> {
  const r = await w.call<Survey>(T.tsuDeliver, 'POST', path, sampleSurvey(over));
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body;
}
const answer = (userId: string, s: Survey, answers: Record<string, unknown>, partial = false) =>
  w.asResident<{ saved: boolean }>(
    userId,
    'PUT',
    'surveys/:surveyId/answer',
    { answers, partial },
    { surveyId: s.surveyId },
  );
const view = (userId: string, s: Survey) =>
  w.asResident<ResidentSurvey>(userId, 'GET', 'surveys/:surveyId', undefined, { surveyId: s.surveyId });
const one = (id: string) => ({ choices: [id], text: '' });
async function rows(sql: string, params: Record<string, unknown> = {}) {
  const rs = await w.h.ch.query({ query: sql, query_params: params, format: 'JSONEachRow' });
  return (await rs.json()) as Array<Record<string, unknown>>;
}

describe('building a survey', () => {
  it('stores every question type with ids, options, その他 and a forward branch', async () => {
    const s = await create();
    expect(s.questions.map((q) => q.type)).toEqual([
      'single',
      'single',
      'text',
      'multiple',
      'number',
      'date',
      'rating',
    ]);
    expect(s.questions[0]!.options).toEqual([
      { id: 'o1', label: 'はい' },
      { id: 'o2', label: 'いいえ' },
    ]);
    expect(s.questions[0]!.branches).toEqual([{ option: 'o2', goTo: 'media' }]);
    const again = await w.call<Survey>(T.tsuReader, 'GET', `${path}/${s.surveyId}`);
    expect(again.status).toBe(200);
    expect(again.body.answerRows).toBe(0);
  });

  it('refuses a branch backwards, to a missing question, or on a free-text question, in Japanese', async () => {
    const back = sampleSurvey();
    back.questions[3] = {
      ...back.questions[3]!,
      type: 'single',
      other: false,
      branches: [{ option: '広報紙', goTo: 1 }],
    } as never;
    const r1 = await w.call<Err>(T.tsuDeliver, 'POST', path, back);
    expect(r1.status).toBe(400);
    expect(r1.body.error.code).toBe('invalid_branch');
    expect(r1.body.error.message).toContain('後の設問');
    const missing = sampleSurvey();
    missing.questions[0] = { ...missing.questions[0]!, branches: [{ option: 'いいえ', goTo: 'nowhere' }] } as never;
    const r2 = await w.call<Err>(T.tsuDeliver, 'POST', path, missing);
    expect(r2.status).toBe(400);
    expect(r2.body.error.message).toContain('分岐先 (nowhere) がありません');
    const badWindow = await w.call<Err>(T.tsuDeliver, 'POST', path, sampleSurvey({ closesAt: '2026-05-01T09:00' }));
    expect(badWindow.status).toBe(400);
    expect(JSON.stringify(badWindow.body)).toContain('受付終了は受付開始より後');
  });

  it('lets only 配信 staff of the tenant build; reads for whoever sees the tenant', async () => {
    const reader = await w.call<Err>(T.tsuReader, 'POST', path, sampleSurvey());
    expect(reader.status).toBe(403);
    expect(reader.body.error.message).toContain('配信');
    const foreign = await w.call<Err>(T.yokkaichi, 'POST', path, sampleSurvey());
    expect(foreign.status).toBe(403);
    const foreignRead = await w.call<Err>(T.yokkaichi, 'GET', path);
    expect(foreignRead.status).toBe(403);
    expect((await w.call(T.yokkaichi, 'GET', `/api/v1/surveys/tenants/${YOKKAICHI}/surveys`)).status).toBe(200);
  });

  it('audits creation and change with the account', async () => {
    const s = await create({ title: '監査の確認' });
    await w.call(T.tsuDeliver, 'PUT', `${path}/${s.surveyId}`, { title: '監査の確認 (改)' });
    const audit = await rows('SELECT action, username FROM audit_log WHERE target = {t:String} ORDER BY at, action', {
      t: s.surveyId,
    });
    expect(audit).toEqual([
      { action: 'survey_created', username: 'tsudeliver' },
      { action: 'survey_changed', username: 'tsudeliver' },
    ]);
  });
});

describe('edit rules after the first answer', () => {
  it('edits freely before any answer, then only wording and the window (409 survey_locked otherwise)', async () => {
    const s = await create();
    const free = await w.call<Survey>(T.tsuDeliver, 'PUT', `${path}/${s.surveyId}`, {
      questions: [...s.questions.slice(0, 6), { ...s.questions[6]!, required: false }],
    });
    expect(free.status).toBe(200);
    await answer(user(1), s, { uses: one('o1') }, true);
    const opts = structuredClone(free.body.questions);
    opts[1]!.options.push({ id: 'o4', label: 'ほぼ毎日' });
    const locked = await w.call<Err>(T.tsuDeliver, 'PUT', `${path}/${s.surveyId}`, { questions: opts });
    expect(locked.status).toBe(409);
    expect(locked.body.error.code).toBe('survey_locked');
    expect(locked.body.error.message).toContain('変更できるのは受付期間と文言');
    const q = free.body.questions;
    const reordered = [q[0], q[1], q[2], q[4], q[3], q[5], q[6]];
    expect((await w.call<Err>(T.tsuDeliver, 'PUT', `${path}/${s.surveyId}`, { questions: reordered })).status).toBe(
      409,
    );
    expect((await w.call<Err>(T.tsuDeliver, 'PUT', `${path}/${s.surveyId}`, { anonymous: true })).status).toBe(409);
    const typed = structuredClone(free.body.questions);
    typed[2]!.type = 'number';
    expect((await w.call<Err>(T.tsuDeliver, 'PUT', `${path}/${s.surveyId}`, { questions: typed })).status).toBe(409);
    const worded = structuredClone(free.body.questions);
    worded[0]!.text = '市立図書館を利用していますか';
    const ok = await w.call<Survey>(T.tsuDeliver, 'PUT', `${path}/${s.surveyId}`, {
      title: '市民生活アンケート (令和8年度)',
      closesAt: '2026-07-15T17:00',
      questions: worded,
    });
    expect(ok.status).toBe(200);
    expect(ok.body.questions[0]!.text).toBe('市立図書館を利用していますか');
    expect(ok.body.closesAt).toBe('2026-07-15T08:00:00.000Z');
  });
});

describe('answering', () => {
  it('says 受付前 and 受付終了 in Japanese and refuses answers outside the window', async () => {
    const s = await create({ opensAt: '2026-07-01T09:00', closesAt: '2026-07-31T17:00' });
    const before = await view(user(2), s);
    expect(before.phase).toBe('not_open');
    expect(before.phaseMessage).toContain('まだ受付前です');
    await expect(answer(user(2), s, { uses: one('o1') })).rejects.toMatchObject({
      code: 'survey_not_open',
      status: 409,
    });
    const saved = w.clock.now;
    w.clock.now = Date.parse('2026-08-01T00:00:00Z');
    try {
      expect((await view(user(2), s)).phaseMessage).toContain('受付は終了しました');
      await expect(answer(user(2), s, { uses: one('o1') })).rejects.toMatchObject({ code: 'survey_closed' });
    } finally {
      w.clock.now = saved;
    }
    const draft = await create({ status: 'draft' });
    await expect(view(user(2), draft)).rejects.toMatchObject({ code: 'survey_not_found', status: 404 });
  });

  it('keeps one answer per resident: a change replaces it in the results; partial answers are resumed', async () => {
    const s = await create();
    const u = user(3);
    await answer(u, s, { uses: one('o1') }, true);
    let mine = await view(u, s);
    expect(mine.partial).toBe(true);
    expect(mine.answers.uses).toEqual(one('o1'));
    // required questions on the path must be answered to send
    await expect(answer(u, s, { uses: one('o1') })).rejects.toMatchObject({ code: 'invalid_answer' });
    await answer(u, s, { uses: one('o1'), often: { choices: ['_other'], text: '気が向いたとき' }, score: one('4') });
    mine = await view(u, s);
    expect(mine.partial).toBe(false);
    let r = (await w.call<SurveyResults>(T.tsuReader, 'GET', `${path}/${s.surveyId}/results`)).body;
    expect(r.complete).toBe(1);
    expect(r.questions[6]!.options.find((o) => o.option === '4')!.count).toBe(1);
    // changed: the latest wins, still one resident
    await answer(u, s, { uses: one('o2'), score: one('2') });
    r = (await w.call<SurveyResults>(T.tsuReader, 'GET', `${path}/${s.surveyId}/results`)).body;
    expect(r.complete).toBe(1);
    expect(r.questions[0]!.options.map((o) => o.count)).toEqual([0, 1]);
    expect(r.questions[6]!.options.find((o) => o.option === '4')!.count).toBe(0);
    expect(r.questions[6]!.options.find((o) => o.option === '2')!.count).toBe(1);
    expect(r.questions[0]!.options[1]!.share).toBe(100);
  });

  it('applies branching: questions skipped by the path are neither required nor kept', async () => {
    const s = await create();
    const u = user(4);
    // いいえ → Q4: the required Q2 is skipped; answers given to it anyway are dropped
    await answer(u, s, { uses: one('o2'), often: one('o1'), why: { choices: [], text: '本' }, score: one('5') });
    const [row] = await rows(
      'SELECT question_ids FROM survey_answers WHERE survey_id = {s:String} ORDER BY version DESC LIMIT 1',
      { s: s.surveyId },
    );
    expect(row!.question_ids).toEqual(['uses', 'score']);
    await expect(answer(user(5), s, { uses: one('o1'), score: one('5') })).rejects.toMatchObject({
      code: 'invalid_answer',
    });
  });

  it('validates answers: unknown options, その他 without text, numbers and dates', async () => {
    const s = await create();
    const base = { uses: one('o2'), score: one('3') };
    await expect(answer(user(6), s, { ...base, uses: one('o9') })).rejects.toMatchObject({ code: 'invalid_answer' });
    await expect(answer(user(6), s, { ...base, media: { choices: ['_other'], text: '' } })).rejects.toMatchObject({
      message: '「その他」の内容を入力してください',
    });
    await expect(answer(user(6), s, { ...base, age: { choices: [], text: '三人' } })).rejects.toMatchObject({
      message: '数字で入力してください',
    });
    await answer(user(6), s, { ...base, age: { choices: [], text: '3' }, when: { choices: [], text: '2026-05-01' } });
  });

  it('keys anonymous answers by a per-survey pseudonym: one per resident, never the user id', async () => {
    const a = await create({ anonymous: true });
    const b = await create({ anonymous: true });
    const u = user(7);
    await answer(u, a, { uses: one('o2'), score: one('3') }, true);
    await answer(u, a, { uses: one('o2'), score: one('3') });
    await answer(u, b, { uses: one('o2'), score: one('3') });
    const keys = await rows(
      'SELECT survey_id, resident_key FROM survey_answers WHERE survey_id IN ({a:String}, {b:String}) ORDER BY version',
      { a: a.surveyId, b: b.surveyId },
    );
    expect(keys).toHaveLength(3);
    for (const k of keys) {
      expect(String(k.resident_key)).toMatch(/^anon:[A-Za-z0-9_-]{43}$/);
      expect(String(k.resident_key)).not.toContain(u);
    }
    expect(keys[0]!.resident_key).toBe(keys[1]!.resident_key);
    expect(keys[2]!.resident_key).not.toBe(keys[0]!.resident_key);
    expect((await view(u, a)).partial).toBe(false);
    expect(
      (await w.call<SurveyResults>(OP, 'GET', `/api/v1/surveys/tenants/${TSU}/surveys/${a.surveyId}/results`)).body
        .complete,
    ).toBe(1);
  });
});

describe('cross-tabulation', () => {
  it('equals a direct count of the latest complete answers; groups under 5 show null', async () => {
    const s = await create({ anonymous: true });
    const genders = ['female', 'male', 'other'];
    const expected = new Map<string, number>();
    const groupSize = new Map<string, number>();
    for (let i = 0; i < 40; i++) {
      const u = user(1000 + i);
      // 'other' only 3 residents: under 5
      const g = i < 3 ? 'other' : genders[i % 2]!;
      w.attrs.set(u, {
        gender: [g],
        birth_year: [String(1950 + (i % 5) * 10)],
        residence: [i % 3 ? 'north' : 'south'],
      });
      const choice = i % 7 === 0 ? 'o1' : 'o2';
      if (i % 5 === 0) await answer(u, s, { uses: one('o1'), often: one('o1'), score: one('1') }); // changed below
      await answer(u, s, { uses: one(choice), often: one('o3'), score: one('5') });
      if (i === 39) {
        await answer(u, s, { uses: one('o1') }, true); // a later partial row: no longer counted as complete
        continue;
      }
      expected.set(`${choice}|${g}`, (expected.get(`${choice}|${g}`) ?? 0) + 1);
      groupSize.set(g, (groupSize.get(g) ?? 0) + 1);
    }
    const r = await w.call<CrossTab>(T.tsuReader, 'GET', `${path}/${s.surveyId}/crosstab?question=uses&by=gender`);
    expect(r.status).toBe(200);
    const ct = r.body;
    expect(ct.groups.map((g) => g.id)).toEqual(['female', 'male', 'other', '']);
    for (const [gi, g] of ct.groups.entries()) {
      const size = groupSize.get(g.id) ?? 0;
      expect(g.answers).toBe(size < 5 ? null : size);
      for (const row of ct.rows) {
        const want = expected.get(`${row.option}|${g.id}`) ?? 0;
        expect(row.counts[gi]).toBe(size < 5 ? null : want);
      }
    }
    expect(ct.groups.find((g) => g.id === 'other')!.answers).toBeNull();
    const byArea = (
      await w.call<CrossTab>(T.tsuReader, 'GET', `${path}/${s.surveyId}/crosstab?question=uses&by=residence`)
    ).body;
    expect(byArea.groups.map((g) => g.label)).toEqual(['北部', '南部', '未登録']);
    const byAge = (
      await w.call<CrossTab>(T.tsuReader, 'GET', `${path}/${s.surveyId}/crosstab?question=uses&by=age_group`)
    ).body;
    // 2026 − 1950 = 76 → 70代以上; 1990 → 30代
    expect(byAge.groups.find((g) => g.id === '70代以上')!.answers).toBe(8);
    expect(byAge.groups.find((g) => g.id === '30代')!.answers).toBe(7); // the 40th resident's latest row is partial
    const bad = await w.call<Err>(T.tsuReader, 'GET', `${path}/${s.surveyId}/crosstab?question=uses&by=income`);
    expect(bad.status).toBe(400);
  });
});

describe('free texts, exports and the delivery', () => {
  it('lists free texts with search; exports are audited; identified answers need 住民データの出力', async () => {
    const s = await create();
    await answer(user(50), s, {
      uses: one('o1'),
      often: one('o1'),
      why: { choices: [], text: '子どもの絵本を借りる' },
      score: one('4'),
    });
    await answer(user(51), s, {
      uses: one('o1'),
      often: one('o2'),
      why: { choices: [], text: '=HYPERLINK("x")' },
      score: one('3'),
    });
    const all = await w.call<{ texts: Array<{ text: string }> }>(
      T.tsuReader,
      'GET',
      `${path}/${s.surveyId}/texts?question=why`,
    );
    expect(all.body.texts).toHaveLength(2);
    const found = await w.call<{ texts: Array<{ text: string }> }>(
      T.tsuReader,
      'GET',
      `${path}/${s.surveyId}/texts?question=why&q=${encodeURIComponent('絵本')}`,
    );
    expect(found.body.texts.map((t) => t.text)).toEqual(['子どもの絵本を借りる']);

    const denied = await w.call<Err>(T.tsuDeliver, 'GET', `${path}/${s.surveyId}/answers.csv`);
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toContain('住民データの出力');
    const res = await fetch(`${w.base}${path}/${s.surveyId}/answers.csv`, {
      headers: { authorization: `Bearer ${T.tsuExport}` },
    });
    expect(res.status).toBe(200);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const csv = { body: bytes.subarray(3).toString('utf8') };
    const lines = csv.body.split('\r\n');
    expect(lines[0]).toContain('LINE ユーザー ID,状態,回答日時,性別,年代,お住まい,Q1 図書館を利用していますか');
    expect(lines.filter(Boolean)).toHaveLength(3);
    expect(csv.body).toContain(`"'=HYPERLINK(""x"")"`);
    const xlsx = await fetch(`${w.base}${path}/${s.surveyId}/answers.xlsx`, {
      headers: { authorization: `Bearer ${T.tsuExport}` },
    });
    expect(xlsx.status).toBe(200);
    expect(xlsx.headers.get('content-type')).toContain('spreadsheetml');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(Buffer.from(await xlsx.arrayBuffer()) as never);
    expect(wb.worksheets.map((ws) => ws.name)).toEqual(['集計', '回答一覧']);
    const summary = wb.getWorksheet('集計')!;
    const q1 = summary.getColumn(1).values.indexOf('Q1 図書館を利用していますか');
    expect(q1).toBeGreaterThan(0);
    expect(summary.getRow(q1 + 2).values).toEqual([undefined, 'はい', 2, 100]);
    expect(summary.getRow(q1 + 3).values).toEqual([undefined, 'いいえ', 0, 0]);
    // each choice question's chart as a picture (Q1, Q2, Q4, Q7)
    expect(summary.getImages()).toHaveLength(4);
    expect(wb.getWorksheet('回答一覧')!.rowCount).toBe(3);
    expect(wb.getWorksheet('回答一覧')!.getRow(1).getCell(7).value).toBe('Q1 図書館を利用していますか');
    const audit = await rows(
      "SELECT target, username FROM audit_log WHERE action = 'export' AND target LIKE {p:String} ORDER BY at",
      { p: `surveys/${s.surveyId}/%` },
    );
    expect(audit).toEqual([
      { target: `surveys/${s.surveyId}/answers.csv`, username: 'tsuexport' },
      { target: `surveys/${s.surveyId}/answers.xlsx`, username: 'tsuexport' },
    ]);
    // anonymous answers: 配信 is enough
    const anon = await create({ anonymous: true });
    expect((await w.call(T.tsuDeliver, 'GET', `${path}/${anon.surveyId}/answers.csv`)).status).toBe(200);
  });

  it('makes a delivery draft carrying the 回答する Flex message with the LIFF URL (配信 only)', async () => {
    const s = await create();
    expect((await w.call<Err>(T.tsuReader, 'POST', `${path}/${s.surveyId}/delivery`, {})).status).toBe(403);
    const r = await w.call<{ id: string }>(T.tsuDeliver, 'POST', `${path}/${s.surveyId}/delivery`, {
      audience: { type: 'all' },
    });
    expect(r.status).toBe(201);
    const d = w.drafts.at(-1)!;
    expect(d.tenantId).toBe(TSU);
    const input = d.input as { send: string; title: string; messages: Array<Record<string, unknown>> };
    expect(input.send).toBe('draft');
    expect(input.title).toBe('アンケート: 市民生活アンケート');
    expect(JSON.stringify(input.messages[0])).toContain(
      `https://liff.line.me/1234567890-${TSU}abc/surveys/${s.surveyId}`,
    );
    expect(JSON.stringify(input.messages[0])).toContain(`"data":"surveys:start:${s.surveyId}"`);
    const draft = await create({ status: 'draft' });
    expect((await w.call<Err>(T.tsuDeliver, 'POST', `${path}/${draft.surveyId}/delivery`, {})).body.error.code).toBe(
      'survey_draft',
    );
  });
});
