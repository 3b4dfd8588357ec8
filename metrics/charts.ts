/**
 * apexcharts option builders, shared by the browser (pages embed the options as JSON) and the
 * server (reports render them with `apexcharts/ssr`). Options hold data only, no functions, so
 * they survive JSON and render the same in both places.
 *
 * Every chart speaks Japanese: apexcharts' own `ja` locale (month and day names) and date formats
 * such as 6/1 and 2026年6月 on the daily axes, whose ticks are whole days (never hours).
 *
 * Stored text (delivery titles, option labels, names) reaches these charts. Both renderers make it
 * safe with the one module chart-text.js: the browser (dashboard/browser/charts.ts) adds its escaping
 * tooltip and legend formatters after parsing the JSON, and `renderChartSvg` escapes every text
 * before apexcharts/ssr serialises it. Every chart, whichever builder made it, goes through one of the two.
 */
import { createRequire } from 'node:module';
import { withSvgSafeText } from './chart-text.js';
import type { DeliveryFigures } from './deliveries.ts';
import type { MunicipalityDay } from './municipality.ts';
import { FIGURES } from './figures.ts';
import { MILEAGE_FIGURES, type MileageActivity, type MileageMonth } from './mileage.ts';

/** Okabe–Ito: distinguishable with the common colour-vision deficiencies. */
export const PALETTE = [
  '#0072B2',
  '#E69F00',
  '#009E73',
  '#D55E00',
  '#CC79A7',
  '#56B4E9',
  '#F0E442',
  '#000000',
] as const;

export const CHART_FONT = "IPAexGothic, 'Noto Sans JP', system-ui, sans-serif";

export type ChartOptions = Record<string, unknown>;

/** apexcharts' Japanese locale (its dist/locales/ja.json: 1月…, 日曜日…), the one every chart uses. */
export const JA_LOCALE: Record<string, unknown> = createRequire(import.meta.url)('apexcharts/dist/locales/ja.json');
const locale = { locales: [JA_LOCALE], defaultLocale: 'ja' };

const base = (type: string, height: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  type,
  height,
  ...locale,
  fontFamily: CHART_FONT,
  foreColor: '#333',
  animations: { enabled: false },
  toolbar: { show: false },
  zoom: { enabled: false },
  ...extra,
});

const common = {
  colors: [...PALETTE],
  dataLabels: { enabled: false },
  legend: { position: 'top', horizontalAlign: 'left', fontSize: '13px' },
  grid: { borderColor: '#ddd' },
  noData: { text: 'データがありません', style: { fontSize: '14px' } },
};

const DAY_MS = 86_400_000;

/**
 * A datetime x axis over calendar days ('YYYY-MM-DD', first to last) that asks apexcharts for at most
 * one tick a day: its ladder of intervals would pick hours for a range under a week or so
 * ("29 Jun 09:00"). Days are read as UTC dates, so a label stands under its day's point in every
 * time zone. Labels: 6/29, 6月, 2026年, with the year when the range crosses one (2025/12/30,
 * 2026年1月). `span`: the axis runs from first to last even where a line has no point (bars leave
 * it to apexcharts, which pads the ends by a bar's width).
 */
function dayAxis(first: string | undefined, last: string | undefined, opts: { span?: boolean } = {}) {
  const crossesYear = !!first && !!last && first.slice(0, 4) !== last.slice(0, 4);
  const axis: Record<string, unknown> = {
    type: 'datetime',
    labels: {
      datetimeUTC: true,
      datetimeFormatter: {
        year: 'yyyy年',
        month: crossesYear ? 'yyyy年M月' : 'M月',
        day: crossesYear ? 'yyyy/M/d' : 'M/d',
        hour: 'M/d H時',
      },
    },
  };
  if (!first || !last) return axis;
  let min = Date.parse(`${first}T00:00:00Z`);
  let max = Date.parse(`${last}T00:00:00Z`);
  if (opts.span) {
    // one day: half a day each side, so the axis has a width
    if (min === max) [min, max] = [min - DAY_MS / 2, max + DAY_MS / 2];
    Object.assign(axis, { min, max });
  }
  axis.tickAmount = Math.max(1, Math.min(10, Math.round((max - min) / DAY_MS)));
  return axis;
}

