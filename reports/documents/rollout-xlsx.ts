/**
 * 業務工程表 in Excel: one row per municipality and step, with the planned and actual dates (dates as
 * dates, shown in 和暦), where the actual date comes from, and the state in words — a late step reads
 * 「遅延」 with the days past its plan, in bold on a marked fill, so it stands out without colour too.
 */
import type { Worksheet } from 'exceljs';
import { type RolloutBoard, STEP_STATUS_LABELS } from '../rollout.ts';
import { formatWareki } from '../../core/time.ts';
import type { DocumentHeader } from './common.ts';
import { bodyCell, DATE_FORMAT, excelDate, headerRow, printable, titleBlock } from './xlsx-kit.ts';

const COLUMNS = [
  { label: '市町', width: 14 },
  { label: '工程', width: 22 },
  { label: '予定日', width: 16 },
  { label: '実績日', width: 16 },
  { label: '実績の出典', width: 14 },
  { label: '状況', width: 16 },
  { label: '遅延日数', width: 10 },
  { label: 'メモ', width: 36 },
] as const;

const LATE_FILL = 'FFFDE8E4';

export function rolloutSummary(board: RolloutBoard): string {
  const late = board.rows.flatMap((r) => r.steps.filter((s) => s.status === 'late').map(() => r.name));
  const towns = [...new Set(late)];
  return (
    `${formatWareki(board.asOf)}時点で、${board.rows.length} 市町のうち運用を開始した市町は ` +
    `${board.rows.filter((r) => r.steps.find((s) => s.key === 'launched')?.actualOn).length} 市町です。` +
    (towns.length
      ? `予定日を過ぎて完了していない工程が ${late.length} 件あります (${towns.join('、')})。`
      : '予定日を過ぎて完了していない工程はありません。')
  );
}

/** The board on a sheet; returns nothing (the sheet is printable on its own). */
export function rolloutSheet(ws: Worksheet, board: RolloutBoard, h: DocumentHeader): void {
  const start = titleBlock(ws, { ...h, title: '業務工程表' }, COLUMNS.length, [
    rolloutSummary(board),
    '実績日は、チャネル情報の登録・リッチメニューの設定・マイレージ事業の設定・運用開始 (初回配信) は Tayori の記録から、ほかは受託者の入力によります。',
  ]);
  COLUMNS.forEach((c, i) => (ws.getColumn(i + 1).width = c.width));
  headerRow(
    ws,
    start,
    COLUMNS.map((c) => c.label),
  );
  let row = start + 1;
  for (const r of board.rows) {
    for (const s of r.steps) {
      const late = s.status === 'late' || s.status === 'done_late';
      const x = ws.getRow(row);
      const values = [
        r.name,
        s.label,
        excelDate(s.plannedOn),
        excelDate(s.actualOn),
        s.actualSource === 'record' ? 'Tayori の記録' : s.actualSource === 'entered' ? '受託者の入力' : '',
        late ? `⚠ ${STEP_STATUS_LABELS[s.status]}` : STEP_STATUS_LABELS[s.status],
        late ? s.daysLate : null,
        s.note,
      ];
      values.forEach((v, i) => {
        const c = x.getCell(i + 1);
        c.value = v;
        bodyCell(c, {
          numFmt: i === 2 || i === 3 ? DATE_FORMAT : undefined,
          wrap: i === 7,
          bold: late && (i === 5 || i === 6),
          fill: late ? LATE_FILL : undefined,
          align: i === 6 ? 'right' : undefined,
        });
      });
      row++;
    }
  }
  printable(ws, { landscape: true, headerRow: start, lastColumn: COLUMNS.length, lastRow: row - 1 });
}
