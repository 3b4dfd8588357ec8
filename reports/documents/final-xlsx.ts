/**
 * 最終報告書 (Excel): the figures of the final report as numbers (number formats, unknown figures
 * empty with a note), one table a sheet, with the charts, the proposals to complete and definitions.
 */
import type { Worksheet } from 'exceljs';
import type { ChartImage } from './charts.ts';
import { rolloutSheet } from './rollout-xlsx.ts';
import { Footnotes, type DocumentHeader } from './common.ts';
import { FILL_IN, PROPOSALS, activitySummary, audienceOf, municipalityState, observations } from './final-content.ts';
import {
  DELIVERY_COLUMNS,
  DIMENSION_LABELS,
  FRIENDS_COLUMNS,
  MONTH_COLUMNS,
  bucketLabel,
  periodCell,
  type FinalData,
} from './final-data.ts';
import {
  MILEAGE_MONTH_KEYS,
  mileageActivityRows,
  mileageFinalSummary,
  mileageMonthRows,
  mileageMunicipalityRows,
  monthColumnLabel,
  monthHeading,
} from './final-mileage.ts';
import { definitionsSheet, deliveriesSheet } from './kpi-xlsx.ts';
import type { DeliveryFigures } from './sources.ts';
import {
  DRAFT,
  DRAFT_NOTE,
  findingLine,
  municipalityDraft,
  proposalDrafts,
  type FinalFindings,
} from './final-findings.ts';
import {
  FONT,
  bodyCell,
  chartsSheet,
  fig,
  newWorkbook,
  notesBlock,
  printable,
  titleBlock,
  writeTable,
  xlsxBuffer,
  type TableColumn,
} from './xlsx-kit.ts';
import type ExcelJS from 'exceljs';

/** A sheet with the title block, a table, and the notes under it. */
function tableSheet(
  wb: ExcelJS.Workbook,
  name: string,
  h: DocumentHeader,
  title: string,
  intro: string[],
  landscape: boolean,
  write: (ws: Worksheet, start: number, notes: Footnotes) => { end: number; columns: number },
): void {
  const ws = wb.addWorksheet(name, { properties: { defaultRowHeight: 18 } });
  const notes = new Footnotes();
  // the title block spans the table's width, known once the table is written: write it after
  const start = 4 + intro.length + 1;
  const { end, columns } = write(ws, start, notes);
  titleBlock(ws, { ...h, title: `${h.title} ${title}` }, columns, intro);
  const last = notesBlock(ws, end + 1, notes, columns);
  printable(ws, { landscape, headerRow: start, lastColumn: columns, lastRow: last - 1 });
}

const figureColumns = (cols: ReadonlyArray<{ label: string; unit: string; kind: string }>): TableColumn[] =>
  cols.map((c) => ({ label: `${c.label}\n(${c.unit})`, width: c.kind === 'percent' ? 11 : 13 }));

