import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MISSING_REASONS, Metrics, type MileageHistory } from '../../metrics/index.ts';
import { buildFinalReport, type ReportFile, type ReportSources } from '../../reports/documents/index.ts';
import { harness, type Harness } from '../helpers/index.ts';
import { seedMileageLedger } from '../helpers/mileage-fixtures.ts';
import { docxText, reportSources } from '../helpers/report-documents-fixtures.ts';

// The final report's health-mileage tables (growth by month, by municipality, by activity) for the
// hand-made ledger of test/helpers/mileage-fixtures.ts, over April–July 2025.
let h: Harness;
let src: ReportSources;
let files: ReportFile[];
let history: MileageHistory;
const PERIOD = { from: '2025-04', to: '2025-07' };

beforeAll(async () => {
  h = await harness();
  src = await reportSources(h);
  await seedMileageLedger(src.ch);
  files = await buildFinalReport(src, PERIOD, { now: new Date('2025-08-01T00:00:00Z') });
  history = await new Metrics(src.ch, src.tenants).mileageHistory(
    (await src.tenants.list()).map((t) => t.id),
    PERIOD,
  );
}, 180_000);

afterAll(() => h?.close());

async function sheet(name: string) {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(files.find((f) => f.kind === 'final-xlsx')!.bytes as unknown as ExcelJS.Buffer);
  const ws = wb.getWorksheet(name)!;
  expect(ws, name).toBeDefined();
  const rows: unknown[][] = [];
  ws.eachRow((r) => rows.push((r.values as unknown[]).slice(1)));
  return { ws, rows, row: (first: string) => rows.find((r) => r[0] === first)! };
}

describe('final report: health mileage', () => {
  it('growth by month (prefecture-wide) equals the metrics, month by month', async () => {
    const { row } = await sheet('マイレージ月別');
    const labels = ['令和7年4月', '令和7年5月', '令和7年6月', '令和7年7月'];
    labels.forEach((label, i) => {
      const t = history.totals.months[i]!;
      expect(row(label).slice(1, 11), label).toEqual([
        t.participants,
        t.newParticipants,
        t.active,
        t.points,
        t.pointsToDate,
        t.reachedGoalNew,
        t.reachedGoal,
        t.cardsIssued,
        t.cardsIssuedToDate,
        t.cardsValid,
      ]);
    });
    // by hand: participants 3 (津市) → 3 + 1 → 4 + 2 → 5 + 2; year's points 170, 205, 340, 360
    expect(labels.map((l) => row(l)[1])).toEqual([3, 4, 6, 7]);
    expect(labels.map((l) => row(l)[5])).toEqual([170, 205, 340, 360]);
  });

  it('by municipality: participants at each month end; no programme is empty with the reason', async () => {
    const { ws, row } = await sheet('マイレージ市町別');
    expect(row('津市').slice(1, 5)).toEqual([3, 3, 4, 5]);
    expect(row('四日市市').slice(1, 5)).toEqual([0, 1, 2, 2]);
    expect(row('県全体').slice(1, 5)).toEqual([3, 4, 6, 7]);
    let ise: ExcelJS.Row | undefined;
    ws.eachRow((r) => {
      if (r.getCell(1).value === '伊勢市') ise = r;
    });
    expect(ise!.getCell(2).value).toBeNull();
    expect(String(ise!.getCell(2).note)).toContain(MISSING_REASONS.no_programme);
  });

  it('by activity: points per month and the period, corrections subtracted', async () => {
    const { row } = await sheet('マイレージ活動別');
    expect(row('健康教室への参加').slice(1)).toEqual(['会場QR', 20, 20, 20, 20, 80]);
    expect(row('健康診断の受診').slice(1)).toEqual(['職員付与', 150, 0, 50, 0, 200]);
    expect(row('訂正 (活動の指定なし)').slice(1)).toEqual(['訂正', 0, -20, 0, 0, -20]);
  });

  it('Word: section 3.3 with the months and the activities', () => {
    const text = docxText(files.find((f) => f.kind === 'final-docx')!.bytes);
    expect(text).toContain('3.3 健康マイレージへの参加 (月別・活動別)');
    expect(text).toContain('令和7年7月末の健康マイレージの参加者は 7 人 (2 市町)');
    expect(text).toContain('スポーツイベント');
  });
});
