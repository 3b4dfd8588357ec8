/**
 * 課題管理表 (Excel): the month's issue log (raised by the month's end and not resolved before its
 * start) on one sheet, and on a second every change to those entries, field by field.
 */
import type { Worksheet } from 'exceljs';
import type { Issue } from '../store.ts';
import { monthlyHeader, warekiDay } from './common.ts';
import type { MonthlySources } from './sources.ts';
import {
  DATE_FORMAT,
  DATETIME_FORMAT,
  bodyCell,
  excelDate,
  headerRow,
  newWorkbook,
  printable,
  titleBlock,
  xlsxBuffer,
} from './xlsx-kit.ts';
import { tokyoWallClock } from '../../core/time.ts';

export const ISSUES_TITLE = '課題管理表';

const columns = (...pairs: Array<[string, number]>) => pairs.map(([label, width]) => ({ label, width }));
const LOG_COLUMNS = columns(
  ['No.', 6],
  ['市町', 12],
  ['起票日', 17],
  ['分類', 12],
  ['内容', 46],
  ['対応', 46],
  ['担当', 12],
  ['状況', 9],
  ['期限', 17],
  ['完了日', 17],
);
const HISTORY_COLUMNS = columns(
  ['No.', 6],
  ['市町', 12],
  ['変更日時', 17],
  ['変更者', 14],
  ['操作', 8],
  ['項目', 12],
  ['変更前', 36],
  ['変更後', 36],
  ['変更の理由', 28],
);

const STATUS_FILL: Record<string, string> = { 未着手: 'FFFCE4D6', 対応中: 'FFFFF2CC', 完了: 'FFE2EFDA' };
const ACTION_LABELS: Record<string, string> = { created: '起票', updated: '変更', deleted: '削除' };
const DATE_FIELDS = new Set(['raisedOn', 'dueOn', 'resolvedOn']);

/** Rough row height for wrapped text: full-width characters take two width units. */
function fitHeight(texts: Array<[string, number]>): number {
  let lines = 1;
  for (const [text, width] of texts) {
    const perLine = Math.max(1, width - 1);
    const n = text
      .split('\n')
      .reduce(
        (a, l) =>
          a + Math.max(1, Math.ceil([...l].reduce((w, ch) => w + (ch.charCodeAt(0) > 0xff ? 2 : 1), 0) / perLine)),
        0,
      );
    lines = Math.max(lines, n);
  }
  return Math.min(409, Math.max(18, lines * 13.5 + 4));
}

function logSheet(ws: Worksheet, s: MonthlySources, issues: Issue[], startRow: number): number {
  LOG_COLUMNS.forEach((c, i) => (ws.getColumn(i + 1).width = c.width));
  headerRow(
    ws,
    startRow,
    LOG_COLUMNS.map((c) => c.label),
  );
  let row = startRow + 1;
  for (const i of issues) {
    const r = ws.getRow(row);
    const values: Array<string | number | Date | null> = [
      i.no,
      s.tenants.name(i.tenantId),
      excelDate(i.raisedOn),
      i.category,
      i.description,
      i.response,
      i.owner,
      i.status,
      excelDate(i.dueOn),
      excelDate(i.resolvedOn),
    ];
    values.forEach((v, ci) => {
      const c = r.getCell(ci + 1);
      c.value = v;
      const isDate = ci === 2 || ci >= 8;
      bodyCell(c, {
        numFmt: isDate ? DATE_FORMAT : undefined,
        wrap: !isDate,
        align: ci === 0 || ci === 7 ? 'center' : undefined,
        fill: ci === 7 ? STATUS_FILL[i.status] : undefined,
      });
    });
    r.height = fitHeight([
      [i.description, 46],
      [i.response, 46],
    ]);
    row++;
  }
  return row;
}

function historySheet(ws: Worksheet, s: MonthlySources, issues: Issue[], startRow: number): number {
  HISTORY_COLUMNS.forEach((c, i) => (ws.getColumn(i + 1).width = c.width));
  headerRow(
    ws,
    startRow,
    HISTORY_COLUMNS.map((c) => c.label),
  );
  const show = (field: string, v: unknown): string => {
    if (v === null || v === undefined || v === '') return '(なし)';
    if (field === 'tenantId') return s.tenants.name(String(v));
    if (DATE_FIELDS.has(field)) return warekiDay(String(v));
    return String(v);
  };
  let row = startRow + 1;
  for (const i of issues) {
    for (const h of s.history.get(i.id) ?? []) {
      const changes = h.changes?.length ? h.changes : [{ field: '', label: '—', from: null, to: null }];
      for (const ch of changes) {
        const r = ws.getRow(row);
        const from = h.action === 'created' ? '' : show(ch.field, ch.from);
        const to = h.action === 'deleted' ? '' : show(ch.field, ch.to);
        const values: Array<string | number | Date> = [
          i.no,
          s.tenants.name(i.tenantId),
          tokyoWallClock(Date.parse(h.changedAt)),
          h.changedBy,
          ACTION_LABELS[h.action] ?? h.action,
          ch.label,
          from,
          to,
          h.note ?? '',
        ];
        values.forEach((v, ci) =>
          bodyCell(Object.assign(r.getCell(ci + 1), { value: v }), {
            numFmt: ci === 2 ? DATETIME_FORMAT : undefined,
            wrap: ci >= 5,
            align: ci === 0 || ci === 4 ? 'center' : undefined,
          }),
        );
        r.height = fitHeight([
          [from, 36],
          [to, 36],
        ]);
        row++;
      }
    }
  }
  return row;
}

export async function issuesXlsx(s: MonthlySources, now: Date): Promise<Buffer> {
  const h = monthlyHeader(ISSUES_TITLE, s.month, now, s.tenants.prefecture);
  const wb = newWorkbook(now);
  const open = s.issues.filter((i) => i.status !== '完了').length;
  const summary = s.issues.length
    ? `掲載 ${s.issues.length} 件 (未完了 ${open} 件、完了 ${s.issues.length - open} 件)。この月の末日までに起票され、この月の初日より前に完了していない課題を掲載しています。`
    : 'この月に掲載する課題はありません。';

  const log = wb.addWorksheet('課題管理表', { properties: { defaultRowHeight: 18 } });
  const logStart = titleBlock(log, h, LOG_COLUMNS.length, [summary]);
  const logEnd = logSheet(log, s, s.issues, logStart);
  printable(log, { landscape: true, headerRow: logStart, lastColumn: LOG_COLUMNS.length, lastRow: logEnd - 1 });

  const hist = wb.addWorksheet('変更履歴', { properties: { defaultRowHeight: 18 } });
  const histStart = titleBlock(hist, { ...h, title: `${ISSUES_TITLE} 変更履歴` }, HISTORY_COLUMNS.length, [
    '掲載した課題ごとに、起票からのすべての変更を項目ごとに記録しています (変更日時は日本時間)。',
  ]);
  const histEnd = historySheet(hist, s, s.issues, histStart);
  printable(hist, { landscape: true, headerRow: histStart, lastColumn: HISTORY_COLUMNS.length, lastRow: histEnd - 1 });
  return xlsxBuffer(wb);
}
