import { execFileSync } from 'node:child_process';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MISSING_REASONS, Metrics, type Overview } from '../../metrics/index.ts';
import {
  buildMonthlyPackage,
  REPORT_KINDS,
  type ReportFile,
  type ReportSources,
} from '../../reports/documents/index.ts';
import { issueCreateSchema, issuePatchSchema } from '../../reports/schemas.ts';
import { MONTH, seedFigures } from '../helpers/dashboard-fixtures.ts';
import {
  addMinutes,
  docxText,
  pdfText,
  reportSources,
  seedMunicipalities,
  zipEntries,
} from '../helpers/report-documents-fixtures.ts';
import { harness, type Harness } from '../helpers/index.ts';

// The monthly package (議事録, 課題管理表, 月次KPI報告書 in Excel, Word and PDF) built from a fresh
// ClickHouse with the demo's 29 municipalities: the files are opened and read back.
let h: Harness;
let src: ReportSources;
let overview: Overview;
let files: ReportFile[];
let seconds: number;
const progress: Array<[string, number, number]> = [];
const NOW = new Date('2025-07-01T00:30:00Z'); // 令和7年7月1日 9:30 in Tokyo

const file = (kind: string) => {
  const f = files.find((x) => x.kind === kind);
  if (!f) throw new Error(`no ${kind} in the package`);
  return f;
};

beforeAll(async () => {
  h = await harness();
  src = await reportSources(h);
  await seedFigures(src.ch);
  await seedMunicipalities(src.ch, src.tenants, ['2025-05', MONTH]);

  await addMinutes(
    src.store,
    {
      heldAt: '2025-06-12T14:00',
      endedAt: '2025-06-12T15:30',
      kind: '定例会',
      title: '第3回 定例会',
      place: '三重県庁 会議室',
      tenantIds: ['24000', '24201'],
      attendees: [
        { organization: '三重県 健康推進課', name: '山田 花子' },
        { organization: '受託者', name: '佐藤 一郎' },
      ],
      agenda: ['友だち登録数の推移', '7月の配信計画'],
      discussion: '津市の登録者数は前月比で増加。\nブロック率は横ばい。',
      decisions: ['7月は熱中症予防の案内を配信する'],
      actionItems: [{ task: '配信原稿の作成', owner: '佐藤', due: '2025-06-30' }],
    },
    true,
  );
  await addMinutes(src.store, {
    heldAt: '2025-06-20T10:00',
    kind: '個別検討会議',
    title: '四日市市 リッチメニュー検討',
    tenantIds: ['24202'],
    decisions: ['リッチメニューに健診予約を加える'],
  });
  await addMinutes(
    src.store,
    { heldAt: '2025-07-02T10:00', kind: '研修', title: '7月の操作研修', tenantIds: ['24203'] },
    true,
  );

  const raise = (x: Record<string, unknown>) => src.store.createIssue(issueCreateSchema.parse(x), 'itaku');
  const open = await raise({
    tenantId: '24201',
    raisedOn: '2025-06-03',
    category: '操作',
    description: '配信予約の時刻を間違えやすい',
    owner: '佐藤',
    dueOn: '2025-06-30',
  });
  await src.store.changeIssue(
    open.id,
    'itaku',
    issuePatchSchema.parse({ status: '対応中', response: '操作手順書を改訂する', note: '県と協議のうえ対応' }),
    () => {},
  );
  await raise({
    tenantId: '24202',
    raisedOn: '2025-04-10',
    category: '設定',
    description: '5月に解決した課題',
    status: '完了',
    resolvedOn: '2025-05-20',
  });
  await raise({
    tenantId: '24562',
    raisedOn: '2025-06-15',
    category: '集計',
    description: '友だち数が表示されない',
    response: 'LINE の閾値未満のため',
    status: '完了',
    resolvedOn: '2025-06-25',
  });

  overview = await new Metrics(src.ch, src.tenants).overview(
    (await src.tenants.list()).map((t) => t.id),
    MONTH,
  );
  const t0 = performance.now();
  files = await buildMonthlyPackage(src, MONTH, { now: NOW, onProgress: (s, d, t) => progress.push([s, d, t]) });
  seconds = (performance.now() - t0) / 1000;
  console.log(`monthly package for ${overview.rows.length} municipalities: ${seconds.toFixed(2)} s`);
});
afterAll(() => h?.close());

