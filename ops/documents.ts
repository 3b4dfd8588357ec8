/**
 * ops/ documents, in the style of reports/' (ＭＳ fonts, shaded frozen header rows with filters, A4):
 * the 運用報告 workbook of the monthly package — 稼働率, 対応履歴管理表, 運用課題管理表 and their
 * changes field by field — and the 障害報告書 (Word).
 */
import {
  AlignmentType,
  BorderStyle,
  Document,
  Packer,
  Paragraph,
  ShadingType,
  Table,
  TableCell,
  TableRow,
  TextRun,
  WidthType,
} from 'docx';
import ExcelJS from 'exceljs';
import type { Worksheet } from 'exceljs';
import { formatWareki, formatWarekiMonth, tokyoMinute, tokyoWallClock } from '../core/time.ts';
import type { Availability } from './availability.ts';
import {
  ANSWER_OPEN_DAYS,
  dayOf,
  INCIDENT_DUE_OPEN_DAYS,
  type IsOpenDay,
  openDaysAfter,
  openDaysBetween,
} from './open-days.ts';
import type { HistoryEntry, OpsRecord } from './records.ts';

const FONT = 'ＭＳ Ｐゴシック';
const thin = { style: 'thin' as const, color: { argb: 'FF808080' } };
const BORDER = { top: thin, left: thin, bottom: thin, right: thin };
const DATETIME_FORMAT = 'yyyy/mm/dd hh:mm';
const DATE_FORMAT = '[$-411]ggge"年"m"月"d"日"';

export const OPS_WORKBOOK_TITLE = '運用報告 (稼働率・対応履歴管理表・運用課題管理表)';

function title(ws: Worksheet, text: string, sub: string, columns: number): number {
  ws.mergeCells(1, 1, 1, columns);
  const c = ws.getCell(1, 1);
  c.value = text;
  c.font = { name: FONT, size: 14, bold: true };
  ws.getRow(1).height = 22;
  ws.mergeCells(2, 1, 2, columns);
  ws.getCell(2, 1).value = sub;
  ws.getCell(2, 1).font = { name: FONT, size: 10 };
  return 4;
}

function header(ws: Worksheet, row: number, cols: Array<[string, number]>): void {
  cols.forEach(([label, width], i) => {
    ws.getColumn(i + 1).width = width;
    const c = ws.getCell(row, i + 1);
    c.value = label;
    c.font = { name: FONT, size: 10, bold: true };
    c.fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFD9E1F2' } };
    c.border = BORDER;
    c.alignment = { horizontal: 'center', vertical: 'middle', wrapText: true };
  });
  ws.autoFilter = { from: { row, column: 1 }, to: { row, column: cols.length } };
  ws.views = [{ state: 'frozen', ySplit: row }];
  ws.pageSetup = { paperSize: 9, orientation: 'landscape', fitToPage: true, fitToWidth: 1, fitToHeight: 0 };
}

function body(
  ws: Worksheet,
  row: number,
  values: Array<string | number | Date | null>,
  formats: Record<number, string> = {},
) {
  values.forEach((v, i) => {
    const c = ws.getCell(row, i + 1);
    c.value = v;
    c.font = { name: FONT, size: 10 };
    c.border = BORDER;
    c.alignment = { vertical: 'top', wrapText: typeof v === 'string' };
    if (formats[i]) c.numFmt = formats[i]!;
  });
}

const instant = (iso: string | null | undefined) => (iso ? tokyoWallClock(Date.parse(iso)) : null);
const day = (d: string | null | undefined) => (d ? new Date(`${d}T00:00:00Z`) : null);
const ACTION_LABELS: Record<string, string> = { created: '起票', updated: '変更', deleted: '削除' };
const show = (v: unknown) =>
  v === null || v === undefined || v === ''
    ? '—'
    : typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(v)
      ? tokyoMinute(Date.parse(v))
      : String(v);

/** How a support entry fares against the two-open-day rule. */
export function answerDays(s: OpsRecord<'support'>, isOpen: IsOpenDay): number | null {
  return s.answeredAt ? openDaysBetween(dayOf(s.receivedAt), dayOf(s.answeredAt), isOpen) : null;
}

export interface OpsWorkbookInput {
  month: string;
  availability: Availability;
  supports: Array<OpsRecord<'support'>>;
  issues: Array<OpsRecord<'issue'>>;
  stops: Array<OpsRecord<'stop'>>;
  incidents: Array<OpsRecord<'incident'>>;
  history: Map<string, HistoryEntry[]>;
  isOpenDay: IsOpenDay;
  now: Date;
}

