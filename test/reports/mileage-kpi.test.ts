import { execFileSync } from 'node:child_process';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MILEAGE_FIGURES,
  MISSING_REASONS,
  Metrics,
  mileageValue,
  type MileageFigureName,
  type MileageOverview,
} from '../../metrics/index.ts';
import { buildMonthlyPackage, type ReportFile, type ReportSources } from '../../reports/documents/index.ts';
import { harness, type Harness } from '../helpers/index.ts';
import { MILEAGE_EXPECTED, MILEAGE_MONTH, seedMileageLedger } from '../helpers/mileage-fixtures.ts';
import { docxText, pdfText, reportSources, sheetTable, zipEntries } from '../helpers/report-documents-fixtures.ts';

// The monthly KPI report's health-mileage figures (Excel sheet マイレージ, Word and PDF section) for
// the hand-made ledger of test/helpers/mileage-fixtures.ts: every cell equals what metrics/ answers
// (the dashboard and its API read the same), and the hand-worked figures show.
let h: Harness;
let src: ReportSources;
let files: ReportFile[];
let mileage: MileageOverview;
const NOW = new Date('2025-07-01T00:30:00Z');
const KEYS: MileageFigureName[] = [
  'participants',
  'newParticipants',
  'active',
  'points',
  'pointsToDate',
  'reachedGoalNew',
  'reachedGoal',
  'cardsIssued',
  'cardsIssuedToDate',
  'cardsValid',
  'participantsPerThousand',
];

const file = (kind: string) => files.find((f) => f.kind === kind)!;

beforeAll(async () => {
  h = await harness();
  src = await reportSources(h);
  await seedMileageLedger(src.ch);
  files = await buildMonthlyPackage(src, MILEAGE_MONTH, { now: NOW });
  mileage = await new Metrics(src.ch, src.tenants).mileage(
    (await src.tenants.list()).map((t) => t.id),
    MILEAGE_MONTH,
  );
}, 180_000);

afterAll(() => h?.close());

const mileageSheet = () => sheetTable(file('kpi-xlsx').bytes, 'マイレージ');

