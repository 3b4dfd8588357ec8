import { Resvg } from '@resvg/resvg-js';
import { describe, expect, it } from 'vitest';
import {
  attributeChartOptions,
  type ChartOptions,
  deliveryRatesOptions,
  followsVsBlocksOptions,
  friendsChartOptions,
  renderChartSvg,
  sparklineOptions,
} from '../../metrics/charts.ts';
import type { DeliveryFigures, MunicipalityDay } from '../../metrics/index.ts';
import { escapeChartText, withHtmlSafeText, withSvgSafeText } from '../../metrics/chart-text.js';
import { REPORT_FONT } from '../../reports/chart-png.ts';
import {
  monthlyOptions,
  municipalityBarsOptions,
  renderCharts,
  topDeliveryRatesOptions,
} from '../../reports/documents/charts.ts';

// Stored text with markup, as a delivery title or an option label may hold it.
const MARKUP = `<img src=x onerror="window.X=1">A&B'`;
const ESCAPED = '&lt;img src=x onerror=&quot;window.X=1&quot;&gt;A&amp;B&#39;';

const days: MunicipalityDay[] = ['2026-04-01', '2026-04-02'].map((day, i) => ({
  day,
  followers: 100 + i,
  targetedReaches: 90,
  blocks: 5,
  insight: true,
  follows: 3,
  unblocks: 0,
  unfollows: 1,
}));
const delivery = (title: string): DeliveryFigures => ({
  tenantId: '24201',
  kind: 'request_id',
  key: 'k',
  title,
  sentAt: '2026-04-05T01:00:00.000Z',
  hasStats: true,
  delivered: 100,
  uniqueImpressions: 50,
  clicks: 5,
  openRate: 0.5,
  clickRate: 0.05,
  missing: {},
});

/** Every chart builder, dashboard's and the reports', with stored text in each place a text can go. */
const charts: Record<string, ChartOptions> = {
  friends: friendsChartOptions(days, { title: MARKUP }),
  followsBlocks: followsVsBlocksOptions(days),
  deliveryRates: deliveryRatesOptions([delivery(MARKUP), delivery('B')]),
  attribute: attributeChartOptions(MARKUP, [
    { value: MARKUP, residents: 3 },
    { value: 'その他', residents: 1 },
  ]),
  sparkline: sparklineOptions([1, 2], ['2026-03', '2026-04']),
  municipalityBars: municipalityBarsOptions({
    title: MARKUP,
    names: [MARKUP, '津市'],
    series: [
      { name: MARKUP, values: [1, 2] },
      { name: '友だち', values: [3, 4] },
    ],
    unit: '人',
  }),
  monthly: monthlyOptions({
    title: MARKUP,
    months: ['2026-03', '2026-04'],
    series: [
      { name: MARKUP, values: [0.1, 0.2] },
      { name: '開封率', values: [0.3, 0.4] },
    ],
    unit: '%',
  }),
  topDeliveries: topDeliveryRatesOptions([delivery(MARKUP)], () => MARKUP),
};

