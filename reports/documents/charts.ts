/**
 * Charts of the report documents: the dashboard's chart definitions (dashboard/charts.ts) where
 * the dashboard has one, and per-municipality comparisons in the same style, rendered once to PNG
 * and reused by every document of a package.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { renderAsync } from '@resvg/resvg-js';
import { PALETTE, deliveryRatesOptions, renderChartSvg, type ChartOptions } from '../../metrics/index.ts';
import { REPORT_FONT } from '../chart-png.ts';
import type { DeliveryFigures } from './sources.ts';

export interface ChartImage {
  /** Figure caption (Japanese). */
  caption: string;
  png: Buffer;
  width: number;
  height: number;
  /** Drawn in a section of its own (the KPI report's health mileage, FAQ) rather than with the other charts. */
  section?: 'mileage' | 'faq';
}

/*
 * Rendered on the server, apexcharts cannot measure text, and its legend is HTML that an SVG
 * renderer does not draw: label space is reserved explicitly and the legend is a subtitle naming
 * each series' colour.
 */
const style = {
  dataLabels: { enabled: false },
  legend: { show: false },
  grid: { borderColor: '#ddd', padding: { top: 10, right: 40, bottom: 30, left: 10 } },
  noData: { text: 'データがありません', style: { fontSize: '16px' } },
};

const COLOUR_NAMES: Record<string, string> = {
  '#0072B2': '青',
  '#E69F00': '黄橙',
  '#009E73': '緑',
  '#D55E00': '赤橙',
  '#CC79A7': '赤紫',
  '#56B4E9': '水色',
  '#F0E442': '黄',
  '#000000': '黒',
};

/** 凡例: 青 = 友だち追加　赤橙 = ブロック (for two or more series), with room for it above the plot. */
export function legendSubtitle(names: readonly string[], colors: readonly string[]): Record<string, unknown> {
  if (names.length < 2) return {};
  const text = names
    .map((n, i) => `${COLOUR_NAMES[colors[i % colors.length]!] ?? colors[i % colors.length]} = ${n}`)
    .join('　');
  return {
    subtitle: { text: `凡例: ${text}`, style: { fontSize: '15px' } },
    grid: { ...style.grid, padding: { ...style.grid.padding, top: 30 } },
  };
}

const pct = (v: number | null) => (v === null ? null : Math.round(v * 1000) / 10);

/** Axis labels with thousands separators (server-side only: a function does not survive JSON). */
const axisLabel = (percent: boolean) => (v: number) =>
  typeof v !== 'number' || !Number.isFinite(v)
    ? String(v ?? '')
    : percent
      ? `${Number(v.toFixed(1))}`
      : Math.round(v).toLocaleString('ja-JP');

export interface Series {
  name: string;
  values: Array<number | null>;
}

/**
 * One bar per municipality (horizontal, so 29 names stay readable); several series side by side.
 * Percent series take fractions and are drawn as % with one decimal.
 */
export function municipalityBarsOptions(o: {
  title: string;
  names: string[];
  series: Series[];
  unit: '人' | '%' | '件' | '人・枚';
  colors?: string[];
}): ChartOptions {
  const percent = o.unit === '%';
  const colors = o.colors ?? [...PALETTE];
  return {
    ...style,
    chart: {
      type: 'bar',
      height: 900,
      id: 'by-municipality',
      animations: { enabled: false },
      toolbar: { show: false },
    },
    title: { text: o.title, style: { fontSize: '18px' } },
    ...legendSubtitle(
      o.series.map((s) => s.name),
      colors,
    ),
    colors,
    series: o.series.map((s) => ({
      name: s.name,
      data: o.names.map((x, i) => ({ x, y: percent ? pct(s.values[i] ?? null) : (s.values[i] ?? null) })),
    })),
    plotOptions: { bar: { horizontal: true, barHeight: o.series.length > 1 ? '80%' : '65%' } },
    xaxis: {
      title: { text: o.unit },
      decimalsInFloat: percent ? 1 : 0,
      labels: { style: { fontSize: '13px' }, formatter: axisLabel(percent) },
    },
    yaxis: { labels: { style: { fontSize: '14px' }, minWidth: 100, maxWidth: 160 } },
  };
}

/** Lines (or bars) over months, e.g. prefecture-wide friends at each month's end. */
export function monthlyOptions(o: {
  title: string;
  months: string[];
  series: Series[];
  unit: '人' | '%';
  type?: 'line' | 'bar';
  colors?: string[];
}): ChartOptions {
  const percent = o.unit === '%';
  const colors = o.colors ?? [...PALETTE];
  return {
    ...style,
    chart: {
      type: o.type ?? 'line',
      height: 500,
      id: 'by-month',
      animations: { enabled: false },
      toolbar: { show: false },
    },
    title: { text: o.title, style: { fontSize: '18px' } },
    ...legendSubtitle(
      o.series.map((s) => s.name),
      colors,
    ),
    colors,
    series: o.series.map((s) => ({
      name: s.name,
      data: o.months.map((m, i) => ({
        x: monthLabel(m),
        y: percent ? pct(s.values[i] ?? null) : (s.values[i] ?? null),
      })),
    })),
    stroke: o.type === 'bar' ? { width: 0 } : { width: 3, curve: 'straight' },
    grid: { ...style.grid, padding: { ...style.grid.padding, right: 60, top: o.series.length > 1 ? 30 : 10 } },
    markers: { size: o.type === 'bar' ? 0 : 5 },
    xaxis: { type: 'category', labels: { style: { fontSize: '13px' } } },
    yaxis: {
      min: 0,
      decimalsInFloat: percent ? 1 : 0,
      labels: { style: { fontSize: '13px' }, minWidth: 60, formatter: axisLabel(percent) },
    },
  };
}

