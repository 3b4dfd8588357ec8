/**
 * The FAQ chatbot's part of the monthly KPI report: one row per municipality (then the prefecture's own
 * accounts) and the prefecture-wide total — views, はい／いいえ, resolution rate, unmatched typed
 * questions, those that ended in the fallback, AI answers (a column only when there were any) — the
 * month's top questions, a few sentences and a chart. The figures are metrics/' (metrics/faq.ts), which
 * the FAQ's statistics page and API read too. The xlsx (sheet FAQ), docx and pdf all draw this model.
 */
import type { Worksheet } from 'exceljs';
import type ExcelJS from 'exceljs';
import {
  FAQ_FIGURES,
  type FaqFigureName,
  type FaqMonth,
  type FaqTotals,
  type Figure,
  type MissingReason,
} from '../../metrics/index.ts';
import { type ChartImage, municipalityBarsOptions } from './charts.ts';
import { type DocumentHeader, type FigureKind, Footnotes, formatFigure } from './common.ts';
import { type Block, figure, heading, para, table } from './docx-kit.ts';
import type { MonthlySources, TenantIndex } from './sources.ts';
import type { ChartRequest } from './mileage-charts.ts';
import { fig, notesBlock, printable, titleBlock, writeTable } from './xlsx-kit.ts';

export interface FaqColumn {
  key: FaqFigureName;
  label: string;
  unit: string;
  kind: FigureKind;
}

const col = (key: FaqFigureName): FaqColumn => ({
  key,
  label: FAQ_FIGURES[key].label,
  unit: FAQ_FIGURES[key].unit,
  kind: key === 'rate' ? 'percent' : 'count',
});

/** The columns of the per-tenant table: AI answers only when a tenant had any that month. */
export function faqColumns(f: FaqMonth): FaqColumn[] {
  const keys: FaqFigureName[] = ['views', 'yes', 'no', 'rate', 'unmatched', 'fallback'];
  return [...keys, ...(f.totals.ai > 0 ? (['ai'] as const) : [])].map(col);
}

export interface FaqCell {
  value: Figure;
  reason?: MissingReason;
}

export interface FaqKpiRow {
  tenantId: string | null;
  name: string;
  total: boolean;
  cells: Record<FaqFigureName, FaqCell>;
}

function cellsOf(t: FaqTotals): Record<FaqFigureName, FaqCell> {
  const out = {} as Record<FaqFigureName, FaqCell>;
  for (const k of Object.keys(FAQ_FIGURES) as FaqFigureName[])
    out[k] = k === 'rate' && t.rate === null ? { value: null, reason: 'no_denominator' } : { value: t[k] };
  return out;
}

/** Municipalities first (in the tenants' order), then the prefecture's own accounts, then 県全体. */
export function faqKpiRows(f: FaqMonth, tenants: Pick<TenantIndex, 'byId'>): FaqKpiRow[] {
  const muni = (id: string) => tenants.byId.get(id)?.kind === 'municipality';
  const ordered = [...f.rows.filter((r) => muni(r.tenantId)), ...f.rows.filter((r) => !muni(r.tenantId))];
  return [
    ...ordered.map((r) => ({ tenantId: r.tenantId, name: r.name, total: false, cells: cellsOf(r.figures) })),
    { tenantId: null, name: '県全体', total: true, cells: cellsOf(f.totals) },
  ];
}

/** The table as text (Word, PDF). */
export function faqTextTable(f: FaqMonth, tenants: Pick<TenantIndex, 'byId'>, notes: Footnotes) {
  const cols = faqColumns(f);
  const rows = faqKpiRows(f, tenants);
  return {
    header: ['市町', ...cols.map((c) => `${c.label}\n(${c.unit})`)],
    rows: rows.map((r) => [
      r.name,
      ...cols.map((c) => notes.cell(r.cells[c.key].value, c.kind, r.cells[c.key].reason)),
    ]),
    weights: [1.3, ...cols.map(() => 1)],
    align: ['left' as const, ...cols.map(() => 'right' as const)],
    emphasize: new Set([rows.length - 1]),
  };
}

