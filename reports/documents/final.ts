/**
 * The final report (最終報告書): reads the period's figures, renders its charts once, and builds the
 * Word and Excel versions. Its due date is the one the contract sets for the end of the work:
 * within 10 days counted from the day the work is completed, or the contract's end if earlier.
 */
import { FIGURES, PALETTE } from '../../metrics/index.ts';
import { formatWareki, formatWarekiMonth, parseDate } from '../due-date.ts';
import {
  municipalityBarsOptions,
  monthlyOptions,
  renderCharts,
  topByOpenRate,
  topDeliveryRatesOptions,
  type ChartImage,
} from './charts.ts';
import { generatedLabel, partiesLine, runSteps, type DocumentHeader, type Progress } from './common.ts';
import { periodLabel } from './final-content.ts';
import { finalDocx } from './final-docx.ts';
import { findingsChartImages, readFinalFindings, type FinalFindings } from './final-findings.ts';
import { readFinal, type FinalData } from './final-data.ts';
import { finalXlsx } from './final-xlsx.ts';
import type { DeliveryFigures, ReportSources } from './sources.ts';

export const FINAL_TITLE = '最終報告書';
export const TOP_DELIVERIES = 10;

export function finalHeader(d: FinalData, now: Date, due?: string): DocumentHeader {
  const end = d.overviews.at(-1)!.to;
  const rule = '委託業務の完了の日から起算して10日以内、又は契約終了日のいずれか早い日';
  return {
    title: `${FINAL_TITLE} (運用実績の分析と提案)`,
    subtitle: `対象期間: ${periodLabel(d)}`,
    due: due
      ? `提出期限: ${formatWareki(due, { weekday: true })} (${rule})`
      : `提出期限: ${formatWareki(end, { weekday: true })} (${rule}。契約終了日を対象期間の末日として表示しています)`,
    generated: `作成日時: ${generatedLabel(now)}`,
    parties: partiesLine(d.tenants.prefecture),
  };
}

/** The final report's charts: growth by month, registrations against population, opens, top deliveries. */
export async function finalCharts(d: FinalData, top: DeliveryFigures[]): Promise<ChartImage[]> {
  const names = d.rows.filter((r) => !r.total).map((r) => r.name);
  const muni = d.rows.filter((r) => !r.total);
  const totals = d.overviews.map((o) => o.totals);
  const label = periodLabel(d);
  return renderCharts([
    {
      caption: `県全体の友だち数の推移 (各月末、${label})`,
      width: 1200,
      height: 600,
      options: monthlyOptions({
        title: `県全体の${FIGURES.friends.label} (各月末、人)`,
        months: d.months,
        unit: '人',
        series: [{ name: FIGURES.friends.label, values: totals.map((t) => t.friends) }],
      }),
    },
    {
      caption: `月別の友だち追加とブロック (県全体、LINE の通知から集計)`,
      width: 1200,
      height: 600,
      options: monthlyOptions({
        title: '月別の友だち追加とブロック (県全体、人)',
        months: d.months,
        unit: '人',
        type: 'bar',
        colors: [PALETTE[0], PALETTE[3]],
        series: [
          { name: '友だち追加 (ブロック解除を含む)', values: totals.map((t) => t.follows + t.unblocks) },
          { name: 'ブロック', values: totals.map((t) => t.unfollows) },
        ],
      }),
    },
    {
      caption: `市町別の人口あたり友だち数 (${formatWarekiMonth(d.to)}末)`,
      width: 1200,
      height: 900,
      options: municipalityBarsOptions({
        title: `市町別の${FIGURES.friendsPerPopulation.label} (%)`,
        names,
        unit: '%',
        series: [{ name: FIGURES.friendsPerPopulation.label, values: muni.map((r) => r.friendsPerPopulation) }],
      }),
    },
    {
      caption: `市町別の開封率とクリック率 (${label})`,
      width: 1200,
      height: 900,
      options: municipalityBarsOptions({
        title: `市町別の${FIGURES.openRate.label}と${FIGURES.clickRate.label} (%)`,
        names,
        unit: '%',
        colors: [PALETTE[2], PALETTE[4]],
        series: [
          { name: FIGURES.openRate.label, values: muni.map((r) => r.openRate) },
          { name: FIGURES.clickRate.label, values: muni.map((r) => r.clickRate) },
        ],
      }),
    },
    {
      caption: `開封率の高い配信 上位 ${top.length} 件 (${label})`,
      width: 1200,
      height: 650,
      options: topDeliveryRatesOptions(top, d.tenants.name),
    },
  ]);
}

export async function buildFinal(
  src: ReportSources,
  period: { from: string; to: string },
  now: Date,
  onProgress?: Progress,
  due?: string,
): Promise<{ prefix: string; docx: Buffer; xlsx: Buffer }> {
  if (due !== undefined) parseDate(due);
  let d!: FinalData;
  let charts: ChartImage[] = [];
  let docx!: Buffer;
  let xlsx!: Buffer;
  let top: DeliveryFigures[] = [];
  let findings!: FinalFindings;
  await runSteps(
    [
      [
        '期間の集計値と記録を読み込んでいます',
        async () => {
          // the findings' charts are drawn while the period's figures are read
          const [data, f] = await Promise.all([
            readFinal(src, period),
            readFinalFindings(src, period).then(async (f) => ({
              ...f,
              charts: await findingsChartImages(f.all, periodLabel(period)),
            })),
          ]);
          d = data;
          findings = f;
          top = topByOpenRate(d.deliveries, TOP_DELIVERIES);
        },
      ],
      ['グラフを作成しています', async () => void (charts = await finalCharts(d, top))],
      [
        '最終報告書 (Word) を作成しています',
        async () => void (docx = await finalDocx(d, finalHeader(d, now, due), charts, top, findings)),
      ],
      [
        '最終報告書 (Excel) を作成しています',
        async () => void (xlsx = await finalXlsx(d, finalHeader(d, now, due), charts, top, now, findings)),
      ],
    ],
    onProgress,
  );
  return { prefix: `${d.from}_${d.to}`, docx, xlsx };
}
