import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MISSING_REASONS, Metrics, aggregateDeliveries, type Overview } from '../../metrics/index.ts';
import { buildFinalReport, REPORT_KINDS, type ReportFile, type ReportSources } from '../../reports/documents/index.ts';
import { issueCreateSchema } from '../../reports/schemas.ts';
import { seedFigures } from '../helpers/dashboard-fixtures.ts';
import {
  addMinutes,
  docxText,
  reportSources,
  seedMunicipalities,
  zipEntries,
} from '../helpers/report-documents-fixtures.ts';
import { harness, type Harness } from '../helpers/index.ts';

// The final report (最終報告書, Word and Excel) over April–June 2025, built from a fresh ClickHouse
// with the demo's 29 municipalities; the files are opened and read back.
let h: Harness;
let src: ReportSources;
let data: Metrics;
let overviews: Overview[];
let files: ReportFile[];
const progress: string[] = [];
const PERIOD = { from: '2025-04', to: '2025-06' };
const MONTHS = ['2025-04', '2025-05', '2025-06'];
const NOW = new Date('2025-07-05T01:00:00Z');

const file = (kind: string) => files.find((f) => f.kind === kind)!;

beforeAll(async () => {
  h = await harness();
  src = await reportSources(h);
  await seedFigures(src.ch); // 津市・四日市市・紀宝町 by hand (June, and May for 津市)
  await seedMunicipalities(src.ch, src.tenants, MONTHS);
  // deliveries whose link clicks were counted by gender, and by where residents live (an area, by its id)
  const clicked = (id: string, title: string, bucketBy: string, targets: number) => ({
    tenant_id: '24203',
    delivery_id: id,
    kind: 'normal',
    title,
    messages: '[]',
    links: [`https://example.jp/${id}`],
    click_bucket: bucketBy,
    audience: '{"type":"all"}',
    audience_label: 'すべての友だち',
    aggregation_unit: `u-${id}`,
    status: 'done',
    targets,
    batches: 1,
    accepted: targets,
    failed: 0,
    created_at: '2025-05-01 01:00:00.000',
    updated_at: '2025-05-01 01:00:00.000',
    version: 1,
    is_deleted: 0,
  });
  await src.ch.insert({
    table: 'deliveries',
    format: 'JSONEachRow',
    values: [
      clicked('d-click', '健康ウォークのご案内', 'gender', 100),
      clicked('d-area', '地区の健康教室', 'residence', 50),
    ],
  });
  await src.ch.insert({
    table: 'delivery_categories',
    format: 'JSONEachRow',
    values: [
      {
        tenant_id: '24203',
        category_id: 'a9f00d1e',
        parent_id: '@area',
        name: '伊勢中央',
        sort: 0,
        retired: 0,
        updated_at: '2025-04-01 00:00:00.000',
        version: 1,
        is_deleted: 0,
      },
    ],
  });
  await src.ch.insert({
    table: 'delivery_clicks',
    format: 'JSONEachRow',
    values: ['2025-05-01 05:00:00.000', '2025-05-02 05:00:00.000'].map((at) => ({
      tenant_id: '24203',
      delivery_id: 'd-area',
      link_no: 0,
      bucket: 'a9f00d1e',
      clicked_at: at,
    })),
  });
  const click = (bucket: string, at: string) => ({
    tenant_id: '24203',
    delivery_id: 'd-click',
    link_no: 0,
    bucket,
    clicked_at: at,
  });
  await src.ch.insert({
    table: 'delivery_clicks',
    format: 'JSONEachRow',
    values: [
      click('female', '2025-05-01 02:00:00.000'),
      click('female', '2025-05-01 03:00:00.000'),
      click('female', '2025-05-02 03:00:00.000'),
      click('male', '2025-05-01 04:00:00.000'),
      click('unknown', '2025-05-03 04:00:00.000'),
      click('male', '2025-07-01 04:00:00.000'), // after the period
    ],
  });
  await addMinutes(src.store, { heldAt: '2025-04-10T14:00', kind: '定例会', title: '第1回 定例会' }, true);
  await addMinutes(src.store, { heldAt: '2025-05-15T10:00', kind: '研修', title: '操作研修' }, true);
  await addMinutes(src.store, { heldAt: '2025-03-15T10:00', kind: '定例会', title: '前年度の定例会' }, true);
  await src.store.createIssue(
    issueCreateSchema.parse({
      tenantId: '24201',
      raisedOn: '2025-04-03',
      category: '操作',
      description: '予約配信の時刻',
    }),
    'itaku',
  );

  data = new Metrics(src.ch, src.tenants);
  const all = (await src.tenants.list()).map((t) => t.id);
  overviews = await Promise.all(MONTHS.map((m) => data.overview(all, m)));
  const t0 = performance.now();
  files = await buildFinalReport(src, PERIOD, { now: NOW, onProgress: (s) => progress.push(s) });
  console.log(`final report for ${MONTHS.length} months: ${((performance.now() - t0) / 1000).toFixed(2)} s`);
});
afterAll(() => h?.close());