/** The month's most viewed questions over every tenant. */
export const TOP_HEADER = [
  '順位',
  '市町',
  '質問・カテゴリ',
  '表示回数\n(回)',
  'はい\n(件)',
  'いいえ\n(件)',
  '解決率\n(%)',
];
export const TOP_WEIGHTS = [0.6, 1.3, 4, 1, 1, 1, 1];
export const TOP_ALIGN = ['right', 'left', 'left', 'right', 'right', 'right', 'right'] as const;

export function topTextRows(f: FaqMonth, notes: Footnotes): string[][] {
  return f.top.map((q, i) => [
    String(i + 1),
    q.name,
    q.title,
    formatFigure(q.views, 'count'),
    formatFigure(q.yes, 'count'),
    formatFigure(q.no, 'count'),
    notes.cell(q.rate, 'percent', q.rate === null ? 'no_denominator' : undefined),
  ]);
}

export const FAQ_HEADING = 'よくある質問 (FAQ チャットボット)';

/** The heading's note: what the figures count. */
export function faqLead(f: FaqMonth): string {
  return (
    `${f.monthLabel}に住民が LINE のトークと LIFF ページで FAQ を利用した件数です (日本時間の月初から月末まで)。` +
    '解決率は「解決しましたか？」への「はい」÷ (はい + いいえ) です。入力された質問の文面は含みません。'
  );
}

/** The month in a few sentences, from the prefecture-wide total. */
export function faqSummary(f: FaqMonth, notes: Footnotes): string[] {
  const t = f.totals;
  const n = (v: number) => formatFigure(v, 'count');
  return [
    `FAQ を公開している市町等は ${f.totals.tenants} のうち ${f.totals.published} です。` +
      `${f.monthLabel}の表示回数は ${n(t.views)} 回、「解決しましたか？」への回答は はい ${n(t.yes)} 件・いいえ ${n(t.no)} 件で、` +
      `解決率は ${notes.cell(t.rate, 'percent', t.rate === null ? 'no_denominator' : undefined)} でした。`,
    `入力された質問のうち FAQ に当てはまらなかったものは ${n(t.unmatched)} 件` +
      (t.ai > 0 ? `、うち AI が回答したものは ${n(t.ai)} 件` : '') +
      `、お詫びとメニューの案内で終わったものは ${n(t.fallback)} 件です。` +
      (f.top[0]
        ? `最もよく見られた項目は ${f.top[0].name}の「${f.top[0].title}」(${n(f.top[0].views)} 回) です。`
        : ''),
  ];
}

export const faqChartCaption = (f: FaqMonth) => `市町別の FAQ「解決しましたか？」への回答 (${f.monthLabel})`;

/** Per municipality: はい and いいえ (the chart beside the table). */
export function faqChartOptions(f: FaqMonth, tenants: Pick<TenantIndex, 'byId'>) {
  const rows = f.rows.filter((r) => tenants.byId.get(r.tenantId)?.kind === 'municipality');
  return municipalityBarsOptions({
    title: '市町別の FAQ「解決しましたか？」への回答 (件)',
    names: rows.map((r) => r.name),
    unit: '件',
    colors: ['#009E73', '#D55E00'],
    series: [
      { name: 'はい (解決)', values: rows.map((r) => r.figures.yes) },
      { name: 'いいえ (未解決)', values: rows.map((r) => r.figures.no) },
    ],
  });
}

/**
 * The FAQ's chart, drawn with the package's other charts (renderCharts) and told apart by its section;
 * none for a month nobody used the FAQ in (the table says so).
 */
export function faqChartRequests(s: Pick<MonthlySources, 'faq' | 'tenants'>): ChartRequest[] {
  const t = s.faq?.totals;
  if (!s.faq || !t || t.views + t.yes + t.no === 0) return [];
  return [
    {
      caption: faqChartCaption(s.faq),
      width: 1200,
      height: 900,
      section: 'faq',
      options: faqChartOptions(s.faq, s.tenants),
    },
  ];
}

/** The FAQ's chart among the package's charts (the documents draw it in the FAQ section). */
export const faqChart = (charts: readonly ChartImage[]) => charts.find((c) => c.section === 'faq');