/** Daily friends, targeted reach and blocks as LINE counts them (gaps where LINE gave nothing). */
export function friendsChartOptions(
  days: MunicipalityDay[],
  opts: { height?: number; title?: string } = {},
): ChartOptions {
  const pts = (pick: (d: MunicipalityDay) => number | null) =>
    days.filter((d) => d.insight).map((d) => ({ x: d.day, y: pick(d) }));
  return {
    ...common,
    chart: base('line', opts.height ?? 320, { id: 'friends' }),
    title: {
      text: opts.title ?? '友だち数・ターゲットリーチ・ブロック数 (LINE の統計、日別)',
      style: { fontSize: '15px' },
    },
    series: [
      { name: FIGURES.friends.label, data: pts((d) => d.followers) },
      { name: FIGURES.targetedReaches.label, data: pts((d) => d.targetedReaches) },
      { name: FIGURES.blocks.label, data: pts((d) => d.blocks) },
    ],
    stroke: { width: [3, 2, 2], curve: 'straight', dashArray: [0, 6, 2] },
    // the whole range, also where LINE gave nothing
    xaxis: dayAxis(days[0]?.day, days.at(-1)?.day, { span: true }),
    tooltip: { x: { format: 'yyyy年M月d日' } },
    yaxis: { title: { text: '人' }, min: 0, decimalsInFloat: 0 },
  };
}

/** New follows against blocks per week (from LINE's webhooks). */
export function followsVsBlocksOptions(
  days: MunicipalityDay[],
  opts: { height?: number; bucket?: 'day' | 'week' } = {},
): ChartOptions {
  const bucket = opts.bucket ?? (days.length > 62 ? 'week' : 'day');
  const groups = new Map<string, { follows: number; unfollows: number }>();
  for (const d of days) {
    const key = bucket === 'day' ? d.day : weekStart(d.day);
    const g = groups.get(key) ?? { follows: 0, unfollows: 0 };
    g.follows += d.follows + d.unblocks;
    g.unfollows += d.unfollows;
    groups.set(key, g);
  }
  const keys = [...groups.keys()];
  return {
    ...common,
    chart: base('bar', opts.height ?? 300, { id: 'follows-blocks', stacked: false }),
    title: {
      text: `友だち追加とブロック (${bucket === 'week' ? '週別' : '日別'}、LINE の通知から集計)`,
      style: { fontSize: '15px' },
    },
    colors: [PALETTE[0], PALETTE[3]],
    series: [
      { name: '友だち追加 (ブロック解除を含む)', data: keys.map((k) => ({ x: k, y: groups.get(k)!.follows })) },
      { name: 'ブロック', data: keys.map((k) => ({ x: k, y: groups.get(k)!.unfollows })) },
    ],
    plotOptions: { bar: { columnWidth: '80%' } },
    fill: { type: ['solid', 'pattern'], pattern: { style: ['slantedLines'], width: 6, height: 6, strokeWidth: 2 } },
    xaxis: dayAxis(keys[0], keys.at(-1)),
    tooltip: { x: { format: bucket === 'day' ? 'yyyy年M月d日' : 'yyyy年M月d日からの週' } },
    yaxis: { title: { text: '人' }, min: 0, decimalsInFloat: 0 },
  };
}

/** Open rate and click rate per delivery (null → a gap, never 0). */
export function deliveryRatesOptions(deliveries: DeliveryFigures[], opts: { height?: number } = {}): ChartOptions {
  const label = (d: DeliveryFigures) => `${d.sentAt.slice(0, 10)} ${d.title}`.slice(0, 40);
  const pct = (v: number | null) => (v === null ? null : Math.round(v * 1000) / 10);
  return {
    ...common,
    chart: base('bar', opts.height ?? 300, { id: 'delivery-rates' }),
    title: { text: '配信ごとの開封率・クリック率 (%)', style: { fontSize: '15px' } },
    colors: [PALETTE[2], PALETTE[4]],
    series: [
      { name: FIGURES.openRate.label, data: deliveries.map((d) => ({ x: label(d), y: pct(d.openRate) })) },
      { name: FIGURES.clickRate.label, data: deliveries.map((d) => ({ x: label(d), y: pct(d.clickRate) })) },
    ],
    plotOptions: { bar: { horizontal: false, columnWidth: '70%' } },
    xaxis: { type: 'category', labels: { rotate: -45, trim: true } },
    yaxis: { min: 0, max: 100, title: { text: '%' }, decimalsInFloat: 0 },
  };
}

/** Residents by a registered attribute's values. */
export function attributeChartOptions(
  item: string,
  values: Array<{ value: string; residents: number }>,
  opts: { height?: number } = {},
): ChartOptions {
  return {
    ...common,
    chart: base('bar', opts.height ?? 240, { id: `attr-${item}` }),
    title: { text: item, style: { fontSize: '14px' } },
    series: [{ name: '人数', data: values.map((v) => ({ x: v.value, y: v.residents })) }],
    plotOptions: { bar: { horizontal: true } },
    xaxis: { decimalsInFloat: 0, tickAmount: Math.min(5, Math.max(1, ...values.map((v) => v.residents))) },
  };
}

