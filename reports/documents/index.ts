/**
 * reports/documents: the files the contractor files with the prefecture, built from the records
 * (minutes, issue log) and the dashboard's figures. Pure builders: they read, render and return
 * bytes; storing them (checksums, versions) and running them as jobs is done elsewhere.
 *
 *   const files = await buildMonthlyPackage({ ch, tenants, store }, '2026-10', { onProgress });
 *   // → minutes-docx, issues-xlsx, kpi-xlsx, kpi-docx, kpi-pdf
 *   const final = await buildFinalReport({ ch, tenants, store }, { from: '2025-04', to: '2026-03' });
 *   // → final-docx, final-xlsx
 */
import { FIGURES, PALETTE } from '../../metrics/index.ts';
import {
  renderCharts,
  municipalityBarsOptions,
  topByOpenRate,
  topDeliveryRatesOptions,
  type ChartImage,
} from './charts.ts';
import { MIME, checkMonth, monthlyHeader, runSteps, type Progress } from './common.ts';
import { buildFinal, FINAL_TITLE } from './final.ts';
import { issuesXlsx, ISSUES_TITLE } from './issues-xlsx.ts';
import { kpiDocx } from './kpi-docx.ts';
import { faqChartRequests } from './kpi-faq.ts';
import { kpiPdf } from './kpi-pdf.ts';
import { kpiXlsx } from './kpi-xlsx.ts';
import { mileageChartRequests } from './mileage-charts.ts';
import { minutesDocx, MINUTES_TITLE } from './minutes-docx.ts';
import { readMonthly, type MonthlySources, type ReportSources } from './sources.ts';

export type { ReportSources } from './sources.ts';
export type { Progress } from './common.ts';

export type ReportKind =
  | 'minutes-docx'
  | 'issues-xlsx'
  | 'kpi-xlsx'
  | 'kpi-docx'
  | 'kpi-pdf'
  | 'final-docx'
  | 'final-xlsx'
  | 'ops-xlsx';

/**
 * A capability outside reports/ that adds a file to the monthly package (ops/: the availability,
 * 対応履歴管理表 and 運用課題管理表 as `ops-xlsx`); the suite hands them in through ReportSources.
 */
export interface MonthlyContributor {
  kind: 'ops-xlsx';
  /** The progress step shown while it is made, e.g. 運用報告 (Excel) を作成しています. */
  step: string;
  build(month: string, now: Date): Promise<Buffer>;
}

export interface ReportFile {
  kind: ReportKind;
  /** Japanese, e.g. 月次KPI報告書 (Excel) */
  title: string;
  /** e.g. 2026-10_月次KPI報告書.xlsx */
  fileName: string;
  mime: string;
  bytes: Buffer;
}

export interface BuildOptions {
  /** The time printed as 作成日時 (default: now). */
  now?: Date;
  onProgress?: Progress;
}

const KPI_TITLE = '月次KPI報告書';
const OPS_TITLE = '運用報告';

export const REPORT_KINDS: Record<ReportKind, { title: string; mime: string; ext: string }> = {
  'minutes-docx': { title: `${MINUTES_TITLE} (Word)`, mime: MIME.docx, ext: 'docx' },
  'issues-xlsx': { title: `${ISSUES_TITLE} (Excel)`, mime: MIME.xlsx, ext: 'xlsx' },
  'kpi-xlsx': { title: `${KPI_TITLE} (Excel)`, mime: MIME.xlsx, ext: 'xlsx' },
  'kpi-docx': { title: `${KPI_TITLE} (Word)`, mime: MIME.docx, ext: 'docx' },
  'kpi-pdf': { title: `${KPI_TITLE} (PDF)`, mime: MIME.pdf, ext: 'pdf' },
  'final-docx': { title: `${FINAL_TITLE} (Word)`, mime: MIME.docx, ext: 'docx' },
  'final-xlsx': { title: `${FINAL_TITLE} (Excel)`, mime: MIME.xlsx, ext: 'xlsx' },
  'ops-xlsx': { title: `${OPS_TITLE} (Excel)`, mime: MIME.xlsx, ext: 'xlsx' },
};

const BASE_NAMES: Record<ReportKind, string> = {
  'minutes-docx': MINUTES_TITLE,
  'issues-xlsx': ISSUES_TITLE,
  'kpi-xlsx': KPI_TITLE,
  'kpi-docx': KPI_TITLE,
  'kpi-pdf': KPI_TITLE,
  'final-docx': FINAL_TITLE,
  'final-xlsx': FINAL_TITLE,
  'ops-xlsx': OPS_TITLE,
};

/** The file of a kind: 2026-10_月次KPI報告書.xlsx (the prefix is the month or the period). */
export function reportFile(kind: ReportKind, prefix: string, bytes: Buffer): ReportFile {
  const k = REPORT_KINDS[kind];
  return { kind, title: k.title, fileName: `${prefix}_${BASE_NAMES[kind]}.${k.ext}`, mime: k.mime, bytes };
}

