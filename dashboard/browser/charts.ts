/**
 * Sparklines and charts from the options the server embedded as JSON (data-spark, #chart-data),
 * drawn by apexcharts (loaded before this script as window.ApexCharts). The options are data only;
 * what cannot travel in JSON is added here: the escaping tooltip and legend formatters of
 * metrics/chart-text.js (the one definition the server's SVG renderer uses too) and number formats.
 */
import { withHtmlSafeText } from '../../metrics/chart-text.js';
import { readJson } from '../../core/browser/kit.ts';

type Options = Record<string, unknown>;

/** The part of an apexcharts chart this script uses. */
interface Chart {
  render(): Promise<void>;
  updateOptions(options: Options, redraw?: boolean, animate?: boolean): Promise<unknown>;
}

declare global {
  interface Window {
    ApexCharts?: new (el: Element, options: Options) => Chart;
    /** The page's charts by name (tests read their series). */
    tayoriCharts?: Record<string, Chart>;
  }
}

const object = (v: unknown): Options => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Options) : {});

/** The options a page embedded, made ready for the browser: text escaped where apexcharts writes HTML. */
const browserOptions = (spec: Options): Options => {
  const o = withHtmlSafeText(spec);
  // apexcharts' stylesheets come from /assets/ (the Content-Security-Policy allows no inline <style>)
  o.chart = { ...object(o.chart), injectStyleSheet: false };
  return o;
};

/** Counts of people: whole numbers on the value axis, in Japanese digits grouping (1,234). */
const wholeNumbers = (o: Options): Options => {
  const xaxis = object(o.xaxis);
  return {
    ...o,
    xaxis: {
      ...xaxis,
      labels: {
        ...object(xaxis.labels),
        formatter: (v: string | number) => (Number.isInteger(Number(v)) ? Number(v).toLocaleString('ja-JP') : ''),
      },
    },
  };
};

interface Point {
  x: number;
  y: number;
}

/** The corners of a label's text on the page: a rotated label (the per-delivery chart's) is a rotated box. */
const corners = (text: SVGGraphicsElement): Point[] | null => {
  const b = text.getBBox();
  const m = text.getScreenCTM();
  if (!m || b.width === 0 || b.height === 0) return null;
  return [
    [b.x, b.y],
    [b.x + b.width, b.y],
    [b.x + b.width, b.y + b.height],
    [b.x, b.y + b.height],
  ].map(([x, y]) => new DOMPoint(x, y).matrixTransform(m));
};

/** Whether two convex shapes overlap (no edge of either separates them); shapes that touch are apart. */
const intersect = (a: Point[], b: Point[]): boolean => {
  for (const shape of [a, b])
    for (const [i, p] of shape.entries()) {
      const q = shape[(i + 1) % shape.length]!;
      const along = (v: Point) => v.x * (q.y - p.y) - v.y * (q.x - p.x);
      const pa = a.map(along);
      const pb = b.map(along);
      if (Math.max(...pa) <= Math.min(...pb) + 0.5 || Math.max(...pb) <= Math.min(...pa) + 0.5) return false;
    }
  return true;
};

/** Whether any two of the x axis's visible labels in `el` overlap on the page. */
const labelsOverlap = (el: Element): boolean => {
  const shapes = Array.from(el.querySelectorAll<SVGGraphicsElement>('.apexcharts-xaxis-label'), corners).filter(
    (c): c is Point[] => c !== null,
  );
  return shapes.some((a, i) => shapes.slice(i + 1).some((b) => intersect(a, b)));
};

/**
 * Fewer labels on an x axis of categories, or one whose spec counts its ticks, until they stand apart: how many fit
 * depends on the card's width, which only the browser knows (the counts of 関心のある分野 ran
 * together: 0 2,0004,000…; sixty deliveries' dates and titles in a row). Run after the first drawing
 * and after each redraw (a narrower window); the count only goes down, from what the chart has now.
 */
const labelsApart = (el: Element, opts: Options): ((chart: Chart) => Promise<void>) => {
  let xaxis = object(opts.xaxis);
  // a category axis starts from one label a category
  const first = Array.isArray(opts.series) ? object(opts.series[0]).data : undefined;
  if (xaxis.type === 'category' && xaxis.tickAmount === undefined && Array.isArray(first))
    xaxis = { ...xaxis, tickAmount: first.length };
  let busy = false;
  return async (chart) => {
    if (busy || typeof xaxis.tickAmount !== 'number') return;
    busy = true;
    try {
      while (typeof xaxis.tickAmount === 'number' && xaxis.tickAmount > 1 && labelsOverlap(el)) {
        // a quarter fewer each time (one fewer for a handful): a few redraws even for a long axis
        const fewer = Math.max(1, Math.floor(xaxis.tickAmount / 4));
        xaxis = { ...xaxis, tickAmount: xaxis.tickAmount - fewer };
        await chart.updateOptions({ xaxis }, false, false);
      }
    } finally {
      busy = false;
    }
  };
};

const Apex = window.ApexCharts;
if (Apex) {
  for (const el of document.querySelectorAll<HTMLElement>('[data-spark]')) {
    try {
      void new Apex(el, browserOptions(JSON.parse(el.getAttribute('data-spark') ?? '{}') as Options)).render();
    } catch (e) {
      console.error(e);
    }
  }
  const specs = readJson<Record<string, Options> | null>('chart-data', null);
  if (specs) {
    const charts: Record<string, Chart> = {};
    window.tayoriCharts = charts;
    for (const el of document.querySelectorAll<HTMLElement>('[data-chart]')) {
      const name = el.getAttribute('data-chart') ?? '';
      const spec = specs[name];
      if (!spec) continue;
      // counts of residents by attribute (a function cannot travel in the JSON spec)
      const opts = name.startsWith('attr-') ? wholeNumbers(browserOptions(spec)) : browserOptions(spec);
      const spread = labelsApart(el, opts);
      const options = object(opts.chart);
      opts.chart = { ...options, events: { ...object(options.events), updated: (c: Chart) => void spread(c) } };
      const chart = new Apex(el, opts);
      charts[name] = chart;
      void chart
        .render()
        .then(() => spread(chart))
        .then(() => el.setAttribute('data-rendered', 'true'));
    }
  }
}
