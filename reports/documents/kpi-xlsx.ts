/**
 * 月次KPI報告書 (Excel): the KPI table with numbers as numbers (number formats for thousands and
 * percent with one decimal; an unknown figure is an empty cell with a note saying why), the month's
 * deliveries, the charts and the definitions.
 */
import type { Worksheet } from 'exceljs';
import type { ChartImage } from './charts.ts';
import { Footnotes, definitionRows, type DocumentHeader } from './common.ts';
import { ACTIVITY_HEADER, MILEAGE_COLUMNS, mileageKpiRows, mileageLead, mileageSummary } from './kpi-mileage.ts';
import { KPI_COLUMNS, kpiRows, kpiSummary } from './kpi-table.ts';
import { faqChart, faqSheet } from './kpi-faq.ts';
import type { DeliveryFigures, MonthlySources } from './sources.ts';
import { rolloutSheet } from './rollout-xlsx.ts';
import {
  bodyCell,
  chartsSheet,
  fig,
  headerRow,
  newWorkbook,
  notesBlock,
  printable,
  titleBlock,
  writeTable,
  xlsxBuffer,
} from './xlsx-kit.ts';
import { tokyoWallClock } from '../../core/time.ts';
import { notableLines } from './final-findings.ts';
import { splitCharts } from './mileage-charts.ts';

/** Writes the KPI table from `start`; returns the next free row. */
export function kpiTableSheet(
  ws: Worksheet,
  s: Pick<MonthlySources, 'overview'>,
  start: number,
  notes: Footnotes,
): number {
  return writeTable(
    ws,
    start,
    [
      { label: '市町', width: 14 },
      ...KPI_COLUMNS.map((c) => ({ label: `${c.label}\n(${c.unit})`, width: c.kind === 'percent' ? 11 : 12 })),
    ],
    kpiRows(s.overview).map((r) => ({
      strong: r.total,
      cells: [
        r.name,
        ...KPI_COLUMNS.map((c) => fig(r.cells[c.key].value, c.kind, r.cells[c.key].reason, r.cells[c.key].partial)),
      ],
    })),
    notes,
  );
}

/**
 * The health-mileage sheet: the per-municipality table (the month and the fiscal year so far, numbers
 * as numbers; a municipality without a programme has empty cells with the reason), then the
 * prefecture-wide points by activity and by method.
 */
export function mileageSheet(ws: Worksheet, s: Pick<MonthlySources, 'mileage'>, h: DocumentHeader): void {
  const m = s.mileage;
  const notes = new Footnotes();
  const columns = MILEAGE_COLUMNS.length + 1;
  const start = titleBlock(ws, { ...h, title: `${h.title} 健康マイレージ` }, columns, [
    mileageLead(m),
    ...mileageSummary(m, notes),
  ]);
  let row = writeTable(
    ws,
    start,
    [{ label: '市町', width: 14 }, ...MILEAGE_COLUMNS.map((c) => ({ label: `${c.label}\n(${c.unit})`, width: 12 }))],
    mileageKpiRows(m).map((r) => ({
      strong: r.total,
      cells: [r.name, ...MILEAGE_COLUMNS.map((c) => fig(r.cells[c.key].value, c.kind, r.cells[c.key].reason))],
    })),
    notes,
  );
  const put = (text: string) => {
    row++;
    ws.mergeCells(row, 1, row, columns);
    const c = ws.getCell(row, 1);
    c.value = text;
    c.font = { bold: true, size: 11 };
    row++;
  };
  const plain = { filter: false, freeze: false };
  put(`県全体の活動別ポイント (${m.monthLabel}・年度累計)`);
  row = writeTable(
    ws,
    row,
    ACTIVITY_HEADER.map((label, i) => ({ label, width: i === 0 ? 14 : 12 })),
    m.totals.activities.map((a) => ({
      cells: [
        a.name,
        a.methodLabel,
        fig(a.points, 'count'),
        fig(a.awards, 'count'),
        fig(a.pointsToDate, 'count'),
        fig(a.awardsToDate, 'count'),
      ],
    })),
    notes,
    { ...plain, empty: 'ポイントの記録はありません' },
  );
  put(`県全体の獲得方法別ポイント (${m.monthLabel}・年度累計)`);
  row = writeTable(
    ws,
    row,
    [
      { label: '獲得方法', width: 14 },
      { label: '獲得ポイント (月)\n(pt)', width: 12 },
      { label: '獲得ポイント (年度累計)\n(pt)', width: 12 },
    ],
    m.totals.methods.map((x) => ({ cells: [x.label, fig(x.points, 'count'), fig(x.pointsToDate, 'count')] })),
    notes,
    { ...plain, empty: 'ポイントの記録はありません' },
  );
  const last = notesBlock(ws, row + 1, notes, columns);
  printable(ws, { landscape: true, headerRow: start, lastColumn: columns, lastRow: last - 1 });
}

