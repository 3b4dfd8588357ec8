/**
 * Reads a grants file staff upload (CSV in UTF-8 or Shift_JIS as Excel saves it, or xlsx) into rows
 * of text cells, through exceljs. The first row is the header; columns are found by their Japanese
 * names (会員番号, 活動, 活動日, ポイント数 is not read: points come from the activity, 理由).
 */
import { Readable } from 'node:stream';
import { AppError } from '../core/errors.ts';

export interface GrantFileRow {
  /** 1-based row number in the file (the header is row 1). */
  row: number;
  memberNo: string;
  activity: string;
  activityOn: string;
  reason: string;
}

const HEADERS: Record<keyof Omit<GrantFileRow, 'row'>, readonly string[]> = {
  memberNo: ['会員番号', 'カード番号', 'member_no', 'memberno'],
  activity: ['活動', '活動名', '活動id', 'activity', 'activity_id'],
  activityOn: ['活動日', '実施日', '受診日', '日付', 'activity_on', 'date'],
  reason: ['理由', '備考', 'reason'],
};
export const MAX_IMPORT_ROWS = 5000;

function decodeText(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes).replace(/^\uFEFF/, '');
  } catch {
    return new TextDecoder('shift_jis').decode(bytes);
  }
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) {
    // an xlsx date cell: its UTC fields are the day as written
    return v.toISOString().slice(0, 10);
  }
  if (typeof v === 'object') {
    const o = v as { text?: unknown; result?: unknown; richText?: Array<{ text: string }> };
    if (o.richText) return o.richText.map((t) => t.text).join('');
    if (o.text !== undefined) return String(o.text);
    if (o.result !== undefined) return cellText(o.result);
    return '';
  }
  return String(v).trim();
}

/** A day as staff type it (2026/6/1, 2026-06-01, 令和 is not read) → YYYY-MM-DD, or the text as it was. */
export function normaliseDay(text: string): string {
  const m = /^(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})$/.exec(text.normalize('NFKC').trim());
  return m ? `${m[1]}-${m[2]!.padStart(2, '0')}-${m[3]!.padStart(2, '0')}` : text.trim();
}

export async function readGrantFile(fileName: string, bytes: Buffer): Promise<GrantFileRow[]> {
  const { default: ExcelJS } = await import('exceljs');
  const wb = new ExcelJS.Workbook();
  const lower = fileName.toLowerCase();
  try {
    if (lower.endsWith('.xlsx')) await wb.xlsx.load(bytes as unknown as ArrayBuffer);
    else if (lower.endsWith('.csv') || lower.endsWith('.txt'))
      await wb.csv.read(Readable.from([decodeText(bytes)]), { map: (v: unknown) => v } as never);
    else throw new AppError('import_file_type', 'ファイルは CSV (.csv) または Excel (.xlsx) にしてください', 400);
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw new AppError(
      'import_file_unreadable',
      `ファイル「${fileName}」を読み取れませんでした。形式を確かめてください`,
      400,
    );
  }
  const sheet = wb.worksheets[0];
  if (!sheet || sheet.rowCount < 1) throw new AppError('import_empty', 'ファイルにデータがありません', 400);
  const header = (sheet.getRow(1).values as unknown[]).map((v) => cellText(v).toLowerCase().replace(/\s/g, ''));
  const col = (names: readonly string[]) => header.findIndex((h) => names.includes(h));
  const cols = {
    memberNo: col(HEADERS.memberNo),
    activity: col(HEADERS.activity),
    activityOn: col(HEADERS.activityOn),
    reason: col(HEADERS.reason),
  };
  if (cols.memberNo < 0 || cols.activity < 0) {
    throw new AppError(
      'import_header',
      '1 行目に見出し「会員番号」と「活動」が必要です (任意: 「活動日」「理由」)',
      400,
    );
  }
  const rows: GrantFileRow[] = [];
  for (let r = 2; r <= sheet.rowCount; r++) {
    const values = sheet.getRow(r).values as unknown[];
    const at = (i: number) => (i < 0 ? '' : cellText(values[i]));
    const row = {
      row: r,
      memberNo: at(cols.memberNo),
      activity: at(cols.activity),
      activityOn: normaliseDay(at(cols.activityOn)),
      reason: at(cols.reason),
    };
    if (!row.memberNo && !row.activity && !row.activityOn && !row.reason) continue;
    rows.push(row);
    if (rows.length > MAX_IMPORT_ROWS) {
      throw new AppError(
        'import_too_many',
        `一度に取り込めるのは ${MAX_IMPORT_ROWS} 行までです。ファイルを分けてください`,
        400,
      );
    }
  }
  if (rows.length === 0) throw new AppError('import_empty', 'ファイルにデータ行がありません', 400);
  return rows;
}