async function sheet(
  name: string,
): Promise<{ ws: ExcelJS.Worksheet; header: string[]; rows: Map<string, unknown[]>; list: unknown[][] }> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(file('final-xlsx').bytes as unknown as ExcelJS.Buffer);
  const ws = wb.getWorksheet(name);
  expect(ws, name).toBeDefined();
  let headerRow = 0;
  ws!.eachRow((r, n) => {
    if (!headerRow && ['市町', '月', '配信対象', '項目'].includes(String(r.getCell(1).value))) headerRow = n;
  });
  const header = (ws!.getRow(headerRow).values as unknown[]).slice(1).map(String);
  const list: unknown[][] = [];
  for (let n = headerRow + 1; n <= ws!.rowCount; n++) {
    const v = (ws!.getRow(n).values as unknown[]).slice(1);
    if (v[0] === undefined || v[0] === null) break;
    list.push(Array.from(v, (x) => x ?? null));
  }
  return { ws: ws!, header, rows: new Map(list.map((r) => [String(r[0]), r])), list };
}

describe('final report', () => {
  it('is a Word and an Excel file named by the period, with titles, types and progress', () => {
    expect(files.map((f) => [f.kind, f.fileName, f.title, f.mime])).toEqual([
      ['final-docx', '2025-04_2025-06_最終報告書.docx', '最終報告書 (Word)', REPORT_KINDS['final-docx'].mime],
      ['final-xlsx', '2025-04_2025-06_最終報告書.xlsx', '最終報告書 (Excel)', REPORT_KINDS['final-xlsx'].mime],
    ]);
    expect(progress).toEqual([
      '期間の集計値と記録を読み込んでいます',
      'グラフを作成しています',
      '最終報告書 (Word) を作成しています',
      '最終報告書 (Excel) を作成しています',
      '作成が終わりました',
    ]);
  });

  it('Excel 市町別: registrations against population, growth, blocks, opens and clicks over the period, as numbers', async () => {
    const { header, rows } = await sheet('市町別');
    expect(header.slice(0, 6)).toEqual([
      '市町',
      '人口\n(人)',
      '期間開始時の友だち数\n(人)',
      '期間末の友だち数\n(人)',
      '期間中の増減\n(人)',
      '人口あたり (期間末)\n(%)',
    ]);
    const col = (label: string) => header.findIndex((h) => h.startsWith(label));
    expect(rows.size).toBe(30);

    // 伊勢市 (seeded by formula): 3–9% of the population at the start, +120 a month
    const ise = rows.get('伊勢市')!;
    const [apr, , jun] = overviews.map((o) => o.rows.find((r) => r.name === '伊勢市')!);
    expect(ise[col('期間開始時')]).toBe(apr!.friends! - apr!.friendsChange!);
    expect(ise[col('期間末の友だち数')]).toBe(jun!.friends);
    expect(ise[col('期間中の増減')]).toBe(360);
    expect(ise[col('人口あたり')]).toBe(jun!.friendsPerPopulation);
    expect(ise[col('友だち追加')]).toBe(
      overviews.reduce((a, o) => a + o.rows.find((r) => r.name === '伊勢市')!.follows, 0),
    );
    expect(ise[col('配信数')]).toBe(6);
    const iseDeliveries = await data.deliveries(['24203'], '2025-04-01', '2025-06-30');
    expect(ise[col('開封率')]).toBe(aggregateDeliveries(iseDeliveries).openRate);
    expect(ise[col('クリック人数')]).toBe(aggregateDeliveries(iseDeliveries).clicks);

    // 津市 (by hand): no LINE figures before May, so the start is unknown; June's deliveries only
    const tsu = rows.get('津市')!;
    expect([tsu[col('期間開始時')], tsu[col('期間末の友だち数')], tsu[col('ブロック率')]]).toEqual([null, 1200, 0.055]);
    expect([tsu[col('配信数')], tsu[col('開封率')], tsu[col('クリック人数')]]).toEqual([3, 0.6, 110]);
    // 紀宝町: under LINE's privacy threshold
    expect(rows.get('紀宝町')![col('期間末の友だち数')]).toBeNull();

    const total = rows.get('県全体')!;
    expect(total[col('期間末の友だち数')]).toBe(overviews[2]!.totals.friends);
    expect(total[col('配信数')]).toBe(overviews.reduce((a, o) => a + o.totals.deliveries, 0));
  });

  it('Excel: unknown figures are empty cells with the reason as a note; growth by month per municipality', async () => {
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(file('final-xlsx').bytes as unknown as ExcelJS.Buffer);
    const ws = wb.getWorksheet('市町別')!;
    let kiho: ExcelJS.Row | undefined;
    ws.eachRow((r) => {
      if (r.getCell(1).value === '紀宝町') kiho = r;
    });
    expect(kiho!.getCell(4).value).toBeNull();
    expect(String(kiho!.getCell(4).note)).toContain(MISSING_REASONS.privacy);
    expect(kiho!.getCell(4).numFmt).toBe('#,##0');
    expect(String(ws.getCell(2, 1).value)).toMatch(/^提出期限: 令和7年6月30日\(月\)/);

    const { header, rows } = await sheet('月別友だち数');
    expect(header).toEqual(['市町', '令和7年4月', '令和7年5月', '令和7年6月']);
    for (const name of ['伊勢市', '津市', '志摩市']) {
      expect(rows.get(name)!.slice(1), name).toEqual(
        overviews.map((o) => o.rows.find((r) => r.name === name)!.friends),
      );
    }
    expect(rows.get('県全体')!.slice(1)).toEqual(overviews.map((o) => o.totals.friends));
    const months = await sheet('月別推移');
    expect([...months.rows.keys()]).toEqual(['令和7年4月', '令和7年5月', '令和7年6月']);
    expect(months.rows.get('令和7年6月')![1]).toBe(overviews[2]!.totals.friends);
  });

  it('top deliveries by open rate with their titles and audiences; results by audience; clicks by attribute', async () => {
    const top = await sheet('配信上位');
    const firstTwo = top.list.slice(0, 2);
    expect(firstTwo.map((r) => [r[0], r[2], r[3]])).toEqual([
      ['津市', '6月の防災だより', 'すべての友だち'],
      ['津市', '6月の健康だより', 'すべての友だち'],
    ]);
    expect(firstTwo.map((r) => r[6])).toEqual([0.6, 0.6]);
    expect(top.list).toHaveLength(10);

    const groups = await sheet('配信対象別');
    expect([...groups.rows.keys()]).toEqual([
      'すべての友だち',
      'セグメント: 40歳以上',
      '配信記録なし (LINE の管理画面などから配信)',
    ]);
    // 26 municipalities × 3 months, plus 津市's multicast and broadcast; req-2 (LINE's own manager) has no record
    expect([...groups.rows.values()].map((r) => r[1])).toEqual([80, 78, 1]);
    const seg = groups.rows.get('セグメント: 40歳以上')!;
    expect(seg[5]).toBeGreaterThan(groups.rows.get('すべての友だち')![5] as number);

    const text = docxText(file('final-docx').bytes);
    expect(text).toMatch(/性別\n女性\n3\n1\n/);
    expect(text).toMatch(/性別\n男性\n1\n1\n/);
    expect(text).toMatch(/性別\n未回答\n1\n1\n/);
    expect(text).toMatch(/お住まい\n伊勢中央\n2\n1\n/); // the area by name, not its id
    expect(text).not.toContain('a9f00d1e');
  });

  it('Word: the sections, the figures, charts as PNGs, and proposals marked for the contractor to complete', () => {
    const f = file('final-docx');
    const text = docxText(f.bytes);
    for (const s of [
      '最終報告書 (運用実績の分析と提案)',
      '対象期間: 令和7年4月〜令和7年6月',
      '提出期限: 令和7年6月30日(月)',
      '作成日時: 令和7年7月5日(土) 10:00',
      '1. 本報告書について',
      '2. 概要',
      '3. 友だち登録の状況',
      '3.2 月別の推移 (県全体)',
      '4. メッセージの開封とクリック',
      '4.2 開封率の高い配信 (上位 10 件)',
      '4.3 配信対象別の結果 (セグメント配信)',
      '5. 分析',
      '6. 提案',
      '6.1 友だち登録の拡大に向けて',
      '6.5 他の成功事例の紹介',
      '6.6 今後のマイレージ事業のデジタル化に向けて',
      '6.7 市町ごとの提案',
      '8. 用語の定義',
      '9. 注記',
      '打ち合わせ・会議 2 回 (定例会 1 回・研修 1 回)',
      '課題 1 件 (未着手 1 件)',
      '6月の健康だより',
      'セグメント: 40歳以上',
      MISSING_REASONS.privacy,
      MISSING_REASONS.not_fetched,
    ])
      expect(text).toContain(s);
    expect(text).toMatch(/津市\n274,500\n—※\d\n1,200\n—※\d\n0\.4%\n66\n5\.5%/);
    // a place is either for the contractor to fill in, or drafted from a finding (test/reports/findings-report.test.ts)
    const drafted = text.match(/【下書き】/g)?.length ?? 0;
    expect(text.match(/【記入してください】/g)!.length + drafted).toBeGreaterThanOrEqual(10 + 29);
    const images = zipEntries(f.bytes).filter((e) => e.name.startsWith('word/media/'));
    expect(images.length).toBeGreaterThanOrEqual(5);
    for (const img of images) expect(img.size).toBeGreaterThan(5000);
  });

  it("takes the contract's due date when given; refuses a period that ends before it starts", async () => {
    const [docx] = await buildFinalReport(src, { from: '2025-06', to: '2025-06' }, { now: NOW, due: '2025-07-10' });
    expect(docxText(docx!.bytes)).toContain(
      '提出期限: 令和7年7月10日(木) (委託業務の完了の日から起算して10日以内、又は契約終了日のいずれか早い日)',
    );
    expect(docx!.fileName).toBe('2025-06_2025-06_最終報告書.docx');
    await expect(buildFinalReport(src, { from: '2025-06', to: '2025-04' })).rejects.toThrow(
      '期間の開始 (2025-06) が終了 (2025-04) より後になっています',
    );
  });
});
