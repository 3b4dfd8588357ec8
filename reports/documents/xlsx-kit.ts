/**
 * Building blocks of the Excel workbooks (exceljs): the title block (title, month, due date, when
 * made), a styled header row that stays frozen with filters, printing on A4 fit to the page width,
 * real dates and numbers with number formats.
 */
import ExcelJS from 'exceljs';
import type { Cell, Worksheet } from 'exceljs';
import { MISSING_REASONS, type Figure, type MissingReason } from '../../metrics/index.ts';
import type { ChartImage } from './charts.ts';
import {
  DASH_NOTE,
  EXCEL_FORMATS,
  PARTIAL_NOTE,
  type DocumentHeader,
  type FigureKind,
  type Footnotes,
} from './common.ts';

export const FONT = 'ＭＳ Ｐゴシック';

export function newWorkbook(now: Date): ExcelJS.Workbook {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'Tayori';
  wb.created = now;
  wb.modified = now;
  return wb;
}

/** Excel's calendar day for 'YYYY-MM-DD' (a real date, not text); null stays empty. */
export function excelDate(day: string | null): Date | null {
  return day === null ? null : new Date(`${day.slice(0, 10)}T00:00:00Z`);
}

/** Dates shown in 和暦 (令和8年4月15日); the cell holds a real date. */
export const DATE_FORMAT = '[$-411]ggge"年"m"月"d"日"';
export const DATETIME_FORMAT = 'yyyy/mm/dd hh:mm';

/** The title block at the top of a sheet; returns the next free row. */
export function titleBlock(ws: Worksheet, h: DocumentHeader, columns: number, extra: string[] = []): number {
  const put = (row: number, text: string, opts: { size?: number; bold?: boolean; right?: boolean } = {}) => {
    ws.mergeCells(row, 1, row, columns);
    const c = ws.getCell(row, 1);
    c.value = text;
    c.font = { name: FONT, size: opts.size ?? 10, bold: opts.bold };
    c.alignment = { horizontal: opts.right ? 'right' : 'left', vertical: 'middle' };
  };
  put(1, `${h.title}　${h.subtitle}`, { size: 14, bold: true });
  ws.getRow(1).height = 22;
  put(2, h.due, { bold: true });
  put(3, `${h.generated}　${h.parties}`);
  let row = 4;
  for (const line of extra) put(row++, line);
  return row + 1;
}

const thin = { style: 'thin' as const, color: { argb: 'FF808080' } };
export const BORDER = { top: thin, left: thin, bottom: thin, right: thin };

/** A header row (bold, shaded, wrapped) with filters, frozen with everything above it. */
export function headerRow(
  ws: Worksheet,
  row: number,
  labels: readonly string[],
  opts: { filter?: boolean; freeze?: boolean } = {},
): void {
  const r = ws.getRow(row);
  labels.forEach((l, i) => {
    const c = r.getCell(i + 1);
    c.value = l;
    c.font = { name: FONT, size: 10, bold: true };
    c.fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFD9E2F3' } };
    c.alignment = { horizontal: 'center', vertical: 'middle', wrapText: true };
    c.border = BORDER;
  });
  r.height = 30;
  if (opts.freeze !== false)
    ws.views = [{ state: 'frozen', xSplit: 0, ySplit: row, topLeftCell: `A${row + 1}`, activeCell: `A${row + 1}` }];
  if (opts.filter !== false) ws.autoFilter = { from: { row, column: 1 }, to: { row, column: labels.length } };
}

/** Body cell style: font, border, wrap for text. */
export function bodyCell(
  c: Cell,
  opts: { numFmt?: string; wrap?: boolean; bold?: boolean; fill?: string; align?: 'left' | 'right' | 'center' } = {},
): void {
  c.font = { name: FONT, size: 10, bold: opts.bold };
  c.border = BORDER;
  c.alignment = { vertical: 'top', wrapText: opts.wrap, horizontal: opts.align };
  if (opts.numFmt) c.numFmt = opts.numFmt;
  if (opts.fill) c.fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: opts.fill } };
}

/** A4, fit to the page width (any number of pages down), header row repeated, page numbers. */
export function printable(
  ws: Worksheet,
  o: { landscape: boolean; headerRow?: number; lastColumn: number; lastRow: number },
): void {
  ws.pageSetup = {
    paperSize: 9,
    orientation: o.landscape ? 'landscape' : 'portrait',
    fitToPage: true,
    fitToWidth: 1,
    fitToHeight: 0,
    horizontalCentered: true,
    margins: { left: 0.5, right: 0.5, top: 0.6, bottom: 0.6, header: 0.3, footer: 0.3 },
    printArea: `A1:${colName(o.lastColumn)}${Math.max(o.lastRow, 1)}`,
    ...(o.headerRow ? { printTitlesRow: `${o.headerRow}:${o.headerRow}` } : {}),
  };
  ws.headerFooter = { oddFooter: '&C&P / &N ページ' };
}

export function colName(n: number): string {
  let s = '';
  for (let i = n; i > 0; i = Math.floor((i - 1) / 26)) s = String.fromCharCode(65 + ((i - 1) % 26)) + s;
  return s;
}

