/**
 * 月次KPI報告書 (Excel): the KPI table with numbers as numbers (number formats for thousands and
 * percent with one decimal; an unknown figure is an empty cell with a note saying why), the month's
 * deliveries, the charts and the definitions.
 */
import type { Worksheet } from 'exceljs';
import { MISSING_REASONS } from '../../dashboard/index.ts';
import type { ChartImage } from './charts.ts';
import { EXCEL_FORMATS, Footnotes, PARTIAL_NOTE, definitionRows, type DocumentHeader } from './common.ts';
import { KPI_COLUMNS, kpiRows, kpiSummary } from './kpi-table.ts';
import type { DeliveryFigures, MonthlySources } from './sources.ts';
import {
  DATETIME_FORMAT, bodyCell, chartsSheet, headerRow, newWorkbook, notesBlock, printable, titleBlock, xlsxBuffer,
} from './xlsx-kit.ts';

/** Writes the KPI table from `start`; returns the next free row. Exported for the final report. */
export function kpiTableSheet(ws: Worksheet, s: Pick<MonthlySources, 'overview'>, start: number, notes: Footnotes): number {
  ws.getColumn(1).width = 14;
  KPI_COLUMNS.forEach((c, i) => (ws.getColumn(i + 2).width = c.kind === 'percent' ? 11 : 12));
  headerRow(ws, start, ['市町', ...KPI_COLUMNS.map((c) => `${c.label}\n(${c.unit})`)]);
  ws.getRow(start).height = 32;
  let row = start + 1;
  for (const r of kpiRows(s.overview)) {
    const x = ws.getRow(row);
    const fill = r.total ? 'FFF2F2F2' : undefined;
    bodyCell(Object.assign(x.getCell(1), { value: r.name }), { bold: r.total, fill });
    KPI_COLUMNS.forEach((c, i) => {
      const cell = r.cells[c.key];
      const xc = x.getCell(i + 2);
      xc.value = cell.value;
      bodyCell(xc, { numFmt: EXCEL_FORMATS[c.kind], bold: r.total, fill, align: 'right' });
      const why = [cell.reason ? MISSING_REASONS[cell.reason] : '', cell.partial ? PARTIAL_NOTE : ''].filter(Boolean);
      if (why.length) {
        xc.note = why.join('\n');
        if (cell.reason) notes.reason(cell.reason);
        if (cell.partial) notes.mark(PARTIAL_NOTE);
      }
    });
    row++;
  }
  return row;
}

/** The deliveries as a table (numbers as numbers); returns the next free row. */
export function deliveriesSheet(ws: Worksheet, ds: DeliveryFigures[], name: (id: string) => string, start: number, notes: Footnotes): number {
  const text = [{ label: '市町', width: 12 }, { label: '配信日時', width: 17 }, { label: 'タイトル', width: 40 }];
  const figs = [
    { label: '配信人数\n(人)', key: 'delivered', kind: 'count' },
    { label: '開封人数\n(人)', key: 'uniqueImpressions', kind: 'count' },
    { label: '開封率\n(%)', key: 'openRate', kind: 'percent' },
    { label: 'クリック\n(人)', key: 'clicks', kind: 'count' },
    { label: 'クリック率\n(%)', key: 'clickRate', kind: 'percent' },
  ] as const;
  const columns = text.length + figs.length;
  text.forEach((c, i) => (ws.getColumn(i + 1).width = c.width));
  figs.forEach((_, i) => (ws.getColumn(text.length + i + 1).width = 11));
  headerRow(ws, start, [...text.map((c) => c.label), ...figs.map((c) => c.label)]);
  ws.getRow(start).height = 32;
  let row = start + 1;
  for (const d of ds) {
    const x = ws.getRow(row);
    bodyCell(Object.assign(x.getCell(1), { value: name(d.tenantId) }));
    bodyCell(Object.assign(x.getCell(2), { value: new Date(Date.parse(d.sentAt) + 9 * 3_600_000) }), { numFmt: DATETIME_FORMAT });
    bodyCell(Object.assign(x.getCell(3), { value: d.title }), { wrap: true });
    figs.forEach((c, i) => {
      const xc = x.getCell(text.length + i + 1);
      xc.value = d[c.key];
      bodyCell(xc, { numFmt: EXCEL_FORMATS[c.kind], align: 'right' });
      const reason = d[c.key] === null ? d.missing[c.key] : undefined;
      if (reason) {
        xc.note = MISSING_REASONS[reason];
        notes.reason(reason);
      }
    });
    row++;
  }
  if (!ds.length) {
    ws.mergeCells(row, 1, row, columns);
    bodyCell(Object.assign(ws.getCell(row, 1), { value: 'この期間の配信はありません' }));
    row++;
  }
  return row;
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

export async function kpiXlsx(s: MonthlySources, h: DocumentHeader, charts: readonly ChartImage[], now: Date): Promise<Buffer> {
  const wb = newWorkbook(now);
  const notes = new Footnotes();
  const ws = wb.addWorksheet('KPI', { properties: { defaultRowHeight: 18 } });
  const columns = KPI_COLUMNS.length + 1;
  const start = titleBlock(ws, h, columns, kpiSummary(s.overview, notes));
  const end = kpiTableSheet(ws, s, start, notes);
  const last = notesBlock(ws, end + 1, notes, columns);
  printable(ws, { landscape: true, headerRow: start, lastColumn: columns, lastRow: last - 1 });

  const dws = wb.addWorksheet('配信', { properties: { defaultRowHeight: 18 } });
  const dNotes = new Footnotes();
  const dStart = titleBlock(dws, { ...h, title: `${h.title} 配信一覧` }, 8, [`この月の配信 ${s.deliveries.length} 件 (配信日時は日本時間)。`]);
  const dEnd = deliveriesSheet(dws, s.deliveries, s.tenants.name, dStart, dNotes);
  const dLast = notesBlock(dws, dEnd + 1, dNotes, 8);
  printable(dws, { landscape: true, headerRow: dStart, lastColumn: 8, lastRow: dLast - 1 });

  chartsSheet(wb, 'グラフ', `${h.title}　${h.subtitle} グラフ`, charts);
  definitionsSheet(wb.addWorksheet('定義'), h);
  return xlsxBuffer(wb);
}