export async function opsWorkbook(x: OpsWorkbookInput): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'Tayori';
  wb.created = x.now;
  const label = formatWarekiMonth(x.month);
  const made = `作成日時: ${tokyoMinute(x.now.getTime())}`;

  // 稼働率
  const a = x.availability;
  const ws = wb.addWorksheet('稼働率');
  let row = title(ws, `稼働率　${label}分`, made, 4);
  header(ws, row, [
    ['項目', 30],
    ['値', 16],
    ['単位', 8],
    ['備考', 50],
  ]);
  const lines: Array<[string, number | string | null, string, string]> = [
    ['稼働率', a.percent, '%', `目標 ${a.target}% 以上 — ${a.met === null ? '計測なし' : a.met ? '達成' : '未達'}`],
    ['計測した時間 (計画停止を除く)', a.measuredMinutes, '分', '自己診断 (既定 1 分ごと) の記録から'],
    ['稼働していた時間', a.upMinutes, '分', ''],
    ['停止していた時間', a.downMinutes, '分', '計画停止を除く'],
    ['計画停止の時間', a.plannedMinutes, '分', '稼働率の計算から除いています'],
  ];
  for (const l of lines) body(ws, ++row, l);
  row += 2;
  ws.getCell(row, 1).value = '当月の障害・計画停止';
  ws.getCell(row, 1).font = { name: FONT, size: 11, bold: true };
  for (const i of x.incidents)
    body(ws, ++row, [`障害 No.${i.no}`, show(i.detectedAt), '', `${i.title} (復旧 ${show(i.recoveredAt)})`]);
  for (const s of x.stops) body(ws, ++row, ['計画停止', show(s.startsAt), '', `${s.reason} (〜${show(s.endsAt)})`]);

  // 対応履歴管理表
  const ss = wb.addWorksheet('対応履歴管理表');
  const answered = x.supports.filter((s) => s.answeredAt);
  const within = answered.filter((s) => (answerDays(s, x.isOpenDay) ?? 99) <= ANSWER_OPEN_DAYS).length;
  row = title(
    ss,
    `対応履歴管理表　${label}分`,
    `${made}　受付 ${x.supports.length} 件、回答済み ${answered.length} 件、うち ${ANSWER_OPEN_DAYS} 開庁日以内 ${within} 件`,
    11,
  );
  header(ss, row, [
    ['No.', 6],
    ['受付日時', 17],
    ['団体', 10],
    ['問い合わせ者', 16],
    ['受付方法', 10],
    ['問い合わせ内容', 40],
    ['対応者', 12],
    ['回答内容', 40],
    ['回答日時', 17],
    ['回答までの開庁日数', 10],
    [`${ANSWER_OPEN_DAYS}開庁日以内`, 10],
  ]);
  for (const s of x.supports) {
    const d = answerDays(s, x.isOpenDay);
    body(
      ss,
      ++row,
      [
        s.no,
        instant(s.receivedAt),
        s.tenantId,
        s.inquirer,
        s.channel,
        s.content,
        s.responder,
        s.response,
        instant(s.answeredAt),
        d,
        d === null ? '未回答' : d <= ANSWER_OPEN_DAYS ? '○' : '×',
      ],
      { 1: DATETIME_FORMAT, 8: DATETIME_FORMAT },
    );
  }

  // 運用課題管理表
  const is = wb.addWorksheet('運用課題管理表');
  row = title(is, `運用課題管理表　${label}分`, made, 9);
  header(is, row, [
    ['No.', 6],
    ['起票日', 17],
    ['課題', 30],
    ['内容', 40],
    ['担当', 12],
    ['対応内容', 40],
    ['状況', 9],
    ['期限', 17],
    ['完了日', 17],
  ]);
  for (const i of x.issues)
    body(
      is,
      ++row,
      [i.no, day(i.raisedOn), i.title, i.description, i.owner, i.response, i.status, day(i.dueOn), day(i.resolvedOn)],
      {
        1: DATE_FORMAT,
        7: DATE_FORMAT,
        8: DATE_FORMAT,
      },
    );

  // 変更履歴 (field by field)
  const hs = wb.addWorksheet('変更履歴');
  row = title(hs, `対応履歴・運用課題の変更履歴　${label}分`, made, 8);
  header(hs, row, [
    ['表', 14],
    ['No.', 6],
    ['変更日時', 17],
    ['変更者', 14],
    ['操作', 8],
    ['項目', 14],
    ['変更前', 36],
    ['変更後', 36],
  ]);
  const all: Array<[string, { id: string; no: number }]> = [
    ...x.supports.map((s) => ['対応履歴管理表', s] as [string, { id: string; no: number }]),
    ...x.issues.map((i) => ['運用課題管理表', i] as [string, { id: string; no: number }]),
  ];
  for (const [sheet, r] of all) {
    for (const h of x.history.get(r.id) ?? []) {
      for (const c of h.changes.length ? h.changes : [{ label: '', from: null, to: null }])
        body(
          hs,
          ++row,
          [
            sheet,
            r.no,
            instant(h.changedAt),
            h.changedBy,
            ACTION_LABELS[h.action] ?? h.action,
            c.label,
            show(c.from),
            show(c.to),
          ],
          {
            2: DATETIME_FORMAT,
          },
        );
    }
  }
  return Buffer.from(await wb.xlsx.writeBuffer());
}