/** Footnote lines under a table, from row `row`; returns the next free row. */
export function notesBlock(ws: Worksheet, row: number, notes: Footnotes, columns: number): number {
  if (!notes.size) return row;
  const lines = ['注記', DASH_NOTE, ...notes.lines()];
  for (const [i, line] of lines.entries()) {
    ws.mergeCells(row, 1, row, columns);
    const c = ws.getCell(row, 1);
    c.value = line;
    c.font = { name: FONT, size: 9, bold: i === 0 };
    c.alignment = { wrapText: true, vertical: 'top' };
    row++;
  }
  return row;
}

/** The charts on a sheet of their own, one under another. */
export function chartsSheet(wb: ExcelJS.Workbook, name: string, title: string, charts: readonly ChartImage[]): void {
  const ws = wb.addWorksheet(name, { properties: { defaultRowHeight: 15 } });
  ws.getCell('A1').value = title;
  ws.getCell('A1').font = { name: FONT, size: 14, bold: true };
  let row = 2;
  const widthPx = 900;
  charts.forEach((img, i) => {
    ws.getCell(row + 1, 1).value = `図${i + 1} ${img.caption}`;
    ws.getCell(row + 1, 1).font = { name: FONT, size: 10, bold: true };
    const id = wb.addImage({ buffer: img.png as unknown as ExcelJS.Buffer, extension: 'png' });
    const h = Math.round((widthPx * img.height) / img.width);
    ws.addImage(id, { tl: { col: 0, row: row + 1 }, ext: { width: widthPx, height: h } });
    row += 3 + Math.ceil(h / 20);
  });
  printable(ws, { landscape: false, lastColumn: 12, lastRow: row });
}

/** A figure cell: a number with its format, or empty with a note saying why it is not known. */
export interface FigureCell {
  value: Figure;
  kind: FigureKind;
  reason?: MissingReason;
  partial?: boolean;
}

export type TableCell = string | number | Date | null | FigureCell;

export interface TableColumn {
  label: string;
  width: number;
  /** How plain values are shown: dates in 和暦, date and time, wrapped text. */
  format?: 'date' | 'datetime' | 'wrap';
  align?: 'left' | 'right' | 'center';
}

const isFigure = (c: TableCell): c is FigureCell => typeof c === 'object' && c !== null && !(c instanceof Date);

/**
 * A table from row `start`: the header (frozen, with filters) and one row per entry; unknown
 * figures are empty cells with a note, and their reasons go to `notes`. Returns the next free row.
 */
export function writeTable(
  ws: Worksheet,
  start: number,
  columns: readonly TableColumn[],
  rows: ReadonlyArray<{ cells: readonly TableCell[]; strong?: boolean; height?: number }>,
  notes: Footnotes,
  opts: { filter?: boolean; freeze?: boolean; empty?: string } = {},
): number {
  columns.forEach((c, i) => (ws.getColumn(i + 1).width = c.width));
  headerRow(
    ws,
    start,
    columns.map((c) => c.label),
    { filter: opts.filter, freeze: opts.freeze },
  );
  if (columns.some((c) => c.label.includes('\n'))) ws.getRow(start).height = 32;
  let row = start + 1;
  for (const r of rows) {
    const x = ws.getRow(row);
    const fill = r.strong ? 'FFF2F2F2' : undefined;
    r.cells.forEach((cell, i) => {
      const c = x.getCell(i + 1);
      const col = columns[i]!;
      if (isFigure(cell)) {
        c.value = cell.value;
        bodyCell(c, { numFmt: EXCEL_FORMATS[cell.kind], bold: r.strong, fill, align: 'right' });
        const why = [
          cell.value === null && cell.reason ? MISSING_REASONS[cell.reason] : '',
          cell.partial ? PARTIAL_NOTE : '',
        ].filter(Boolean);
        if (why.length) c.note = why.join('\n');
        if (cell.value === null && cell.reason) notes.reason(cell.reason);
        if (cell.partial) notes.mark(PARTIAL_NOTE);
      } else {
        c.value = cell;
        bodyCell(c, {
          numFmt: col.format === 'date' ? DATE_FORMAT : col.format === 'datetime' ? DATETIME_FORMAT : undefined,
          wrap: col.format === 'wrap',
          bold: r.strong,
          fill,
          align: col.align,
        });
      }
    });
    if (r.height) x.height = r.height;
    row++;
  }
  if (!rows.length && opts.empty) {
    ws.mergeCells(row, 1, row, columns.length);
    bodyCell(Object.assign(ws.getCell(row, 1), { value: opts.empty }));
    row++;
  }
  return row;
}

/** A figure of a number column: `{ value, kind, reason }`. */
export const fig = (value: Figure, kind: FigureKind, reason?: MissingReason, partial?: boolean): FigureCell => ({
  value,
  kind,
  reason,
  partial,
});

export async function xlsxBuffer(wb: ExcelJS.Workbook): Promise<Buffer> {
  return Buffer.from(await wb.xlsx.writeBuffer());
}