/** 2026-04 → 2026/4 */
const monthLabel = (m: string) => `${m.slice(0, 4)}/${Number(m.slice(5))}`;

/**
 * The dashboard's per-delivery open and click rates (its series, colours and scale), drawn as
 * horizontal bars so each delivery's label stays readable; labels are numbered like the table.
 */
export function topDeliveryRatesOptions(ds: DeliveryFigures[], names: (id: string) => string): ChartOptions {
  const short = (t: string) => ([...t].length > 12 ? `${[...t].slice(0, 11).join('')}…` : t);
  const labelled = ds.map((d, i) => ({ ...d, title: `${i + 1}. ${names(d.tenantId)}「${short(d.title)}」` }));
  const o = deliveryRatesOptions(labelled, { height: 650 });
  const colors = (o.colors as string[] | undefined) ?? [...PALETTE];
  return {
    ...o,
    ...style,
    title: { text: '開封率の高い配信 (開封率・クリック率、%)', style: { fontSize: '18px' } },
    ...legendSubtitle(
      (o.series as Array<{ name: string }>).map((s) => s.name),
      colors,
    ),
    plotOptions: { bar: { horizontal: true, barHeight: '75%' } },
    xaxis: { ...(o.xaxis as Record<string, unknown>), labels: { style: { fontSize: '13px' } } },
    yaxis: {
      ...(o.yaxis as Record<string, unknown>),
      title: { text: '' },
      labels: { style: { fontSize: '14px' }, minWidth: 420, maxWidth: 420 },
    },
  };
}

/** The deliveries with the highest open rate (those with too few recipients to tell are left out). */
export function topByOpenRate(ds: DeliveryFigures[], n: number): DeliveryFigures[] {
  return ds
    .filter((d) => d.openRate !== null)
    .sort(
      (a, b) =>
        b.openRate! - a.openRate! || (b.delivered ?? 0) - (a.delivered ?? 0) || a.sentAt.localeCompare(b.sentAt),
    )
    .slice(0, n);
}

const deflate = promisify(zlib.deflate);

/** PNG of opaque RGB pixels taken from RGBA (the alpha is dropped: charts have a white background). */
async function rgbPng(rgba: Buffer, width: number, height: number): Promise<Buffer> {
  const stride = width * 3 + 1;
  const raw = Buffer.alloc(stride * height); // each row: filter type 0, then the pixels
  for (let y = 0, s = 0; y < height; y++) {
    for (let x = 0, d = y * stride + 1; x < width; x++, s += 4, d += 3) {
      raw[d] = rgba[s]!;
      raw[d + 1] = rgba[s + 1]!;
      raw[d + 2] = rgba[s + 2]!;
    }
  }
  const chunk = (type: string, data: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(data, zlib.crc32(type)) >>> 0, 0);
    return [head, data, crc];
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, no filter method variants, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    ...chunk('IHDR', ihdr),
    ...chunk('IDAT', await deflate(raw)),
    ...chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * Renders the charts one after another (drawing several at once on a small machine is slower):
 * each chart's SVG here (apexcharts/ssr, as chartPng does), its pixels off the main thread
 * (resvg's renderAsync, with chartPng's font), so the documents that need no chart are made
 * meanwhile. The PNGs are opaque RGB, which a PDF embeds as they are (pdfkit would otherwise
 * decode each image in JavaScript to split off its alpha channel).
 */
export async function renderCharts(
  list: Array<{
    caption: string;
    options: ChartOptions;
    width: number;
    height: number;
    section?: ChartImage['section'];
  }>,
): Promise<ChartImage[]> {
  const out: ChartImage[] = [];
  for (const c of list) {
    const chart = { ...(c.options.chart as Record<string, unknown> | undefined), fontFamily: 'IPAexGothic' };
    const svg = await renderChartSvg({ ...c.options, chart }, { width: c.width, height: c.height });
    const img = await renderAsync(svg, { background: 'white', font: RESVG_FONT });
    out.push({
      caption: c.caption,
      ...(c.section ? { section: c.section } : {}),
      width: img.width,
      height: img.height,
      png: await rgbPng(img.pixels, img.width, img.height),
    });
  }
  return out;
}

const RESVG_FONT = {
  fontFiles: [REPORT_FONT],
  loadSystemFonts: false,
  defaultFontFamily: 'IPAexGothic',
  sansSerifFamily: 'IPAexGothic',
};