describe('monthly KPI report: health mileage', () => {
  it('Excel: a row per municipality and the prefecture-wide total, every cell equal to the metrics', async () => {
    const { labels, rows } = await mileageSheet();
    expect(labels).toEqual(['市町', ...KEYS.map((k) => `${MILEAGE_FIGURES[k].label}\n(${MILEAGE_FIGURES[k].unit})`)]);
    expect([...rows.keys()]).toEqual([...mileage.rows.map((r) => r.name), '県全体']);
    expect(mileage.rows).toHaveLength(29);
    const check = (name: string, r: Parameters<typeof mileageValue>[0]) => {
      const row = rows.get(name)!;
      KEYS.forEach((k, i) => expect(row.getCell(i + 2).value ?? null, `${name} ${k}`).toBe(mileageValue(r, k)));
    };
    for (const r of mileage.rows) check(r.name, r);
    check('県全体', mileage.totals);
  });

  it('Excel: the hand-worked figures, numbers with formats; no programme is an empty cell with the reason', async () => {
    const { rows } = await mileageSheet();
    const tsu = rows.get('津市')!;
    const want = MILEAGE_EXPECTED['24201']['2025-06'];
    expect(KEYS.slice(0, 10).map((_, i) => tsu.getCell(i + 2).value)).toEqual([
      want.participants,
      want.newParticipants,
      want.active,
      want.points,
      want.pointsToDate,
      want.reachedGoalNew,
      want.reachedGoal,
      want.cardsIssued,
      want.cardsIssuedToDate,
      want.cardsValid,
    ]);
    expect(tsu.getCell(2).numFmt).toBe('#,##0');
    expect(tsu.getCell(12).numFmt).toBe('#,##0.00');
    const total = rows.get('県全体')!;
    expect([total.getCell(2).value, total.getCell(5).value, total.getCell(11).value]).toEqual([6, 135, 4]);
    const ise = rows.get('伊勢市')!;
    expect(ise.getCell(2).value).toBeNull();
    expect(String(ise.getCell(2).note)).toContain(MISSING_REASONS.no_programme);
    expect(ise.getCell(11).value).toBe(0);
  });

  it('Excel: points by activity prefecture-wide, and the definitions', async () => {
    const { ws } = await mileageSheet();
    const texts: string[] = [];
    ws.eachRow((r) => texts.push((r.values as unknown[]).slice(1).map(String).join('|')));
    expect(texts).toContain('健康診断の受診|職員付与|50|2|200|5');
    expect(texts).toContain('スポーツイベント|会場QR|60|2|90|3');
    expect(texts).toContain('訂正 (活動の指定なし)|訂正|0|0|-20|0');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(file('kpi-xlsx').bytes as unknown as ExcelJS.Buffer);
    const defs: string[] = [];
    wb.getWorksheet('定義')!.eachRow((r) => defs.push(String(r.getCell(2).value)));
    expect(defs).toContain(MILEAGE_FIGURES.participants.definition);
  });

  it('Word and PDF: the section with the figures and the reason for "—"', () => {
    const word = docxText(file('kpi-docx').bytes);
    const pdf = pdfText(file('kpi-pdf').bytes);
    for (const text of [word, pdf]) {
      expect(text).toContain('健康マイレージ (令和7年度)');
      expect(text).toContain('参加者は 6 人');
      expect(text).toContain('年度累計 340 pt');
      expect(text).toContain(MISSING_REASONS.no_programme);
      expect(text).toContain(MILEAGE_FIGURES.participants.definition.slice(0, 20));
    }
  });

  it('charts: participants (per 1,000 residents), points by activity, goal and cards — Word, PDF and Excel', async () => {
    const captions = [
      '市町別の健康マイレージ参加者',
      '県全体の活動別の獲得ポイント',
      '市町別の目標達成者ととこわか健康応援カードの発行',
    ];
    // Word: the mileage section's three figures first (図1–3), the report's four other charts after them
    const docx = file('kpi-docx').bytes;
    const media = zipEntries(docx).filter((e) => e.name.startsWith('word/media/'));
    expect(media).toHaveLength(7);
    for (const img of media) expect(img.size).toBeGreaterThan(5000);
    const word = docxText(docx);
    captions.forEach((c, i) => expect(word).toContain(`図${i + 1} ${c}`));
    expect(word.indexOf('図1 市町別の健康マイレージ参加者')).toBeLessThan(word.indexOf('3. グラフ'));
    expect(word).toContain('図4 市町別の友だち数');
    // PDF: seven images, the captions read back
    const pdf = file('kpi-pdf').bytes;
    const images = execFileSync('pdfimages', ['-list', '-'], { input: pdf })
      .toString('utf8')
      .split('\n')
      .slice(2)
      .filter((l) => l.trim());
    expect(images).toHaveLength(7);
    const text = pdfText(pdf).replace(/\s+/g, '');
    for (const c of captions) expect(text).toContain(c.replace(/\s+/g, ''));
    // Excel: a sheet of its own right after マイレージ; the グラフ sheet keeps the other four
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(file('kpi-xlsx').bytes as unknown as ExcelJS.Buffer);
    const names = wb.worksheets.map((w) => w.name);
    expect(names[names.indexOf('マイレージ') + 1]).toBe('マイレージのグラフ');
    const sheet = wb.getWorksheet('マイレージのグラフ')!;
    expect(sheet.getImages()).toHaveLength(3);
    const labels: string[] = [];
    sheet.eachRow((r) => labels.push(String(r.getCell(1).value)));
    captions.forEach((c, i) => expect(labels.some((l) => l.startsWith(`図${i + 1} ${c}`))).toBe(true));
    expect(wb.getWorksheet('グラフ')!.getImages()).toHaveLength(4);
  });
});