describe('chart text (metrics/chart-text.js, one definition for both renderers)', () => {
  it('escapes the five characters and nothing else', () => {
    expect(escapeChartText(MARKUP)).toBe(ESCAPED);
    expect(escapeChartText('津市 健康だより 2026')).toBe('津市 健康だより 2026');
    expect(escapeChartText(null)).toBe('');
    expect(escapeChartText(12)).toBe('12');
  });

  it.each(Object.keys(charts))('server: %s renders as well-formed SVG that reads as the stored text', async (name) => {
    const svg = await renderChartSvg(charts[name]!, { width: 800, height: 500 });
    // no element or attribute came from the stored text
    expect(svg).not.toMatch(/<img|onerror="/);
    // and it parses (resvg rejects malformed XML: a raw & or < would make this throw)
    const png = new Resvg(svg, { font: { fontFiles: [REPORT_FONT], loadSystemFonts: false } }).render();
    expect(png.width).toBe(800);
    // the stored text is there, escaped (builders may shorten a long title)
    if (name !== 'followsBlocks' && name !== 'sparkline') expect(svg).toContain('&lt;img src=x onerror=&quot;window');
  });

  it('server: the SVG text decodes back to exactly the stored text (an ampersand still reads as &)', async () => {
    const svg = await renderChartSvg(charts.attribute!, { width: 600, height: 300 });
    const texts = [...svg.matchAll(/<tspan[^>]*>([^<]*)<\/tspan>/g)].map((m) =>
      m[1]!.replace(
        /&(lt|gt|quot|#39|amp);/g,
        (_, e: string) => ({ lt: '<', gt: '>', quot: '"', '#39': "'", amp: '&' })[e]!,
      ),
    );
    expect(texts).toContain(MARKUP);
  });

  it('server: report PNGs (renderCharts) are drawn from stored text with markup', async () => {
    const images = await renderCharts([
      { caption: 'a', options: charts.municipalityBars!, width: 600, height: 400 },
      { caption: 'b', options: charts.topDeliveries!, width: 600, height: 400 },
    ]);
    expect(images.map((i) => i.png.subarray(1, 4).toString())).toEqual(['PNG', 'PNG']);
  });

  it('server: options without text of their own are left as the builders made them', () => {
    const o = withSvgSafeText(charts.followsBlocks!);
    expect(JSON.stringify(o)).toBe(JSON.stringify(charts.followsBlocks));
  });

  it.each(Object.keys(charts))('browser: %s gets escaping tooltip and legend formatters', (name) => {
    // as the page hands it over: JSON, functions lost
    const spec = JSON.parse(JSON.stringify(charts[name])) as ChartOptions;
    const o = withHtmlSafeText(spec) as {
      xaxis?: { type?: string };
      tooltip: {
        x?: { formatter?: (v: unknown) => string; format?: string };
        y: { title: { formatter: (v: string) => string } };
      };
      legend: { formatter: (v: string) => string };
    };
    expect(o.tooltip.y.title.formatter(MARKUP)).toBe(`${ESCAPED}: `);
    expect(o.tooltip.y.title.formatter('')).toBe('');
    expect(o.legend.formatter(MARKUP)).toBe(ESCAPED);
    if (o.xaxis?.type === 'datetime') {
      // the title of a datetime tooltip is a date apexcharts formats (yyyy/MM/dd stays)
      expect(o.tooltip.x?.formatter).toBeUndefined();
    } else {
      expect(o.tooltip.x!.formatter!(MARKUP)).toBe(ESCAPED);
    }
    // the spec itself is not changed (the page may render it again)
    expect(JSON.stringify(spec)).toBe(JSON.stringify(JSON.parse(JSON.stringify(charts[name]))));
  });

  it("browser: without a formatter of its own, the tooltip title is what ApexCharts' label formatters make of it", () => {
    const o = withHtmlSafeText({}) as unknown as {
      tooltip: { x: { formatter: (v: unknown, ctx?: unknown) => string } };
    };
    const labels = ['2025-04', '<b>&'];
    const xLabelFormatter = (i: number) => labels[i - 1];
    // a category chart: the x value is an index its label formatter turns into the category
    const vertical = { w: { globals: { isBarHorizontal: false }, formatters: { xLabelFormatter } } };
    expect(o.tooltip.x.formatter(1, vertical)).toBe('2025-04');
    expect(o.tooltip.x.formatter(2, vertical)).toBe('&lt;b&gt;&amp;');
    // horizontal bars: the label axis is the y axis
    const horizontal = {
      w: {
        globals: { isBarHorizontal: true },
        formatters: { xLabelFormatter: () => 'no', yLabelFormatters: [String] },
      },
    };
    expect(o.tooltip.x.formatter('<i>', horizontal)).toBe('&lt;i&gt;');
  });

  it('browser: a formatter a chart already has keeps working, its result escaped', () => {
    const o = withHtmlSafeText({
      tooltip: { x: { formatter: (v: string) => `«${v}»` } },
      legend: { formatter: (v: string) => `${v}!` },
    }) as unknown as {
      tooltip: { x: { formatter: (v: string) => string } };
      legend: { formatter: (v: string) => string };
    };
    expect(o.tooltip.x.formatter('<b>')).toBe('«&lt;b&gt;»');
    expect(o.legend.formatter('&')).toBe('&amp;!');
  });
});
