/**
 * The suite's one CSV writer, for files staff open in Excel: UTF-8 with a BOM (Excel then reads it as
 * UTF-8), CRLF line ends, RFC 4180 quoting, and text cells that a spreadsheet would run as a formula
 * (starting with = + - @, a tab or a CR) neutralised with a leading apostrophe. Numbers stay numbers.
 */

export const CSV_BOM = '\uFEFF';

export interface CsvOptions {
  /** What a null or undefined cell shows (default: empty; the overview shows "—"). */
  nullAs?: string;
}

/** One cell, quoted when needed; formula-leading text neutralised. */
export function csvCell(v: unknown, opts: CsvOptions = {}): string {
  if (typeof v === 'number' || typeof v === 'bigint') return Number.isFinite(Number(v)) ? String(v) : '';
  let s = v === null || v === undefined ? (opts.nullAs ?? '') : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n']/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One line with its CRLF. */
export function csvLine(cells: readonly unknown[], opts: CsvOptions = {}): string {
  return `${cells.map((c) => csvCell(c, opts)).join(',')}\r\n`;
}

/** A whole file: the BOM, then every row (the first is usually the header). */
export function toCsv(rows: readonly (readonly unknown[])[], opts: CsvOptions = {}): string {
  return CSV_BOM + rows.map((r) => csvLine(r, opts)).join('');
}
