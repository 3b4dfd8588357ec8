/**
 * The FAQ's staff API on real parts: the scenario checked as a whole (Japanese messages, nothing half
 * saved), publish and rollback, settings, permissions (配信 to change; another tenant's staff 403; no
 * caller 401), every change audited; the xlsx template, a 100-Q&A sheet imported, a broken sheet
 * reported by row number before anything is saved; the statistics and the flow view (ELK's layout as
 * SVG with each node's views and resolution rate).
 */
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoFaqNodes } from '../../cli/demo-faq-content.ts';
import { FAQ_XLSX_HEADERS, type FaqNode, layoutFlow } from '../../faq/index.ts';
import { type FaqWorld, faqWorld, SCENARIO, T, TSU, YOKKAICHI } from './fixtures.ts';
import { sheetRow, sheetXlsx } from './sheets.ts';

let w: FaqWorld;
beforeAll(async () => {
  w = await faqWorld('tayori-faq-api-');
}, 60_000);
afterAll(() => w?.h.close());

const base = `/api/v1/faq/tenants/${TSU}`;
type Err = { error: { code: string; message: string; details?: any } };

/** A sheet with the template's columns and these rows (each row: the 9 cells), as the API takes it. */
const sheet = async (rows: string[][]): Promise<string> => (await sheetXlsx(rows)).toString('base64');

