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

/** Whether any two of the visible labels under `selector` in `el` overlap (their boxes on the page). */
const labelsOverlap = (el: Element, selector: string): boolean => {
  const boxes = Array.from(el.querySelectorAll(selector), (n) => n.getBoundingClientRect()).filter(
    (r) => r.width > 0 && r.height > 0,
  );
  return boxes.some((a, i) =>
    boxes.slice(i + 1).some((b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom),
  );
};

/**
 * Fewer ticks on an axis whose spec counts them (tickAmount) until its labels stand apart: how many
 * fit depends on the card's width, which only the browser knows (the counts of 関心のある分野 ran
 * together: 0 2,0004,000…). Run after the first drawing and after each redraw (a narrower window);
 * the count only goes down, from what the chart has now.
 */
const labelsApart = (el: Element, opts: Options): ((chart: Chart) => Promise<void>) => {
  let xaxis = object(opts.xaxis);
  let busy = false;
  return async (chart) => {
    if (busy || typeof xaxis.tickAmount !== 'number') return;
    busy = true;
    try {
      while (
        typeof xaxis.tickAmount === 'number' &&
        xaxis.tickAmount > 1 &&
        labelsOverlap(el, '.apexcharts-xaxis-label')
      ) {
        xaxis = { ...xaxis, tickAmount: xaxis.tickAmount - 1 };
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
