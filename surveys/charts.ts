/**
 * apexcharts option builders for survey results, in metrics/charts.ts's style (data only, Japanese
 * locale, the Okabe–Ito palette): the browser draws them from the page's chart-data with the
 * dashboard's charts.js (text escaped there).
 */
import { createRequire } from 'node:module';
import { type ChartOptions, PALETTE } from '../metrics/index.ts';
import type { QuestionResult, SurveyResults } from './schemas.ts';

const JA: Record<string, unknown> = createRequire(import.meta.url)('apexcharts/dist/locales/ja.json');
const FONT = "IPAexGothic, 'Noto Sans JP', system-ui, sans-serif";

const chart = (type: string, height: number, id: string) => ({
  type,
  height,
  id,
  locales: [JA],
  defaultLocale: 'ja',
  fontFamily: FONT,
  foreColor: '#333',
  animations: { enabled: false },
  toolbar: { show: false },
  zoom: { enabled: false },
});

const common = {
  colors: [...PALETTE],
  dataLabels: { enabled: false },
  legend: { position: 'top', horizontalAlign: 'left', fontSize: '13px' },
  grid: { borderColor: '#ddd' },
  noData: { text: 'データがありません', style: { fontSize: '14px' } },
};

/** Complete answers per day (Tokyo), cumulative as a line and per day as bars. */
export function answersOverTimeOptions(daily: SurveyResults['daily']): ChartOptions {
  let sum = 0;
  const cumulative = daily.map((d) => ({ x: d.day, y: (sum += d.count) }));
  return {
    ...common,
    chart: chart('line', 280, 'survey-daily'),
    title: { text: '回答数の推移', style: { fontSize: '15px' } },
    series: [
      { name: '日別の回答数', type: 'column', data: daily.map((d) => ({ x: d.day, y: d.count })) },
      { name: '累計', type: 'line', data: cumulative },
    ],
    stroke: { width: [0, 3] },
    xaxis: { type: 'category', labels: { rotate: -45 } },
    yaxis: { min: 0, decimalsInFloat: 0, title: { text: '件' } },
  };
}

/** Counts per option of one choice question (horizontal bars). */
export function optionCountsOptions(q: QuestionResult, n: number): ChartOptions {
  return {
    ...common,
    chart: chart('bar', Math.max(160, 70 + 36 * q.options.length), `survey-q-${q.questionId}`),
    title: { text: `Q${n}. ${q.text}`.slice(0, 80), style: { fontSize: '14px' } },
    series: [{ name: '回答数', data: q.options.map((o) => ({ x: o.label, y: o.count })) }],
    plotOptions: { bar: { horizontal: true, barHeight: '70%' } },
    xaxis: { decimalsInFloat: 0 },
  };
}