const xlsx = async (f: ReportFile) => {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(f.bytes as unknown as ExcelJS.Buffer);
  return wb;
};

/** The rows under the header row whose first cell is `first`, keyed by that column. */
function table(
  ws: ExcelJS.Worksheet,
  first: string,
): { header: number; labels: string[]; rows: Map<string, ExcelJS.Row> } {
  let header = 0;
  ws.eachRow((r, n) => {
    if (!header && r.getCell(1).value === first) header = n;
  });
  expect(header, `header row starting with ${first}`).toBeGreaterThan(0);
  const labels = (ws.getRow(header).values as unknown[]).slice(1).map(String);
  const rows = new Map<string, ExcelJS.Row>();
  // the table ends at the first row without a first cell (notes follow after a blank row)
  for (let n = header + 1; n <= ws.rowCount; n++) {
    const r = ws.getRow(n);
    const k = r.getCell(1).value;
    if (k === null || k === undefined || k === '') break;
    rows.set(String(k), r);
  }
  return { header, labels, rows };
}

describe('monthly package', () => {
  it('holds the five files, named by month, with titles and types, and reports its progress', () => {
    expect(files.map((f) => f.kind)).toEqual(['minutes-docx', 'issues-xlsx', 'kpi-xlsx', 'kpi-docx', 'kpi-pdf']);
    expect(files.map((f) => f.fileName)).toEqual([
      '2025-06_議事録.docx',
      '2025-06_課題管理表.xlsx',
      '2025-06_月次KPI報告書.xlsx',
      '2025-06_月次KPI報告書.docx',
      '2025-06_月次KPI報告書.pdf',
    ]);
    expect(file('kpi-xlsx').title).toBe('月次KPI報告書 (Excel)');
    for (const f of files) {
      expect(f.mime).toBe(REPORT_KINDS[f.kind].mime);
      expect(f.bytes.length).toBeGreaterThan(1000);
    }
    expect(file('kpi-pdf').bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(progress.map((p) => p[0])).toContain('KPI 報告書 (Word) を作成しています');
    expect(progress.map((p) => p[1])).toEqual(progress.map((_, i) => i));
    expect(progress.at(-1)).toEqual(['作成が終わりました', 7, 7]);
    expect(overview.rows).toHaveLength(29);
  });

  it('KPI (Excel): the same numbers as the dashboard, as numbers with formats; unknown figures empty with a note', async () => {
    const wb = await xlsx(file('kpi-xlsx'));
    const ws = wb.getWorksheet('KPI')!;
    const texts = [1, 2, 3, 4].map((n) => String(ws.getCell(n, 1).value));
    expect(texts[0]).toBe('月次KPI報告書　令和7年6月分');
    expect(texts[1]).toBe('提出期限: 令和7年7月10日(木)');
    expect(texts[2]).toContain('作成日時: 令和7年7月1日(火) 9:30');
    const t = table(ws, '市町');
    expect(t.labels).toEqual([
      '市町',
      '人口\n(人)',
      '友だち数\n(人)',
      '増減 (前月比)\n(人)',
      '人口あたり\n(%)',
      'ブロック数\n(人)',
      'ブロック率\n(%)',
      '友だち追加\n(人)',
      '新規ブロック\n(人)',
      '配信数\n(件)',
      '開封率\n(%)',
      'クリック\n(人)',
    ]);
    expect([...t.rows.keys()]).toEqual([
      ...overview.rows.map((r) => r.name),
      '県全体',
      '三重県 (県のアカウント・合計に含みません)',
    ]);
    const keys = [
      'population',
      'friends',
      'friendsChange',
      'friendsPerPopulation',
      'blocks',
      'blockRate',
      'follows',
      'unfollows',
      'deliveries',
      'openRate',
      'clicks',
    ] as const;
    const check = (name: string, expected: Record<(typeof keys)[number], number | null>) => {
      const r = t.rows.get(name)!;
      keys.forEach((k, i) => expect(r.getCell(i + 2).value ?? null, `${name} ${k}`).toBe(expected[k]));
    };
    for (const name of ['津市', '四日市市', '伊勢市', '紀宝町', '御浜町'])
      check(name, overview.rows.find((r) => r.name === name)!);
    check('県全体', overview.totals);
    check('三重県 (県のアカウント・合計に含みません)', overview.accounts[0]!);
    expect(t.rows.get('三重県 (県のアカウント・合計に含みません)')!.getCell(3).value).toBe(5000);

    // hand-computed figures (test/dashboard-fixtures.ts), so a wrong query cannot agree with itself
    const tsu = t.rows.get('津市')!;
    expect([tsu.getCell(3).value, tsu.getCell(4).value, tsu.getCell(6).value, tsu.getCell(7).value]).toEqual([
      1200, 200, 66, 0.055,
    ]);
    expect(tsu.getCell(11).value).toBeCloseTo(0.6, 6); // (600 + 300) ÷ (1000 + 500)
    expect(tsu.getCell(3).numFmt).toBe('#,##0');
    expect(tsu.getCell(7).numFmt).toBe('0.0%');
    expect(tsu.getCell(4).numFmt).toContain('+');

    // Kiho: under LINE's privacy threshold — an empty cell with the reason as a note
    const kiho = t.rows.get('紀宝町')!;
    expect(kiho.getCell(3).value).toBeNull();
    expect(String(kiho.getCell(3).note)).toContain(MISSING_REASONS.privacy);
    // notes under the table list the reasons
    const all: string[] = [];
    ws.eachRow((r) => all.push(String(r.getCell(1).value)));
    expect(all.some((l) => l.includes(MISSING_REASONS.privacy))).toBe(true);

    expect(ws.pageSetup).toMatchObject({ orientation: 'landscape', fitToWidth: 1, paperSize: 9 });
    const dws = wb.getWorksheet('配信')!;
    const d = table(dws, '市町');
    expect(d.rows.size).toBeGreaterThan(0);
    expect(wb.getWorksheet('定義')).toBeDefined();
    expect(wb.getWorksheet('グラフ')!.getImages()).toHaveLength(4);
  });

  it('KPI (Word): heading, due date, the figures with "—" and the reason, and the charts as PNG images', () => {
    const f = file('kpi-docx');
    const text = docxText(f.bytes);
    for (const s of [
      '月次KPI報告書',
      '令和7年6月分',
      '提出期限: 令和7年7月10日(木)',
      '1. 概要',
      '2. 市町別の実績',
      '3. グラフ',
      '用語の定義',
      '三重県',
    ])
      expect(text).toContain(s);
    const rows = text.split('\n');
    // Tsu's row: friends, change, blocks, block rate as the dashboard formats them
    expect(text).toMatch(/津市[\s\S]*?274,500[\s\S]*?1,200[\s\S]*?\+200[\s\S]*?66[\s\S]*?5\.5%/);
    const kiho = rows.indexOf('紀宝町');
    expect(kiho).toBeGreaterThan(0);
    expect(rows[kiho + 2]).toMatch(/^—※\d$/);
    expect(text).toContain(MISSING_REASONS.privacy);
    expect(text).toContain('6. 注記');
    const images = zipEntries(f.bytes).filter((e) => e.name.startsWith('word/media/'));
    expect(images).toHaveLength(4);
    for (const img of images) {
      expect(img.name).toMatch(/\.png$/);
      expect(img.size).toBeGreaterThan(5000);
    }
  });

  it('KPI (PDF): Japanese headings read back (font embedded), figures, "—", and the charts', () => {
    const f = file('kpi-pdf');
    const text = pdfText(f.bytes);
    for (const s of [
      '月次KPI報告書',
      '令和7年6月分',
      '提出期限: 令和7年7月10日(木)',
      '市町別の実績',
      'グラフ',
      '用語の定義',
      '開封率の高い配信',
      '津市',
      '1,200',
      '5.5%',
      '—※',
    ]) {
      expect(text).toContain(s);
    }
    expect(text).toContain('プライバシー保護');
    const fonts = execFileSync('pdffonts', ['-'], { input: f.bytes }).toString('utf8');
    expect(fonts).toMatch(/IPAexGothic\s+CID TrueType\s+Identity-H\s+yes\s+yes\s+yes/);
    const images = execFileSync('pdfimages', ['-list', '-'], { input: f.bytes })
      .toString('utf8')
      .split('\n')
      .slice(2)
      .filter((l) => l.trim());
    expect(images.length).toBeGreaterThanOrEqual(4);
    expect(f.bytes.length).toBeGreaterThan(4 * 5000);
  });

  it('議事録 (Word): every meeting of the month, approved first, drafts marked; action items with owner and due', () => {
    const text = docxText(file('minutes-docx').bytes);
    for (const s of [
      '議事録',
      '令和7年6月分',
      '提出期限: 令和7年7月10日(木)',
      '第3回 定例会',
      '令和7年6月12日(木) 14:00〜15:30',
      '三重県、津市',
      '山田 花子',
      '友だち登録数の推移',
      '津市の登録者数は前月比で増加。',
      '7月は熱中症予防の案内を配信する',
      '配信原稿の作成',
      '佐藤',
      '令和7年6月30日',
      '【下書き】四日市市 リッチメニュー検討',
      'リッチメニューに健診予約を加える',
    ])
      expect(text).toContain(s);
    expect(text.indexOf('1. 第3回 定例会')).toBeGreaterThan(0);
    expect(text.indexOf('2. 【下書き】四日市市')).toBeGreaterThan(text.indexOf('1. 第3回 定例会'));
    expect(text).not.toContain('7月の操作研修');
  });

  it("課題管理表 (Excel): the month's log with real dates, frozen filtered header, A4 landscape; every change on the history sheet", async () => {
    const wb = await xlsx(file('issues-xlsx'));
    const ws = wb.getWorksheet('課題管理表')!;
    expect(String(ws.getCell(2, 1).value)).toBe('提出期限: 令和7年7月10日(木)');
    const t = table(ws, 'No.');
    expect(t.labels).toEqual(['No.', '市町', '起票日', '分類', '内容', '対応', '担当', '状況', '期限', '完了日']);
    // resolved in May: not in June's log
    expect([...t.rows.keys()]).toEqual(['1', '3']);
    const first = t.rows.get('1')!;
    expect(first.getCell(2).value).toBe('津市');
    expect(first.getCell(3).value).toEqual(new Date('2025-06-03T00:00:00Z'));
    expect(first.getCell(3).numFmt).toContain('ggge');
    expect([first.getCell(5).value, first.getCell(6).value, first.getCell(8).value]).toEqual([
      '配信予約の時刻を間違えやすい',
      '操作手順書を改訂する',
      '対応中',
    ]);
    expect(first.getCell(10).value).toBeNull();
    expect(t.rows.get('3')!.getCell(10).value).toEqual(new Date('2025-06-25T00:00:00Z'));
    expect(ws.views[0]).toMatchObject({ state: 'frozen', ySplit: t.header });
    expect(ws.autoFilter).toBeTruthy();
    expect(ws.pageSetup).toMatchObject({ orientation: 'landscape', fitToWidth: 1, fitToHeight: 0, paperSize: 9 });
    expect(ws.getColumn(5).width).toBeGreaterThan(30);

    const h = table(wb.getWorksheet('変更履歴')!, 'No.');
    expect(h.labels).toEqual(['No.', '市町', '変更日時', '変更者', '操作', '項目', '変更前', '変更後', '変更の理由']);
    const rows: string[][] = [];
    const hs = wb.getWorksheet('変更履歴')!;
    for (let n = h.header + 1; n <= hs.rowCount; n++)
      rows.push((hs.getRow(n).values as unknown[]).slice(1).map((v) => (v instanceof Date ? 'date' : String(v ?? ''))));
    expect(rows).toContainEqual([
      '1',
      '津市',
      'date',
      'itaku',
      '変更',
      '状況',
      '未着手',
      '対応中',
      '県と協議のうえ対応',
    ]);
    expect(rows).toContainEqual([
      '1',
      '津市',
      'date',
      'itaku',
      '変更',
      '対応内容',
      '(なし)',
      '操作手順書を改訂する',
      '県と協議のうえ対応',
    ]);
    expect(rows.filter((r) => r[0] === '1' && r[4] === '起票').map((r) => r[5])).toContain('課題の内容');
  });

  it('a month without meetings says so; a month that cannot be read is refused in Japanese', async () => {
    const [minutes] = await buildMonthlyPackage(src, '2025-08', { now: NOW });
    expect(docxText(minutes!.bytes)).toContain('令和7年8月に開催した打ち合わせ・会議はありませんでした。');
    await expect(buildMonthlyPackage(src, '2025-13')).rejects.toThrow(/YYYY-MM/);
  });
});