// ---------------------------------------------------------------- 障害報告書 (Word)

const MINCHO = { ascii: 'ＭＳ 明朝', eastAsia: 'ＭＳ 明朝', hAnsi: 'ＭＳ 明朝' };
const GOTHIC = { ascii: 'ＭＳ ゴシック', eastAsia: 'ＭＳ ゴシック', hAnsi: 'ＭＳ ゴシック' };
const cellBorder = { style: BorderStyle.SINGLE, size: 4, color: '808080' };

/** The incident's report due date: five open days after the day it recovered. */
export function incidentDue(i: OpsRecord<'incident'>, isOpen: IsOpenDay): string | null {
  return i.recoveredAt ? openDaysAfter(dayOf(i.recoveredAt), INCIDENT_DUE_OPEN_DAYS, isOpen) : null;
}

export async function incidentDocx(
  i: OpsRecord<'incident'>,
  isOpen: IsOpenDay,
  now: Date,
  org = '受託者',
): Promise<Buffer> {
  const due = incidentDue(i, isOpen);
  const p = (text: string, o: { bold?: boolean; size?: number; align?: 'right' | 'center' } = {}) =>
    new Paragraph({
      alignment:
        o.align === 'right' ? AlignmentType.RIGHT : o.align === 'center' ? AlignmentType.CENTER : AlignmentType.LEFT,
      spacing: { after: 120 },
      children: [new TextRun({ text, bold: o.bold, size: o.size ?? 21, font: o.bold ? GOTHIC : MINCHO })],
    });
  const row = (label: string, value: string) =>
    new TableRow({
      children: [
        new TableCell({
          width: { size: 2600, type: WidthType.DXA },
          shading: { type: ShadingType.CLEAR, fill: 'D9E1F2', color: 'auto' },
          borders: { top: cellBorder, bottom: cellBorder, left: cellBorder, right: cellBorder },
          children: [p(label, { bold: true })],
        }),
        new TableCell({
          width: { size: 7038, type: WidthType.DXA },
          borders: { top: cellBorder, bottom: cellBorder, left: cellBorder, right: cellBorder },
          children: (value || '（記入してください）').split('\n').map((l) => p(l)),
        }),
      ],
    });
  const doc = new Document({
    creator: 'Tayori',
    title: `障害報告書 No.${i.no}`,
    sections: [
      {
        properties: {
          page: {
            size: { width: 11_906, height: 16_838 },
            margin: { top: 1134, bottom: 1134, left: 1134, right: 1134 },
          },
        },
        children: [
          p(`作成日: ${formatWareki(now.toISOString().slice(0, 10))}`, { align: 'right' }),
          p(org, { align: 'right' }),
          p(`障害報告書 (No.${i.no})`, { bold: true, size: 32, align: 'center' }),
          p(
            due
              ? `提出期限: ${formatWareki(due)} (復旧から${INCIDENT_DUE_OPEN_DAYS}開庁日以内)`
              : '提出期限: 復旧後に確定します',
            { bold: true },
          ),
          new Table({
            width: { size: 9638, type: WidthType.DXA },
            rows: [
              row('件名', i.title),
              row('検知日時', show(i.detectedAt)),
              row('検知方法', i.source === '自動検知' ? '自己診断による自動検知' : '職員による起票'),
              row('影響範囲', i.impact),
              row('原因', i.cause),
              row('対応内容', i.response),
              row('復旧日時', i.recoveredAt ? show(i.recoveredAt) : '未復旧'),
              row('再発防止策', i.prevention),
              row('状況', i.status),
            ],
          }),
        ],
      },
    ],
  });
  return Buffer.from(await Packer.toBuffer(doc));
}