/** The deliveries as a table (numbers as numbers); returns the next free row. */
export function deliveriesSheet(
  ws: Worksheet,
  ds: readonly DeliveryFigures[],
  name: (id: string) => string,
  start: number,
  notes: Footnotes,
  extra?: {
    label: string;
    width: number;
    value: (d: DeliveryFigures) => string;
  },
): number {
  const figs = [
    { label: '配信人数\n(人)', key: 'delivered', kind: 'count' },
    { label: '開封人数\n(人)', key: 'uniqueImpressions', kind: 'count' },
    { label: '開封率\n(%)', key: 'openRate', kind: 'percent' },
    { label: 'クリック\n(人)', key: 'clicks', kind: 'count' },
    { label: 'クリック率\n(%)', key: 'clickRate', kind: 'percent' },
  ] as const;
  return writeTable(
    ws,
    start,
    [
      { label: '市町', width: 12 },
      { label: '配信日時', width: 17, format: 'datetime' },
      { label: 'タイトル', width: 40, format: 'wrap' },
      ...(extra ? [{ label: extra.label, width: extra.width, format: 'wrap' as const }] : []),
      ...figs.map((c) => ({ label: c.label, width: 11 })),
    ],
    ds.map((d) => ({
      cells: [
        name(d.tenantId),
        tokyoWallClock(Date.parse(d.sentAt)),
        d.title,
        ...(extra ? [extra.value(d)] : []),
        ...figs.map((c) => fig(d[c.key], c.kind, d.missing[c.key])),
      ],
    })),
    notes,
    { empty: 'この期間の配信はありません' },
  );
}

/** The definitions of the figures on a sheet. */
export function definitionsSheet(ws: Worksheet, h: DocumentHeader): void {
  ws.getColumn(1).width = 18;
  ws.getColumn(2).width = 90;
  const start = titleBlock(ws, { ...h, title: '用語の定義' }, 2);
  headerRow(ws, start, ['項目', '定義'], { filter: false });
  definitionRows().forEach(([label, def], i) => {
    const r = ws.getRow(start + 1 + i);
    bodyCell(Object.assign(r.getCell(1), { value: label }), { bold: true });
    bodyCell(Object.assign(r.getCell(2), { value: def }), { wrap: true });
  });
  printable(ws, { landscape: false, headerRow: start, lastColumn: 2, lastRow: start + definitionRows().length });
}

export async function kpiXlsx(
  s: MonthlySources,
  h: DocumentHeader,
  charts: readonly ChartImage[],
  now: Date,
): Promise<Buffer> {
  const wb = newWorkbook(now);
  const notes = new Footnotes();
  const ws = wb.addWorksheet('KPI', { properties: { defaultRowHeight: 18 } });
  const columns = KPI_COLUMNS.length + 1;
  const start = titleBlock(ws, h, columns, [...kpiSummary(s.overview, notes), ...notableLines(s.findings)]);
  const end = kpiTableSheet(ws, s, start, notes);
  const last = notesBlock(ws, end + 1, notes, columns);
  printable(ws, { landscape: true, headerRow: start, lastColumn: columns, lastRow: last - 1 });

  const dws = wb.addWorksheet('配信', { properties: { defaultRowHeight: 18 } });
  const dNotes = new Footnotes();
  const dStart = titleBlock(dws, { ...h, title: `${h.title} 配信一覧` }, 8, [
    `この月の配信 ${s.deliveries.length} 件 (配信日時は日本時間)。`,
  ]);
  const dEnd = deliveriesSheet(dws, s.deliveries, s.tenants.name, dStart, dNotes);
  const dLast = notesBlock(dws, dEnd + 1, dNotes, 8);
  printable(dws, { landscape: true, headerRow: dStart, lastColumn: 8, lastRow: dLast - 1 });

  mileageSheet(wb.addWorksheet('マイレージ', { properties: { defaultRowHeight: 18 } }), s, h);
  const { mileage, other } = splitCharts(charts);
  if (mileage.length)
    chartsSheet(wb, 'マイレージのグラフ', `${h.title}　${h.subtitle} 健康マイレージのグラフ`, mileage);
  faqSheet(wb, s, h, faqChart(charts));
  if (s.rollout) rolloutSheet(wb.addWorksheet('業務工程表', { properties: { defaultRowHeight: 18 } }), s.rollout, h);
  chartsSheet(wb, 'グラフ', `${h.title}　${h.subtitle} グラフ`, other);
  definitionsSheet(wb.addWorksheet('定義'), h);
  return xlsxBuffer(wb);
}