/**
 * The FAQ sheet: the per-tenant table (numbers as numbers; a rate nobody answered for is an empty
 * cell with the reason), the month's top questions and the chart.
 */
export function faqSheet(
  wb: ExcelJS.Workbook,
  s: Pick<MonthlySources, 'faq' | 'tenants'>,
  h: DocumentHeader,
  chart: ChartImage | undefined,
): void {
  const f = s.faq;
  if (!f) return;
  const ws: Worksheet = wb.addWorksheet('FAQ', { properties: { defaultRowHeight: 18 } });
  const notes = new Footnotes();
  const cols = faqColumns(f);
  const columns = Math.max(cols.length + 1, TOP_HEADER.length);
  const start = titleBlock(ws, { ...h, title: `${h.title} FAQ` }, columns, [faqLead(f), ...faqSummary(f, notes)]);
  let row = writeTable(
    ws,
    start,
    [{ label: '市町', width: 14 }, ...cols.map((c) => ({ label: `${c.label}\n(${c.unit})`, width: 12 }))],
    faqKpiRows(f, s.tenants).map((r) => ({
      strong: r.total,
      cells: [r.name, ...cols.map((c) => fig(r.cells[c.key].value, c.kind, r.cells[c.key].reason))],
    })),
    notes,
  );
  row++;
  ws.mergeCells(row, 1, row, columns);
  Object.assign(ws.getCell(row, 1), {
    value: `よく見られた項目 (${f.monthLabel}・全市町)`,
    font: { bold: true, size: 11 },
  });
  row = writeTable(
    ws,
    row + 1,
    TOP_HEADER.map((label, i) => ({
      label,
      width: i === 2 ? 40 : 12,
      ...(i === 2 ? { format: 'wrap' as const } : {}),
    })),
    f.top.map((q, i) => ({
      cells: [
        i + 1,
        q.name,
        q.title,
        fig(q.views, 'count'),
        fig(q.yes, 'count'),
        fig(q.no, 'count'),
        fig(q.rate, 'percent', q.rate === null ? 'no_denominator' : undefined),
      ],
    })),
    notes,
    { filter: false, freeze: false, empty: 'この月に表示された項目はありません' },
  );
  let last = notesBlock(ws, row + 1, notes, columns);
  if (chart) {
    ws.getCell(last + 1, 1).value = faqChartCaption(f);
    ws.getCell(last + 1, 1).font = { bold: true, size: 10 };
    const id = wb.addImage({ buffer: chart.png as unknown as ExcelJS.Buffer, extension: 'png' });
    const width = 900;
    const height = Math.round((width * chart.height) / chart.width);
    ws.addImage(id, { tl: { col: 0, row: last + 1 }, ext: { width, height } });
    last += 2 + Math.ceil(height / 18);
  }
  printable(ws, { landscape: true, headerRow: start, lastColumn: columns, lastRow: last });
}

/** The FAQ section of the Word version: sentences, the table, the top questions and the chart. */
export function faqDocx(
  s: Pick<MonthlySources, 'faq' | 'tenants'>,
  notes: Footnotes,
  chart: { image: ChartImage; no: number } | undefined,
  landscape = true,
): Block[] {
  const f = s.faq;
  if (!f) return [];
  return [
    heading(FAQ_HEADING, 2),
    ...faqSummary(f, notes).map((t) => para(t)),
    para(faqLead(f), { size: 18 }),
    table({ ...faqTextTable(f, s.tenants, notes), size: 16, landscape }),
    para(`よく見られた項目 (${f.monthLabel}・全市町)`, { bold: true, size: 18 }),
    f.top.length
      ? table({
          header: TOP_HEADER,
          rows: topTextRows(f, notes),
          weights: TOP_WEIGHTS,
          align: [...TOP_ALIGN],
          size: 16,
          landscape,
        })
      : para('この月に表示された項目はありません。'),
    ...(chart ? figure(chart.image, chart.no, chart.image.height > chart.image.width * 0.6 ? 175 : 230) : []),
  ];
}
