/**
 * The health-mileage charts of the monthly KPI report (Word and PDF: in the mileage section; Excel:
 * the sheet マイレージのグラフ): participants per municipality with participants per 1,000
 * residents, points by activity (the dashboard's chart), and residents at the goal beside cards
 * issued per municipality. Drawn with the report's other charts (renderCharts) and told apart by
 * their `section`.
 */
import {
  PALETTE,
  mileageActivityOptions,
  mileageValue,
  type ChartOptions,
  type MileageOverview,
} from '../../metrics/index.ts';
import { legendSubtitle, municipalityBarsOptions, type ChartImage } from './charts.ts';
import { formatFigure } from './common.ts';

export interface ChartRequest {
  caption: string;
  options: ChartOptions;
  width: number;
  height: number;
  section?: ChartImage['section'];
}

/** Municipality names with participants per 1,000 residents (or why there is none). */
function namesWithRate(m: MileageOverview): string[] {
  return m.rows.map((r) => {
    if (!r.programme) return `${r.name} (事業なし)`;
    const rate = mileageValue(r, 'participantsPerThousand');
    return rate === null ? r.name : `${r.name} (千人あたり ${formatFigure(rate, 'decimal')})`;
  });
}

/** Points by activity as the dashboard draws them, with the report's legend (a subtitle) and larger type. */
function activityOptions(m: MileageOverview): ChartOptions {
  const o = mileageActivityOptions(m.totals.activities, { title: '県全体の活動別の獲得ポイント (pt)' });
  const series = o.series as Array<{ name: string }>;
  const colors = (o.colors as string[] | undefined) ?? [...PALETTE];
  return {
    ...o,
    legend: { show: false },
    title: { ...(o.title as Record<string, unknown>), style: { fontSize: '18px' } },
    grid: { borderColor: '#ddd', padding: { top: 30, right: 40, bottom: 30, left: 10 } },
    ...legendSubtitle(
      series.map((s) => s.name),
      colors,
    ),
    xaxis: { ...(o.xaxis as Record<string, unknown>), title: { text: 'pt' }, labels: { style: { fontSize: '13px' } } },
    yaxis: { labels: { style: { fontSize: '14px' }, minWidth: 300, maxWidth: 360 } },
  };
}

/**
 * Per-municipality bars with room for the longer names, and whole-number ticks when the counts are
 * small (apexcharts would otherwise print 0, 0, 1, 1 …).
 */
function countBars(o: Parameters<typeof municipalityBarsOptions>[0]): ChartOptions {
  const bars = municipalityBarsOptions(o);
  const max = Math.max(0, ...o.series.flatMap((s) => s.values.map((v) => v ?? 0)));
  return {
    ...bars,
    xaxis: { ...(bars.xaxis as Record<string, unknown>), ...(max < 10 ? { tickAmount: Math.max(1, max) } : {}) },
    yaxis: { labels: { style: { fontSize: '14px' }, minWidth: 260, maxWidth: 300 } },
  };
}

/** The charts to draw; none when no municipality runs a programme in the fiscal year. */
export function mileageChartRequests(m: MileageOverview): ChartRequest[] {
  if (!m.rows.some((r) => r.programme)) return [];
  const rows = m.rows;
  const size = { width: 1200, height: 900 };
  const section = 'mileage' as const;
  const out: ChartRequest[] = [
    {
      caption: `市町別の健康マイレージ参加者 (${m.monthLabel}末、括弧内は人口千人あたり)`,
      ...size,
      section,
      options: countBars({
        title: '市町別の参加者数 (人) と人口千人あたりの参加者',
        names: namesWithRate(m),
        unit: '人',
        series: [{ name: '参加者数', values: rows.map((r) => mileageValue(r, 'participants')) }],
      }),
    },
  ];
  if (m.totals.activities.length) {
    out.push({
      caption: `県全体の活動別の獲得ポイント (${m.monthLabel}・年度累計)`,
      width: 1200,
      height: Math.min(900, Math.max(420, 140 + 56 * m.totals.activities.length)),
      section,
      options: activityOptions(m),
    });
  }
  out.push({
    caption: `市町別の目標達成者ととこわか健康応援カードの発行 (${m.fiscalYearLabel}、${m.monthLabel}末までの累計)`,
    ...size,
    section,
    options: countBars({
      title: '市町別の目標達成者 (人) とカード発行 (枚)',
      names: rows.map((r) => (r.programme ? r.name : `${r.name} (事業なし)`)),
      unit: '人・枚',
      colors: [PALETTE[2], PALETTE[0]],
      series: [
        { name: '目標達成者 (累計)', values: rows.map((r) => mileageValue(r, 'reachedGoal')) },
        { name: 'カード発行 (年度累計)', values: rows.map((r) => mileageValue(r, 'cardsIssuedToDate')) },
      ],
    }),
  });
  return out;
}

/** The report's charts apart: the mileage section's and the others (the グラフ section's). */
export function splitCharts(charts: readonly ChartImage[]): { mileage: ChartImage[]; other: ChartImage[] } {
  return {
    mileage: charts.filter((c) => c.section === 'mileage'),
    other: charts.filter((c) => !c.section),
  };
}
