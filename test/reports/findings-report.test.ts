import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFinalReport, buildMonthlyPackage, type ReportSources } from '../../reports/documents/index.ts';
import { daily, days, writeDeliveries } from '../helpers/findings-world.ts';
import { harness, type Harness } from '../helpers/index.ts';
import { docxText, pdfText, reportSources, zipEntries } from '../helpers/report-documents-fixtures.ts';

// The findings in the reports: the final report's 提案 drafted from them (【下書き】, with their
// charts), 【記入してください】 kept where nothing was found; the KPI report's notable findings.
let h: Harness;
let src: ReportSources;
const NOW = new Date('2026-10-05T01:00:00Z');

beforeAll(async () => {
  h = await harness();
  src = await reportSources(h);
  await writeDeliveries(
    h.ch,
    [
      // 津市: evening deliveries opened twice as often (and sent often, with many blocks)
      ...daily('24201', days('2026-04-02', 60, 3), 19, { recipients: 2000, openRate: 0.4, blocks: 16 }),
      ...daily('24201', days('2026-04-03', 60, 3), 10, { recipients: 2000, openRate: 0.2, blocks: 16 }),
      // 伊勢市 weekly with few blocks, 松阪市 four times a week with many
      ...daily('24203', days('2026-04-06', 26, 7), 12, { recipients: 2000, openRate: 0.3, blocks: 4 }),
      ...[0, 1, 3, 5].flatMap((o) =>
        daily('24204', days(`2026-04-${String(6 + o).padStart(2, '0')}`, 26, 7), 12, {
          recipients: 2000,
          openRate: 0.3,
          blocks: 16,
        }),
      ),
    ],
    11,
  );
}, 120_000);
afterAll(() => h?.close());

describe('findings in the reports', () => {
  it('final report: 提案 drafted from the findings with their charts; 【記入してください】 only where nothing was found', async () => {
    const files = await buildFinalReport(src, { from: '2026-04', to: '2026-09' }, { now: NOW });
    const docx = files.find((f) => f.kind === 'final-docx')!;
    const text = docxText(docx.bytes);
    const section = (from: string, to: string) => text.slice(text.indexOf(from), text.indexOf(to));
    const content = section('6.2 配信内容と配信頻度の改善', '6.3 ');
    expect(content).toContain('【下書き】');
    expect(content).toMatch(/19時台に送った配信の開封率は \d+\.\d% \(95% 信頼区間/);
    expect(content).toMatch(/\(標本: 配信 \d+ 件・配信人数 [\d,]+ 人\)/);
    expect(content).not.toContain('【記入してください】');
    const blocks = section('6.3 ブロックの抑制', '6.4 ');
    expect(blocks).toContain('直近 7 日間の配信が 2 回以上になると');
    // no mileage records: the contractor still writes that one
    const mileage = section('6.6 今後のマイレージ事業のデジタル化に向けて', '6.7 ');
    expect(mileage).toContain('【記入してください】');
    expect(mileage).not.toContain('【下書き】');
    // 市町ごとの提案: 津市 drafted from its own findings, a municipality without deliveries left to fill in
    const table = section('6.7 市町ごとの提案', '7. ');
    expect(table).toMatch(/津市\n[^\n]+\n【下書き】 津市では、19時台に送った配信の開封率は/);
    expect(table).toMatch(/名張市\n[^\n]+\n【記入してください】/);
    // three municipalities with enough deliveries are too few for 他の成功事例: left to the contractor, no chart
    expect(section('6.5 他の成功事例の紹介', '6.6 ')).toContain('【記入してください】');
    // the findings' heatmap and blocks charts after the report's own five
    expect(zipEntries(docx.bytes).filter((e) => e.name.startsWith('word/media/')).length).toBe(7);
    expect(text).toContain('図7 配信後 3 日間のブロック (配信頻度別、県全体、令和8年4月〜令和8年9月)');
    expect(text).toContain('図6 曜日・送信時刻ごとの開封率 (県全体、令和8年4月〜令和8年9月)');

    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(files.find((f) => f.kind === 'final-xlsx')!.bytes as unknown as ExcelJS.Buffer);
    const cells: string[] = [];
    wb.getWorksheet('提案')!.eachRow((r) => r.eachCell((c) => void cells.push(String(c.value ?? ''))));
    const row = (heading: string) => cells[cells.indexOf(heading) + 1]!;
    expect(row('配信内容と配信頻度の改善')).toMatch(/^【下書き】 Tayori が/);
    expect(row('ブロックの抑制')).toContain('直近 7 日間の配信が 2 回以上になると');
    expect(row('今後のマイレージ事業のデジタル化に向けて')).toMatch(/^【記入してください】/);
  });

  it('monthly KPI report: the month’s three most notable findings', async () => {
    const files = await buildMonthlyPackage(src, '2026-05', { now: NOW });
    const text = docxText(files.find((f) => f.kind === 'kpi-docx')!.bytes);
    expect(text).toContain('今月の注目すべき所見 (【下書き】Tayori が自動で作成):');
    expect(text).toMatch(
      /\([123]\) 送信時刻と開封率: 県全体 \(全市町の配信をまとめて\)では、19時台に送った配信の開封率は/,
    );
    expect(text).not.toContain('(4) ');
    expect(pdfText(files.find((f) => f.kind === 'kpi-pdf')!.bytes).replace(/\s+/g, '')).toContain(
      '今月の注目すべき所見',
    );
  });
});
