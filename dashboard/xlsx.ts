import ExcelJS from 'exceljs';

/**
 * A table download as Excel (exceljs): one sheet, a bold header row that stays in view with
 * filters, numbers as numbers; a null cell is written as "—" (unknown, as on the page).
 */
export type XlsxCell = string | number | null;

export async function xlsxWorkbook(sheetName: string, rows: XlsxCell[][]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'Tayori';
  // Excel refuses sheet names over 31 characters or with []:*?/\
  const ws = wb.addWorksheet(sheetName.replace(/[[\]:*?/\\]/g, ' ').slice(0, 31), {
    views: [{ state: 'frozen', ySplit: 1 }],
  });
  for (const r of rows) ws.addRow(r.map((c) => (c === null ? '—' : c)));
  const header = ws.getRow(1);
  header.font = { bold: true };
  const width = rows[0]?.length ?? 0;
  if (width > 0 && rows.length > 1) ws.autoFilter = { from: { row: 1, column: 1 }, to: { row: 1, column: width } };
  ws.columns.forEach((col, i) => {
    const longest = Math.max(...rows.map((r) => String(r[i] ?? '—').length));
    col.width = Math.min(40, Math.max(8, longest * 2));
  });
  return Buffer.from(await wb.xlsx.writeBuffer());
}