/** The monthly package's charts (the health mileage's too), rendered once for the Word, PDF and Excel versions. */
export async function monthlyCharts(s: MonthlySources): Promise<ChartImage[]> {
  const rows = s.overview.rows;
  const names = rows.map((r) => r.name);
  const size = { width: 1200, height: 900 };
  const top = topByOpenRate(s.deliveries, 10);
  return renderCharts([
    {
      caption: `市町別の友だち数 (${s.overview.monthLabel}末)`,
      ...size,
      options: municipalityBarsOptions({
        title: `市町別の${FIGURES.friends.label} (人)`,
        names,
        unit: '人',
        series: [{ name: FIGURES.friends.label, values: rows.map((r) => r.friends) }],
      }),
    },
    {
      caption: `市町別の友だち追加とブロック (${s.overview.monthLabel}、LINE の通知から集計)`,
      ...size,
      options: municipalityBarsOptions({
        title: '市町別の友だち追加とブロック (人)',
        names,
        unit: '人',
        colors: [PALETTE[0], PALETTE[3]],
        series: [
          { name: '友だち追加 (ブロック解除を含む)', values: rows.map((r) => r.follows + r.unblocks) },
          { name: 'ブロック', values: rows.map((r) => r.unfollows) },
        ],
      }),
    },
    {
      caption: `市町別の開封率とブロック率 (${s.overview.monthLabel})`,
      ...size,
      options: municipalityBarsOptions({
        title: `市町別の${FIGURES.openRate.label}と${FIGURES.blockRate.label} (%)`,
        names,
        unit: '%',
        colors: [PALETTE[2], PALETTE[3]],
        series: [
          { name: FIGURES.openRate.label, values: rows.map((r) => r.openRate) },
          { name: FIGURES.blockRate.label, values: rows.map((r) => r.blockRate) },
        ],
      }),
    },
    {
      caption: `開封率の高い配信 上位 ${top.length} 件 (${s.overview.monthLabel})`,
      width: 1200,
      height: 650,
      options: topDeliveryRatesOptions(top, s.tenants.name),
    },
    ...mileageChartRequests(s.mileage),
    ...faqChartRequests(s),
  ]);
}

/**
 * The monthly package for a month ('YYYY-MM'): the minutes (docx), the issue log (xlsx) and the
 * KPI report (xlsx, docx, pdf). Each file shows the month, its due date and when it was made.
 */
export async function buildMonthlyPackage(
  src: ReportSources,
  month: string,
  opts: BuildOptions = {},
): Promise<ReportFile[]> {
  const m = checkMonth(month);
  const now = opts.now ?? new Date();
  let s!: MonthlySources;
  let pending!: Promise<ChartImage[]>;
  let charts: ChartImage[] = [];
  const files: ReportFile[] = [];
  const kpi = () => monthlyHeader(KPI_TITLE, m, now, s.tenants.prefecture);
  const top = () => topByOpenRate(s.deliveries, 10);
  const add = (kind: ReportKind) => (bytes: Buffer) => void files.push(reportFile(kind, m, bytes));
  try {
    await runSteps(
      [
        ['集計値と記録を読み込んでいます', async () => void (s = await readMonthly(src, m))],
        // the charts' pixels are drawn off the main thread while the minutes and the issue log are made
        [
          'グラフを作成しています',
          async () => {
            pending = monthlyCharts(s);
            pending.catch(() => {}); // awaited (and its error thrown) by the KPI steps
          },
        ],
        ['議事録 (Word) を作成しています', async () => add('minutes-docx')(await minutesDocx(s, now))],
        ['課題管理表 (Excel) を作成しています', async () => add('issues-xlsx')(await issuesXlsx(s, now))],
        [
          'KPI 報告書 (Excel) を作成しています',
          async () => {
            charts = await pending;
            add('kpi-xlsx')(await kpiXlsx(s, kpi(), charts, now));
          },
        ],
        ['KPI 報告書 (Word) を作成しています', async () => add('kpi-docx')(await kpiDocx(s, kpi(), charts, top()))],
        ['KPI 報告書 (PDF) を作成しています', async () => add('kpi-pdf')(await kpiPdf(s, kpi(), charts, top(), now))],
        ...(src.contributors ?? []).map((c) => [c.step, async () => add(c.kind)(await c.build(m, now))] as const),
      ],
      opts.onProgress,
    );
  } finally {
    await pending?.catch(() => {}); // nothing left running when a step failed
  }
  return files;
}

/**
 * The final report over a period of months ('YYYY-MM', inclusive): per municipality and
 * prefecture-wide, with charts and a proposals section the contractor completes. `due`
 * ('YYYY-MM-DD') is the contract's due date when known; else the period's last day is shown.
 */
export async function buildFinalReport(
  src: ReportSources,
  period: { from: string; to: string },
  opts: BuildOptions & { due?: string } = {},
): Promise<ReportFile[]> {
  const { prefix, docx, xlsx } = await buildFinal(src, period, opts.now ?? new Date(), opts.onProgress, opts.due);
  return [reportFile('final-docx', prefix, docx), reportFile('final-xlsx', prefix, xlsx)];
}