export async function finalXlsx(
  d: FinalData,
  h: DocumentHeader,
  charts: readonly ChartImage[],
  top: readonly DeliveryFigures[],
  now: Date,
  findings?: FinalFindings,
): Promise<Buffer> {
  const wb = newWorkbook(now);
  const drafts = proposalDrafts(findings);
  const obs = observations(d);
  const total = d.rows.at(-1)!;
  const periodCols = [...FRIENDS_COLUMNS, ...DELIVERY_COLUMNS];

  tableSheet(wb, '概要', h, '概要', [...obs.friends, ...obs.opens, activitySummary(d)], false, (ws, start, notes) => ({
    end: writeTable(
      ws,
      start,
      [
        { label: '項目', width: 34 },
        { label: '県全体', width: 16 },
      ],
      periodCols.map((c) => {
        const cell = periodCell(total, c.key);
        return { cells: [`${c.label} (${c.unit})`, fig(cell.value, c.kind, cell.reason, cell.partial)] };
      }),
      notes,
      { filter: false },
    ),
    columns: 2,
  }));

  tableSheet(
    wb,
    '市町別',
    h,
    '市町別の実績 (対象期間)',
    [
      '期間開始時は対象期間の前月末、期間末は最終月の月末の値です。友だち追加・新規ブロック・配信は対象期間の合計です。',
    ],
    true,
    (ws, start, notes) => ({
      end: writeTable(
        ws,
        start,
        [{ label: '市町', width: 14 }, ...figureColumns(periodCols)],
        d.rows.map((r) => ({
          strong: r.total,
          cells: [
            r.name,
            ...periodCols.map((c) => {
              const cell = periodCell(r, c.key);
              return fig(cell.value, c.kind, cell.reason, cell.partial);
            }),
          ],
        })),
        notes,
      ),
      columns: periodCols.length + 1,
    }),
  );

  tableSheet(wb, '月別友だち数', h, '市町別・月別の友だち数 (各月末)', [], true, (ws, start, notes) => ({
    end: writeTable(
      ws,
      start,
      [{ label: '市町', width: 14 }, ...d.overviews.map((o) => ({ label: o.monthLabel, width: 12 }))],
      [
        ...d.overviews[0]!.rows.map((r0) => ({
          cells: [
            r0.name,
            ...d.overviews.map((o) => {
              const r = o.rows.find((x) => x.tenantId === r0.tenantId);
              return fig(r?.friends ?? null, 'count', r?.missing.friends ?? 'not_fetched');
            }),
          ],
        })),
        {
          strong: true,
          cells: [
            '県全体',
            ...d.overviews.map((o) =>
              fig(o.totals.friends, 'count', o.totals.missing.friends, o.totals.partial.includes('friends')),
            ),
          ],
        },
      ],
      notes,
    ),
    columns: d.overviews.length + 1,
  }));

  tableSheet(wb, '月別推移', h, '月別の推移 (県全体)', [], true, (ws, start, notes) => ({
    end: writeTable(
      ws,
      start,
      [{ label: '月', width: 14 }, ...figureColumns(MONTH_COLUMNS)],
      d.overviews.map((o) => ({
        cells: [
          o.monthLabel,
          ...MONTH_COLUMNS.map((c) =>
            fig(o.totals[c.key], c.kind, o.totals.missing[c.key], (o.totals.partial as string[]).includes(c.key)),
          ),
        ],
      })),
      notes,
    ),
    columns: MONTH_COLUMNS.length + 1,
  }));

  tableSheet(
    wb,
    '配信上位',
    h,
    `開封率の高い配信 (上位 ${top.length} 件)`,
    ['配信日時は日本時間です。'],
    true,
    (ws, start, notes) => ({
      end: deliveriesSheet(ws, top, d.tenants.name, start, notes, {
        label: '配信対象',
        width: 22,
        value: (x) => audienceOf(x, d).label,
      }),
      columns: 9,
    }),
  );

  tableSheet(
    wb,
    '配信対象別',
    h,
    '配信対象別の結果 (セグメント配信)',
    [
      '配信対象は Tayori の配信記録によります。LINE の管理画面など Tayori 以外から送った配信は「配信記録なし」にまとめています。',
    ],
    true,
    (ws, start, notes) => {
      let end = writeTable(
        ws,
        start,
        [
          { label: '配信対象', width: 34, format: 'wrap' },
          { label: '配信数\n(件)', width: 10 },
          { label: '配信対象者\n(人)', width: 12 },
          { label: '配信人数\n(人)', width: 12 },
          { label: '開封人数\n(人)', width: 12 },
          { label: '開封率\n(%)', width: 10 },
          { label: 'クリック人数\n(人)', width: 12 },
          { label: 'クリック率\n(%)', width: 10 },
        ],
        d.audienceGroups.map((g) => ({
          cells: [
            g.label,
            g.deliveries,
            g.targets,
            fig(g.delivered, 'count', g.missing.delivered),
            fig(g.uniqueImpressions, 'count', g.missing.uniqueImpressions),
            fig(g.openRate, 'percent', g.missing.openRate),
            fig(g.clicks, 'count', g.missing.clicks),
            fig(g.clickRate, 'percent', g.missing.clickRate),
          ],
        })),
        notes,
        { empty: '対象期間の配信はありません' },
      );
      end += 1;
      const c = ws.getCell(end, 1);
      c.value = d.clickBuckets.length ? '属性別のクリック計測の結果' : '属性別のクリック計測を行った配信はありません。';
      c.font = { name: FONT, size: 11, bold: true };
      end += 1;
      for (const b of d.clickBuckets) {
        const r = ws.getRow(end++);
        [
          DIMENSION_LABELS[b.dimension] ?? b.dimension,
          bucketLabel(b.dimension, b.bucket, b.name),
          b.clicks,
          b.deliveries,
        ].forEach((v, i) =>
          bodyCell(Object.assign(r.getCell(i + 1), { value: v }), { numFmt: i >= 2 ? '#,##0' : undefined }),
        );
      }
      return { end, columns: 8 };
    },
  );

  tableSheet(
    wb,
    '提案',
    h,
    '分析と提案',
    [`${DRAFT}の欄は ${DRAFT_NOTE}${FILL_IN}の欄は所見が見つからなかった項目で、受託者が分析に基づいて記入します。`],
    false,
    (ws, start, notes) => {
      let end = writeTable(
        ws,
        start,
        [
          { label: '項目', width: 30, format: 'wrap' },
          { label: '記入欄', width: 90, format: 'wrap' },
        ],
        [
          { cells: ['友だち登録の状況の分析', `${FILL_IN} ${obs.friends.join(' ')}`], height: 90 },
          { cells: ['メッセージの開封とクリックの分析', `${FILL_IN} ${obs.opens.join(' ')}`], height: 90 },
          ...PROPOSALS.map((p, i) => {
            const fs = drafts[i]!.findings;
            return fs.length
              ? {
                  cells: [p.heading, `${DRAFT} ${DRAFT_NOTE}\n${fs.map((f) => `・${findingLine(f)}`).join('\n')}`],
                  height: 60 + 45 * fs.length,
                }
              : { cells: [p.heading, `${FILL_IN} ${p.prompt}`], height: 90 };
          }),
        ],
        notes,
        { filter: false },
      );
      end += 1;
      end = writeTable(
        ws,
        end,
        [
          { label: '市町', width: 30 },
          { label: '現状 (期間末・期間計) と提案', width: 90, format: 'wrap' },
        ],
        d.rows
          .filter((r) => !r.total)
          .map((r) => {
            const draft = municipalityDraft(findings, r.tenantId!);
            return { cells: [r.name, `${municipalityState(r)}\n提案: ${draft ?? FILL_IN}`], height: draft ? 90 : 36 };
          }),
        notes,
        { filter: false, freeze: false },
      );
      return { end, columns: 2 };
    },
  );

  mileageSheets(wb, d, h);
  if (d.rollout) rolloutSheet(wb.addWorksheet('業務工程表', { properties: { defaultRowHeight: 18 } }), d.rollout, h);
  chartsSheet(wb, 'グラフ', `${h.title} グラフ`, [...charts, ...(findings?.charts ?? [])]);
  definitionsSheet(wb.addWorksheet('定義'), h);
  return xlsxBuffer(wb);
}