/** A small line without axes for a table cell. */
export function sparklineOptions(values: number[], labels: string[] = []): ChartOptions {
  return {
    chart: {
      type: 'line',
      width: 120,
      height: 32,
      ...locale,
      sparkline: { enabled: true },
      animations: { enabled: false },
    },
    colors: [PALETTE[0]],
    stroke: { width: 2, curve: 'straight' },
    series: [{ name: '純増', data: values }],
    labels,
    tooltip: { enabled: true, fixed: { enabled: false }, marker: { show: false } },
  };
}

function weekStart(day: string): string {
  const t = Date.parse(`${day}T00:00:00Z`);
  const dow = (new Date(t).getUTCDay() + 6) % 7; // Monday first
  return new Date(t - dow * 86_400_000).toISOString().slice(0, 10);
}

/**
 * Renders chart options to SVG on the server (for reports). Width and height in pixels; the
 * options are the same the pages use. apexcharts/ssr writes texts and attributes without escaping
 * them, so every text is escaped first (withSvgSafeText): the SVG stays well-formed and reads as
 * the stored text.
 */
export async function renderChartSvg(options: ChartOptions, size: { width: number; height: number }): Promise<string> {
  const mod = (await import('apexcharts/ssr')) as unknown as {
    default: { renderToString(o: unknown, s: { width: number; height: number }): Promise<string> };
  };
  // Japanese, also for the charts reports build themselves
  const chart = { ...locale, ...(options.chart as Record<string, unknown>), width: size.width, height: size.height };
  return mod.default.renderToString(withSvgSafeText({ ...options, chart }), size);
}

const monthLabel = (m: string) => `${Number(m.slice(5, 7))}月`;

/** The fiscal year's months so far: participants (cumulative), new and active residents, residents at the goal. */
export function mileageGrowthOptions(
  series: ReadonlyArray<Pick<MileageMonth, 'month' | 'participants' | 'newParticipants' | 'active' | 'reachedGoal'>>,
  opts: { height?: number; title?: string } = {},
): ChartOptions {
  const line = (name: string, pick: (m: (typeof series)[number]) => number) => ({
    name,
    data: series.map((m) => ({ x: monthLabel(m.month), y: pick(m) })),
  });
  return {
    ...common,
    chart: base('line', opts.height ?? 300, { id: 'mileage-growth' }),
    title: { text: opts.title ?? '健康マイレージの月別の推移 (年度の初めから)', style: { fontSize: '15px' } },
    series: [
      line(MILEAGE_FIGURES.participants.label, (m) => m.participants),
      line(MILEAGE_FIGURES.newParticipants.label, (m) => m.newParticipants),
      line(MILEAGE_FIGURES.active.label, (m) => m.active),
      line(MILEAGE_FIGURES.reachedGoal.label, (m) => m.reachedGoal),
    ],
    stroke: { width: [3, 2, 2, 2], curve: 'straight', dashArray: [0, 6, 2, 10] },
    markers: { size: 4 },
    xaxis: { type: 'category' },
    yaxis: { title: { text: '人' }, min: 0, decimalsInFloat: 0 },
  };
}

/** Points by activity, in the month and from April (a correction shows as its own, negative bar). */
export function mileageActivityOptions(
  activities: ReadonlyArray<Pick<MileageActivity, 'name' | 'methodLabel' | 'points' | 'pointsToDate'>>,
  opts: { height?: number; title?: string } = {},
): ChartOptions {
  const label = (a: (typeof activities)[number]) => `${a.name} (${a.methodLabel})`;
  return {
    ...common,
    chart: base('bar', opts.height ?? Math.max(200, 90 + 44 * activities.length), { id: 'mileage-activities' }),
    title: { text: opts.title ?? '活動別の獲得ポイント (pt)', style: { fontSize: '15px' } },
    colors: [PALETTE[0], PALETTE[1]],
    series: [
      { name: '年度累計', data: activities.map((a) => ({ x: label(a), y: a.pointsToDate })) },
      { name: 'この月', data: activities.map((a) => ({ x: label(a), y: a.points })) },
    ],
    plotOptions: { bar: { horizontal: true, barHeight: '70%' } },
    fill: { type: ['solid', 'pattern'], pattern: { style: ['slantedLines'], width: 6, height: 6, strokeWidth: 2 } },
    xaxis: { decimalsInFloat: 0 },
    // activity names with their method in full (apexcharts cuts labels at 160 px by default)
    yaxis: { labels: { maxWidth: 260 } },
  };
}
