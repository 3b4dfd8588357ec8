/** Chart specs of the findings (apexcharts options, data only): the same for the 分析 page and the reports' PNGs. */
import { CHART_FONT, JA_LOCALE, PALETTE, type ChartOptions } from '../charts.ts';
import { PEER_FIGURES, WEEKDAYS, type BandRow, type FindingsResult, type HeatCell } from './compute.ts';

const base = (type: string, height: number, id: string) => ({
  type,
  height,
  id,
  locales: [JA_LOCALE],
  defaultLocale: 'ja',
  fontFamily: CHART_FONT,
  foreColor: '#333',
  animations: { enabled: false },
  toolbar: { show: false },
  zoom: { enabled: false },
});

const HOURS = Array.from({ length: 17 }, (_, i) => i + 6); // 6時〜22時

/** Open rate by weekday (rows) × Tokyo hour of sending (columns); a cell without deliveries is grey. */
export function timingHeatmapOptions(cells: readonly HeatCell[], opts: { height?: number } = {}): ChartOptions {
  const at = new Map(cells.map((c) => [`${c.weekday}:${c.hour}`, c]));
  const hours = [...new Set([...HOURS, ...cells.map((c) => c.hour)])].sort((a, b) => a - b);
  return {
    chart: base('heatmap', opts.height ?? 340, 'timing-heatmap'),
    title: { text: '曜日・送信時刻ごとの開封率 (%、配信のない枠は灰色)', style: { fontSize: '15px' } },
    dataLabels: { enabled: false },
    legend: { show: true, position: 'bottom' },
    // rows from Sunday at the bottom to Monday at the top, as apexcharts stacks series upwards
    series: [7, 6, 5, 4, 3, 2, 1].map((w) => ({
      name: `${WEEKDAYS[w - 1]}曜日`,
      data: hours.map((h) => {
        const c = at.get(`${w}:${h}`);
        return { x: `${h}時`, y: c?.openRate == null ? -1 : Math.round(c.openRate * 1000) / 10 };
      }),
    })),
    plotOptions: {
      heatmap: {
        enableShades: false,
        colorScale: {
          ranges: [
            { from: -1, to: -0.5, color: '#dddddd', name: '配信なし' },
            { from: 0, to: 20, color: '#cfe3f2', name: '20% 未満' },
            { from: 20, to: 40, color: '#6baed6', name: '20〜40%' },
            { from: 40, to: 60, color: '#2171b5', name: '40〜60%' },
            { from: 60, to: 100, color: '#08306b', name: '60% 以上' },
          ],
        },
      },
    },
    xaxis: { type: 'category' },
    noData: { text: 'データがありません' },
  };
}

/** Blocks on the day of a delivery and the two after, per 1,000 recipients, by how often the account sent that week. */
export function blocksAfterOptions(rows: readonly BandRow[], opts: { height?: number } = {}): ChartOptions {
  const r1 = (v: number) => Math.round(v * 10) / 10;
  return {
    chart: base('bar', opts.height ?? 300, 'blocks-after'),
    // apexcharts does not wrap a title: the detail goes to the subtitle, so both fit a third of the page
    title: { text: '配信後 3 日間のブロック', style: { fontSize: '15px' } },
    subtitle: { text: '配信人数 1,000 人あたり、直近 7 日間の配信回数別', style: { fontSize: '12px' } },
    colors: [PALETTE[3], PALETTE[7]],
    dataLabels: { enabled: false },
    legend: { position: 'top', horizontalAlign: 'left' },
    series: [
      {
        name: 'ブロック (1,000 人あたり)',
        data: rows.map((r) => ({ x: `${r.label} (${r.deliveries} 件)`, y: r1(r.per1000) })),
      },
      { name: '95% 信頼区間の上限', data: rows.map((r) => ({ x: `${r.label} (${r.deliveries} 件)`, y: r1(r.high) })) },
    ],
    plotOptions: { bar: { columnWidth: '60%' } },
    fill: { type: ['solid', 'pattern'], pattern: { style: ['slantedLines'], width: 6, height: 6, strokeWidth: 2 } },
    xaxis: { type: 'category' },
    yaxis: { min: 0, title: { text: '人' }, decimalsInFloat: 1 },
    noData: { text: 'データがありません' },
  };
}

const show = (unit: '%' | '人', v: number) => Math.round((unit === '%' ? v * 100 : v) * 10) / 10;

/**
 * Peers: for a municipality, its figures against the median of its population band; prefecture-wide,
 * each municipality's open rate (highest first).
 */
export function peerComparisonOptions(r: FindingsResult, opts: { height?: number } = {}): ChartOptions {
  if (r.tenantId) {
    const label = (f: keyof typeof PEER_FIGURES) => `${PEER_FIGURES[f].label} (${PEER_FIGURES[f].unit})`;
    return {
      chart: base('bar', opts.height ?? 320, 'peers'),
      title: { text: `同じ人口規模の市町との比較 (${r.scopeName})`, style: { fontSize: '15px' } },
      colors: [PALETTE[0], PALETTE[1]],
      dataLabels: { enabled: false },
      legend: { position: 'top', horizontalAlign: 'left' },
      series: [
        {
          name: r.scopeName,
          data: r.peerPosition.map((p) => ({ x: label(p.figure), y: show(PEER_FIGURES[p.figure].unit, p.value) })),
        },
        {
          name: '同規模の市町の中央値',
          data: r.peerPosition.map((p) => ({ x: label(p.figure), y: show(PEER_FIGURES[p.figure].unit, p.bandMedian) })),
        },
      ],
      plotOptions: { bar: { horizontal: true, barHeight: '70%' } },
      fill: { type: ['solid', 'pattern'], pattern: { style: ['slantedLines'], width: 6, height: 6, strokeWidth: 2 } },
      yaxis: { labels: { maxWidth: 280 } },
      noData: { text: '同じ人口規模で比べられる市町がありません' },
    };
  }
  const rows = r.peers
    .filter((p) => p.values.openRate !== undefined)
    .sort((a, b) => b.values.openRate! - a.values.openRate!);
  return {
    chart: base('bar', opts.height ?? Math.max(260, 80 + 22 * rows.length), 'peers'),
    title: { text: '市町別の開封率 (%、人口規模)', style: { fontSize: '15px' } },
    colors: [PALETTE[2]],
    dataLabels: { enabled: false },
    series: [
      { name: '開封率', data: rows.map((p) => ({ x: `${p.name} (${p.band})`, y: show('%', p.values.openRate!) })) },
    ],
    plotOptions: { bar: { horizontal: true, barHeight: '70%' } },
    yaxis: { labels: { maxWidth: 260 } },
    noData: { text: `配信が ${8} 件以上ある市町がありません` },
  };
}

/** The findings' charts by name (the page's data-chart names and the reports' figures). */
export function findingsCharts(r: FindingsResult): Record<'heatmap' | 'blocks' | 'peers', ChartOptions> {
  return {
    heatmap: timingHeatmapOptions(r.heatmap),
    blocks: blocksAfterOptions(r.frequency),
    peers: peerComparisonOptions(r),
  };
}