/** Health mileage: growth by month (prefecture-wide), participants by municipality and month, points by activity and month. */
function mileageSheets(wb: ExcelJS.Workbook, d: FinalData, h: DocumentHeader): void {
  const m = d.mileage;
  const count = (v: number | null) => fig(v, 'count', v === null ? 'no_programme' : undefined);
  const months = m.months.map((x) => ({ label: monthHeading(x), width: 10 }));
  tableSheet(
    wb,
    'マイレージ月別',
    h,
    '健康マイレージ 月別の推移 (県全体)',
    [mileageFinalSummary(m)],
    true,
    (ws, start, notes) => ({
      end: writeTable(
        ws,
        start,
        [{ label: '月', width: 14 }, ...MILEAGE_MONTH_KEYS.map((k) => ({ label: monthColumnLabel(k), width: 12 }))],
        mileageMonthRows(m).map((r) => ({ cells: [r.month, ...r.values.map(count)] })),
        notes,
      ),
      columns: MILEAGE_MONTH_KEYS.length + 1,
    }),
  );
  tableSheet(
    wb,
    'マイレージ市町別',
    h,
    '健康マイレージ 市町別の参加者数 (各月末、人)',
    ['参加者数は各月末時点で、その月の属する年度 (4月から) の累計ポイントが 1 ポイント以上の住民の数です。'],
    true,
    (ws, start, notes) => ({
      end: writeTable(
        ws,
        start,
        [{ label: '市町', width: 14 }, ...months],
        mileageMunicipalityRows(m).map((r) => ({ strong: r.total, cells: [r.name, ...r.values.map(count)] })),
        notes,
      ),
      columns: months.length + 1,
    }),
  );
  tableSheet(
    wb,
    'マイレージ活動別',
    h,
    '健康マイレージ 活動別の獲得ポイント (県全体、pt)',
    ['同じ名前・同じ獲得方法の活動は市町をまとめて合計しています。訂正 (活動の指定なし) は差し引いた値です。'],
    true,
    (ws, start, notes) => ({
      end: writeTable(
        ws,
        start,
        [{ label: '活動', width: 22 }, { label: '獲得方法', width: 10 }, ...months, { label: '期間計', width: 11 }],
        mileageActivityRows(m).map((r) => ({
          cells: [r.name, r.method, ...r.values.map((v) => fig(v, 'count')), fig(r.sum, 'count')],
        })),
        notes,
        { empty: '対象期間のポイントの記録はありません' },
      ),
      columns: months.length + 3,
    }),
  );
}
