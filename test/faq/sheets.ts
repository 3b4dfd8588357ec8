/**
 * FAQ scenario sheets as staff fill them in, for test/faq/*.test.ts: a node as a row of the
 * template's columns (written here, not taken from faq/xlsx.ts, so an import is checked against the
 * format rather than against its own export) and an xlsx workbook of such rows.
 */
import ExcelJS from 'exceljs';
import { FAQ_XLSX_HEADERS, type FaqNode } from '../../faq/index.ts';

/** A node as the sheet's row: the template's 9 cells. */
export const sheetRow = (n: FaqNode): string[] => [
  n.id,
  n.parentId,
  n.kind === 'category' ? 'カテゴリ' : '質問',
  n.title,
  n.keywords.join('、'),
  n.answer,
  n.imageUrl,
  n.links.map((l) => `${l.label}|${l.url}`).join('\n'),
  n.goTo,
];

/** An xlsx workbook: the template's headers, then these rows (each row: the 9 cells). */
export async function sheetXlsx(rows: string[][]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('シナリオ');
  ws.addRow(FAQ_XLSX_HEADERS);
  for (const r of rows) ws.addRow(r);
  return Buffer.from(await wb.xlsx.writeBuffer());
}
