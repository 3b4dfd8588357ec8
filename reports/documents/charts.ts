/**
 * Charts of the report documents: the dashboard's chart definitions (dashboard/charts.ts) where
 * the dashboard has one, and per-municipality comparisons in the same style, rendered once to PNG
 * (reports/chart-png.ts) and reused by every document of a package.
 */
import { PALETTE, deliveryRatesOptions, type ChartOptions } from '../../dashboard/index.ts';
import { chartPng } from '../chart-png.ts';
import type { DeliveryFigures } from './sources.ts';

export interface ChartImage {
  /** Figure caption (Japanese). */
  caption: string;
  png: Buffer;
  width: number;
  height: number;
}

const style = {
  dataLabels: { enabled: false },
  legend: { position: 'top', horizontalAlign: 'left', fontSize: '15px' },
  grid: { borderColor: '#ddd' },
  noData: { text: 'データがありません', style: { fontSize: '16px' } },
};

const pct = (v: number | null) => (v === null ? null : Math.round(v * 1000) / 10);

export interface Series {
  name: string;
  values: Array<number | null>;
}

/**
 * One bar per municipality (horizontal, so 29 names stay readable); several series side by side.
 * Percent series take fractions and are drawn as % with one decimal.
 */
export function municipalityBarsOptions(o: {
  title: string; names: string[]; series: Series[]; unit: '人' | '%' | '件'; colors?: string[];
}): ChartOptions {
  const percent = o.unit === '%';
  return {
    ...style,
    chart: { type: 'bar', height: 900, id: 'by-municipality', animations: { enabled: false }, toolbar: { show: false } },
    title: { text: o.title, style: { fontSize: '18px' } },
    colors: o.colors ?? [...PALETTE],
    series: o.series.map((s) => ({ name: s.name, data: o.names.map((x, i) => ({ x, y: percent ? pct(s.values[i] ?? null) : s.values[i] ?? null })) })),
    plotOptions: { bar: { horizontal: true, barHeight: o.series.length > 1 ? '80%' : '65%' } },
    xaxis: { title: { text: o.unit }, decimalsInFloat: percent ? 1 : 0, labels: { style: { fontSize: '13px' } } },
    yaxis: { labels: { style: { fontSize: '14px' }, maxWidth: 160 } },
  };
}

/** Lines (or bars) over months, e.g. prefecture-wide friends at each month's end. */
export function monthlyOptions(o: {
  title: string; months: string[]; series: Series[]; unit: '人' | '%'; type?: 'line' | 'bar'; colors?: string[];
}): ChartOptions {
  const percent = o.unit === '%';
  return {
    ...style,
    chart: { type: o.type ?? 'line', height: 500, id: 'by-month', animations: { enabled: false }, toolbar: { show: false } },
    title: { text: o.title, style: { fontSize: '18px' } },
    colors: o.colors ?? [...PALETTE],
    series: o.series.map((s) => ({ name: s.name, data: o.months.map((m, i) => ({ x: monthLabel(m), y: percent ? pct(s.values[i] ?? null) : s.values[i] ?? null })) })),
    stroke: o.type === 'bar' ? { width: 0 } : { width: 3, curve: 'straight' },
    markers: { size: o.type === 'bar' ? 0 : 5 },
    xaxis: { type: 'category', labels: { style: { fontSize: '13px' } } },
    yaxis: { title: { text: o.unit }, min: 0, decimalsInFloat: percent ? 1 : 0, labels: { style: { fontSize: '13px' } } },
  };
}

/** 2026-04 → 2026/4 */
const monthLabel = (m: string) => `${m.slice(0, 4)}/${Number(m.slice(5))}`;

/** The dashboard's per-delivery open and click rates, for the deliveries given (most opened first). */
export function topDeliveryRatesOptions(ds: DeliveryFigures[], names: (id: string) => string): ChartOptions {
  const labelled = ds.map((d) => ({ ...d, title: `${names(d.tenantId)} ${d.title}` }));
  const o = deliveryRatesOptions(labelled, { height: 600 });
  return { ...o, title: { text: '開封率の高い配信 (開封率・クリック率、%)', style: { fontSize: '18px' } } };
}

/** The deliveries with the highest open rate (those with too few recipients to tell are left out). */
export function topByOpenRate(ds: DeliveryFigures[], n: number): DeliveryFigures[] {
  return ds
    .filter((d) => d.openRate !== null)
    .sort((a, b) => b.openRate! - a.openRate! || (b.delivered ?? 0) - (a.delivered ?? 0) || a.sentAt.localeCompare(b.sentAt))
    .slice(0, n);
}

/** Renders charts one after another (rendering is CPU work; running them together gains nothing). */
export async function renderCharts(list: Array<{ caption: string; options: ChartOptions; width: number; height: number }>): Promise<ChartImage[]> {
  const out: ChartImage[] = [];
  for (const c of list) {
    out.push({ caption: c.caption, width: c.width, height: c.height, png: await chartPng(c.options, { width: c.width, height: c.height }) });
  }
  return out;
}