describe('the scenario', () => {
  it('saves a draft, refuses a broken tree in Japanese and keeps the draft as it was', async () => {
    const ok = await w.call(T.tsuDeliver, 'PUT', `${base}/scenario`, { nodes: SCENARIO });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.nodes).toHaveLength(SCENARIO.length);
    expect(ok.body.live).toBe(0);
    const dup = await w.call<Err>(T.tsuDeliver, 'PUT', `${base}/scenario`, { nodes: [...SCENARIO, SCENARIO[1]] });
    expect(dup.status).toBe(400);
    expect(dup.body.error.code).toBe('invalid_scenario');
    expect(dup.body.error.message).toBe('ID「gomi-days」が重複しています');
    const orphan = await w.call<Err>(T.tsuDeliver, 'PUT', `${base}/scenario`, {
      nodes: [...SCENARIO, { ...SCENARIO[2], id: 'x1', parentId: 'nowhere' }],
    });
    expect(orphan.body.error.message).toContain('の親 (nowhere) がありません');
    const cycle = await w.call<Err>(T.tsuDeliver, 'PUT', `${base}/scenario`, {
      nodes: [
        { id: 'a', parentId: 'b', kind: 'category', title: 'A' },
        { id: 'b', parentId: 'a', kind: 'category', title: 'B' },
      ],
    });
    expect(cycle.body.error.details.problems).toContain('「A」の親をたどると循環しています');
    const badUrl = await w.call<Err>(T.tsuDeliver, 'PUT', `${base}/scenario`, {
      nodes: [{ ...SCENARIO[1], parentId: '', links: [{ label: '危険', url: 'javascript:alert(1)' }] }],
    });
    expect(badUrl.status).toBe(400);
    expect(badUrl.body.error.code).toBe('invalid_input');
    expect(badUrl.body.error.message).toContain('https:// で始めてください');
    const junk = await w.call<Err>(T.tsuDeliver, 'PUT', `${base}/scenario`, 'not an object');
    expect(junk.status).toBe(400);
    const still = await w.call(T.tsuDeliver, 'GET', `${base}/scenario`);
    expect(still.body.nodes.map((n: FaqNode) => n.id)).toEqual(SCENARIO.map((n) => n.id));
  });

  it('publishes numbered versions and rolls back; residents see the live one', async () => {
    const first = await w.call(T.tsuDeliver, 'POST', `${base}/publish`, { note: '初版' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ number: 1, note: '初版', publishedBy: 'faqtsu', nodeCount: SCENARIO.length });
    await w.call(T.tsuDeliver, 'PUT', `${base}/scenario`, { nodes: SCENARIO.slice(0, 4) });
    const second = await w.call(T.tsuDeliver, 'POST', `${base}/publish`, {});
    expect(second.body.number).toBe(2);
    expect((await w.faq.store.live(TSU)).nodes).toHaveLength(4);
    const back = await w.call(T.tsuDeliver, 'POST', `${base}/rollback`, { number: 1 });
    expect(back.status).toBe(200);
    expect(back.body).toMatchObject({ live: 1 });
    expect(back.body.nodes).toHaveLength(SCENARIO.length);
    expect((await w.faq.store.live(TSU)).nodes).toHaveLength(SCENARIO.length);
    const versions = await w.call(T.tsuReader, 'GET', `${base}/versions`);
    expect(versions.body.live).toBe(1);
    expect(versions.body.versions.map((v: { number: number }) => v.number)).toEqual([2, 1]);
    const missing = await w.call<Err>(T.tsuDeliver, 'POST', `${base}/rollback`, { number: 9 });
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toBe('第 9 版はありません');
    const badNumber = await w.call<Err>(T.tsuDeliver, 'POST', `${base}/rollback`, { number: 'one' });
    expect(badNumber.status).toBe(400);
    expect(badNumber.body.error.message).toContain('戻す版の番号を指定してください');
  });

  it('audits every change with the account', async () => {
    const rs = await w.h.ch.query({
      query: "SELECT action, username FROM audit_log WHERE tenant_id = {t:String} AND action LIKE 'faq_%' ORDER BY at",
      query_params: { t: TSU },
      format: 'JSONEachRow',
    });
    const rows = (await rs.json()) as Array<{ action: string; username: string }>;
    expect(rows.map((r) => r.action)).toEqual([
      'faq_draft_saved',
      'faq_published',
      'faq_draft_saved',
      'faq_published',
      'faq_rolled_back',
    ]);
    expect(new Set(rows.map((r) => r.username))).toEqual(new Set(['faqtsu']));
  });

  it('settings: checked in Japanese, 配信 only', async () => {
    const bad = await w.call<Err>(T.tsuDeliver, 'PUT', `${base}/settings`, {
      aiEndpoint: 'ftp://ai.example',
      aiTimeoutMs: 60_000,
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('http:// か https://');
    expect(bad.body.error.message).toContain('10 秒');
    const ok = await w.call(T.tsuDeliver, 'PUT', `${base}/settings`, { acceptTyped: true, keepUnmatched: true });
    expect(ok.body).toMatchObject({ acceptTyped: true, keepUnmatched: true, retentionDays: 90, aiTimeoutMs: 4000 });
    expect((await w.call(T.tsuReader, 'PUT', `${base}/settings`, {})).status).toBe(403);
  });
});

describe('permissions', () => {
  it('401 without a caller; 403 for others’ tenants and for changes without 配信', async () => {
    const none = await fetch(`${w.base}${base}/scenario`);
    expect(none.status).toBe(401);
    const foreign = await w.call<Err>(T.yokkaichi, 'GET', `${base}/scenario`);
    expect(foreign.status).toBe(403);
    expect(foreign.body.error.message).toMatch(/[ぁ-んァ-ン一-龥]/);
    expect((await w.call(T.yokkaichi, 'GET', `${base}/stats`)).status).toBe(403);
    expect((await w.call(T.yokkaichi, 'GET', `${base}/flow.svg`)).status).toBe(403);
    expect((await w.call(T.yokkaichi, 'PUT', `${base}/scenario`, { nodes: [] })).status).toBe(403);
    expect((await w.call(T.yokkaichi, 'GET', `/api/v1/faq/tenants/${YOKKAICHI}/scenario`)).status).toBe(200);
    const reader = await w.call<Err>(T.tsuReader, 'POST', `${base}/publish`, {});
    expect(reader.status).toBe(403);
    expect(reader.body.error.message).toContain('配信');
    expect((await w.call(T.tsuReader, 'GET', `${base}/scenario`)).status).toBe(200);
    const badTenant = await w.call<Err>(T.tsuDeliver, 'GET', '/api/v1/faq/tenants/..%2F/scenario');
    expect(badTenant.status).toBeGreaterThanOrEqual(400);
    expect(badTenant.status).toBeLessThan(500);
  });
});

describe('xlsx import', () => {
  it('the template has the columns and notes; an exported scenario imports again', async () => {
    const t = await w.call(T.tsuReader, 'GET', '/api/v1/faq/template.xlsx');
    expect(t.status).toBe(200);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(t.bytes as unknown as ExcelJS.Buffer);
    expect(wb.getWorksheet('シナリオ')!.getRow(1).values).toEqual([undefined, ...FAQ_XLSX_HEADERS]);
    expect(wb.getWorksheet('記入方法')).toBeDefined();
    const exported = await w.call(T.tsuReader, 'GET', `${base}/scenario.xlsx`);
    expect(exported.headers.get('content-disposition')).toContain('faq-scenario.xlsx');
    const again = await w.call(T.tsuDeliver, 'POST', `${base}/import`, { file: exported.bytes.toString('base64') });
    expect(again.body).toMatchObject({ saved: false, nodes: SCENARIO.length, errors: [] });
  });

  it('a sheet of 100 Q&A imports in one step into the draft', async () => {
    const nodes = demoFaqNodes('津市');
    const file = await sheet(nodes.map(sheetRow));
    const check = await w.call(T.tsuDeliver, 'POST', `${base}/import`, { file });
    expect(check.status, JSON.stringify(check.body)).toBe(200);
    expect(check.body).toMatchObject({ saved: false, questions: 100, errors: [] });
    // checking saves nothing
    expect((await w.call(T.tsuDeliver, 'GET', `${base}/scenario`)).body.nodes).toHaveLength(SCENARIO.length);
    const done = await w.call(T.tsuDeliver, 'POST', `${base}/import`, { file, confirm: true });
    expect(done.body).toMatchObject({ saved: true, nodes: nodes.length });
    const draft = await w.call(T.tsuDeliver, 'GET', `${base}/scenario`);
    expect(draft.body.nodes).toEqual(nodes);
    const rs = await w.h.ch.query({
      query: "SELECT count() AS n FROM audit_log WHERE action = 'faq_imported' AND tenant_id = {t:String}",
      query_params: { t: TSU },
      format: 'JSONEachRow',
    });
    expect(Number(((await rs.json()) as Array<{ n: number }>)[0]!.n)).toBe(1);
  });

  it('CSV too: exported with a BOM and the columns, imported again; rows numbered as Excel shows them', async () => {
    const csv = await w.call(T.tsuReader, 'GET', `${base}/scenario.csv`);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect([...csv.bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(csv.bytes.toString('utf8').slice(1).split('\r\n')[0]).toBe(FAQ_XLSX_HEADERS.join(','));
    const again = await w.call(T.tsuDeliver, 'POST', `${base}/import`, { file: csv.bytes.toString('base64') });
    expect(again.body).toMatchObject({ questions: 100, errors: [] });
    // a quoted answer over two lines is one row: the broken row after it is row 4
    const text = `${FAQ_XLSX_HEADERS.join(',')}\r\ngomi,,カテゴリ,ごみ,,,,,\r\nq1,gomi,質問,収集日,,"1 行目\r\n2 行目, ""引用""",,,\r\nq2,gomi,質問,,,回答,,,\r\n`;
    const broken = await w.call(T.tsuDeliver, 'POST', `${base}/import`, { file: Buffer.from(text).toString('base64') });
    expect(broken.body.errors).toEqual([{ row: 4, message: 'タイトル・質問文: タイトル (質問文) を入力してください' }]);
    const fixed = text.replace('q2,gomi,質問,,', 'q2,gomi,質問,料金,');
    const ok = await w.call(T.tsuDeliver, 'POST', `${base}/import`, { file: Buffer.from(fixed).toString('base64') });
    expect(ok.body).toMatchObject({ nodes: 3, errors: [] });
    const sjis = await w.call<Err>(T.tsuDeliver, 'POST', `${base}/import`, {
      file: Buffer.from([0x49, 0x44, 0x2c, 0x82, 0xa0, 0x0d, 0x0a]).toString('base64'),
    });
    expect(sjis.status).toBe(400);
    expect(sjis.body.error.message).toContain('UTF-8');
  });

  it('reports every broken row by number in Japanese and saves nothing', async () => {
    const before = (await w.call(T.tsuDeliver, 'GET', `${base}/scenario`)).body.nodes;
    const good = SCENARIO.map(sheetRow);
    const file = await sheet([
      ...good.slice(0, 3), // rows 2–4
      ['bad id!', '', 'カテゴリ', 'ID が不正', '', '', '', '', ''], // row 5
      ['x2', 'gomi', 'よくある', '種類が不正', '', 'a', '', '', ''], // row 6
      ['gomi-days', 'gomi', '質問', '重複', '', '回答', '', '', ''], // row 7
      ['x3', 'gomi', '質問', 'リンクが不正', '', '回答', '', '説明|http://insecure.example', ''], // row 8
      [],
      ['x4', 'gomi', '質問', '', '', '回答', '', '', ''], // row 10
    ]);
    const check = await w.call(T.tsuDeliver, 'POST', `${base}/import`, { file });
    expect(check.status).toBe(200);
    const errors = check.body.errors as Array<{ row: number; message: string }>;
    expect(errors.map((e) => e.row)).toEqual([5, 6, 7, 8, 10]);
    expect(errors[0]!.message).toContain('ID: ID は半角英数字');
    expect(errors[1]!.message).toBe('種類「よくある」は「カテゴリ」か「質問」にしてください');
    expect(errors[2]!.message).toBe('ID「gomi-days」は 3 行目と重複しています');
    expect(errors[3]!.message).toContain('リンク: URL は https:// で始めてください');
    expect(errors[4]!.message).toContain('タイトル・質問文');
    const confirm = await w.call<Err>(T.tsuDeliver, 'POST', `${base}/import`, { file, confirm: true });
    expect(confirm.status).toBe(400);
    expect(confirm.body.error.code).toBe('import_errors');
    expect(confirm.body.error.message).toContain('5 件の誤り');
    expect(confirm.body.error.details.errors).toHaveLength(5);
    // a tree problem lands on the row of the node it names
    const orphan = await w.call(T.tsuDeliver, 'POST', `${base}/import`, {
      file: await sheet([...good, ['x5', 'nowhere', '質問', '親がない質問', '', '回答', '', '', '']]),
    });
    expect(orphan.body.errors).toEqual([
      { row: SCENARIO.length + 2, message: '「親がない質問」の親 (nowhere) がありません' },
    ]);
    const notXlsx = await w.call<Err>(T.tsuDeliver, 'POST', `${base}/import`, {
      file: Buffer.from('PK broken zip').toString('base64'),
    });
    expect(notXlsx.status).toBe(400);
    expect(notXlsx.body.error.message).toBe('Excel (xlsx) ファイルとして読み込めません');
    const noHeader = await w.call<Err>(T.tsuDeliver, 'POST', `${base}/import`, {
      file: Buffer.from('hello').toString('base64'),
    });
    expect(noHeader.status).toBe(400);
    expect(noHeader.body.error.message).toContain('1 行目は見出し');
    const noFile = await w.call<Err>(T.tsuDeliver, 'POST', `${base}/import`, {});
    expect(noFile.status).toBe(400);
    expect(noFile.body.error.message).toContain('base64');
    expect((await w.call(T.tsuDeliver, 'GET', `${base}/scenario`)).body.nodes).toEqual(before);
  });
});

describe('statistics and the flow view', () => {
  it('lays the tree out with ELK (children right of their parents, no overlaps)', async () => {
    const nodes = demoFaqNodes('津市');
    const l = await layoutFlow(nodes);
    const at = new Map(l.nodes.map((n) => [n.id, n]));
    expect(l.nodes).toHaveLength(nodes.length + 1);
    for (const n of nodes) {
      const parent = at.get(n.parentId || '__menu')!;
      expect(at.get(n.id)!.x).toBeGreaterThan(parent.x);
    }
    const boxes = l.nodes.map((n) => `${Math.round(n.x)},${Math.round(n.y)}`);
    expect(new Set(boxes).size).toBe(boxes.length);
    expect(l.edges.filter((e) => e.jump)).toHaveLength(1);
    expect(l.edges.every((e) => e.points.length >= 2)).toBe(true);
  });

  it('draws each node with its views and resolution rate; the figures follow the events', async () => {
    await w.call(T.tsuDeliver, 'POST', `${base}/rollback`, { number: 1 });
    const now = Date.now();
    await w.faq.store.record(TSU, [
      ...[1, 2, 3, 4].map((i) => ({
        kind: 'view' as const,
        nodeId: 'gomi-days',
        via: 'chat' as const,
        eventId: `v${i}`,
        at: now - i * 1000,
      })),
      { kind: 'resolved', nodeId: 'gomi-days', via: 'chat', eventId: 'y1', at: now - 500 },
      { kind: 'resolved', nodeId: 'gomi-days', via: 'chat', eventId: 'y2', at: now - 400 },
      { kind: 'resolved', nodeId: 'gomi-days', via: 'chat', eventId: 'y3', at: now - 300 },
      { kind: 'unresolved', nodeId: 'gomi-days', via: 'chat', eventId: 'n1', at: now - 200 },
      // a replayed event lands once
      { kind: 'unresolved', nodeId: 'gomi-days', via: 'chat', eventId: 'n1', at: now - 200 },
    ]);
    const svg = await w.call(T.tsuReader, 'GET', `${base}/flow.svg`);
    expect(svg.status).toBe(200);
    expect(svg.headers.get('content-type')).toContain('image/svg+xml');
    const text = svg.body as string;
    expect(text).toMatch(/^<\?xml[^>]*>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(text.match(/<g data-node="/g)).toHaveLength(SCENARIO.length + 1);
    const box = /<g data-node="gomi-days">[\s\S]*?<\/g>/.exec(text)![0];
    expect(box).toContain('表示 4 ・ 解決率 75%');
    expect(/<g data-node="hinan">[\s\S]*?<\/g>/.exec(text)![0]).toContain('解決率 —');
    expect(text).not.toContain('style=');
    // PNG (twice the SVG's size) and PDF for the manual
    const [, width, height] = /<svg [^>]*width="(\d+)" height="(\d+)"/.exec(text)!.map(Number);
    const png = await w.call(T.tsuReader, 'GET', `${base}/flow.png`);
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(png.bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect([png.bytes.readUInt32BE(16), png.bytes.readUInt32BE(20)]).toEqual([width! * 2, height! * 2]);
    const pdf = await w.call(T.tsuReader, 'GET', `${base}/flow.pdf`);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    expect(pdf.bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(pdf.bytes.toString('latin1')).toContain('/Subtype /Image');
    expect((await w.call(T.yokkaichi, 'GET', `${base}/flow.pdf`)).status).toBe(403);
    const none = await w.call<Err>(T.yokkaichi, 'GET', `/api/v1/faq/tenants/${YOKKAICHI}/flow.png`);
    expect(none.status).toBe(404);
    expect(none.body.error.message).toBe('シナリオがまだ公開されていません');
    const stats = await w.call(T.tsuReader, 'GET', `${base}/stats?days=7`);
    expect(stats.body.nodes.find((n: { nodeId: string }) => n.nodeId === 'gomi-days')).toMatchObject({
      views: 4,
      yes: 3,
      no: 1,
      rate: 0.75,
    });
    expect(stats.body.totals).toMatchObject({ yes: 3, no: 1, rate: 0.75 });
    // views per node per day: every Tokyo day of the period, the most viewed nodes as series
    const { days, series } = stats.body.nodeDaily as {
      days: string[];
      series: Array<{ nodeId: string; title: string; counts: number[] }>;
    };
    const day = (ms: number) => new Date(ms + 9 * 3_600_000).toISOString().slice(0, 10);
    expect(days[0]).toBe(day(Date.parse(stats.body.from)));
    expect(days.at(-1)).toBe(day(Date.parse(stats.body.to) - 1));
    expect(new Set(days).size).toBe(days.length);
    const gomi = series.find((x) => x.nodeId === 'gomi-days')!;
    expect(gomi.title).toBe('ごみの収集日を知りたい');
    const byDay = new Map(days.map((d, i) => [d, gomi.counts[i]]));
    for (const i of [1, 2, 3, 4]) expect(byDay.has(day(now - i * 1000))).toBe(true);
    expect(gomi.counts.reduce((a, b) => a + b, 0)).toBe(4);
    expect(stats.body.endings).toContainEqual({
      nodeId: 'gomi-days',
      path: 'ごみ・リサイクル › ごみの収集日を知りたい',
      ending: 'no',
      count: 1,
    });
    const bad = await w.call<Err>(T.tsuReader, 'GET', `${base}/stats?days=abc`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('期間 (日数) は数値です');
    expect((await w.call<Err>(T.tsuReader, 'GET', `${base}/stats?days=9999`)).body.error.message).toContain(
      '366 日まで',
    );
  });
});
