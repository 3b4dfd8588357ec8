/** apexcharts options for the FAQ's statistics (drawn by the dashboard's charts.js from chart-data). */
import { createRequire } from 'node:module';
import { type ChartOptions, PALETTE } from '../metrics/index.ts';

const JA: Record<string, unknown> = createRequire(import.meta.url)('apexcharts/dist/locales/ja.json');

const base = (type: 'bar' | 'line', id: string, height: number): ChartOptions => ({
  colors: [...PALETTE],
  dataLabels: { enabled: false },
  grid: { borderColor: '#ddd' },
  noData: { text: 'データがありません', style: { fontSize: '14px' } },
  chart: {
    type,
    height,
    id,
    locales: [JA],
    defaultLocale: 'ja',
    fontFamily: "IPAexGothic, 'Noto Sans JP', system-ui, sans-serif",
    foreColor: '#333',
    animations: { enabled: false },
    toolbar: { show: false },
    zoom: { enabled: false },
  },
});

/** Node views per Tokyo day (bars). */
export function dailyViewsOptions(daily: Array<{ day: string; count: number }>): ChartOptions {
  return {
    ...base('bar', 'faq-daily', 260),
    title: { text: '日別の表示回数', style: { fontSize: '15px' } },
    series: [{ name: '表示回数', data: daily.map((d) => ({ x: d.day, y: d.count })) }],
    xaxis: { type: 'category', labels: { rotate: -45 } },
    yaxis: { min: 0, decimalsInFloat: 0, title: { text: '回' } },
  };
}

/** Views per Tokyo day of the most viewed nodes: a line per node over every day of the period. */
export function nodeDailyOptions(d: {
  days: string[];
  series: Array<{ title: string; counts: number[] }>;
}): ChartOptions {
  return {
    ...base('line', 'faq-node-daily', 320),
    title: { text: `項目別・日別の表示回数 (上位 ${d.series.length} 項目)`, style: { fontSize: '15px' } },
    legend: { show: true, position: 'bottom' },
    stroke: { width: 2, curve: 'straight' },
    markers: { size: d.days.length > 31 ? 0 : 3 },
    series: d.series.map((s) => ({ name: s.title, data: d.days.map((x, i) => ({ x, y: s.counts[i] ?? 0 })) })),
    xaxis: { type: 'category', labels: { rotate: -45 }, tickAmount: Math.min(d.days.length, 15) },
    yaxis: { min: 0, decimalsInFloat: 0, title: { text: '回' } },
  };
}
