/** apexcharts options for the FAQ's statistics (drawn by the dashboard's charts.js from chart-data). */
import { createRequire } from 'node:module';
import { type ChartOptions, PALETTE } from '../metrics/index.ts';

const JA: Record<string, unknown> = createRequire(import.meta.url)('apexcharts/dist/locales/ja.json');

/** Node views per Tokyo day (bars). */
export function dailyViewsOptions(daily: Array<{ day: string; count: number }>): ChartOptions {
  return {
    colors: [...PALETTE],
    dataLabels: { enabled: false },
    grid: { borderColor: '#ddd' },
    noData: { text: 'データがありません', style: { fontSize: '14px' } },
    chart: {
      type: 'bar',
      height: 260,
      id: 'faq-daily',
      locales: [JA],
      defaultLocale: 'ja',
      fontFamily: "IPAexGothic, 'Noto Sans JP', system-ui, sans-serif",
      foreColor: '#333',
      animations: { enabled: false },
      toolbar: { show: false },
      zoom: { enabled: false },
    },
    title: { text: '日別の表示回数', style: { fontSize: '15px' } },
    series: [{ name: '表示回数', data: daily.map((d) => ({ x: d.day, y: d.count })) }],
    xaxis: { type: 'category', labels: { rotate: -45 } },
    yaxis: { min: 0, decimalsInFloat: 0, title: { text: '回' } },
  };
}
