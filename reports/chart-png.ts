/**
 * The dashboard's charts as PNG for report documents: chart options (dashboard/charts.ts) →
 * `renderChartSvg` (apexcharts/ssr) → PNG with @resvg/resvg-js, text in IPAex Gothic.
 */
import { Resvg } from '@resvg/resvg-js';
import { renderChartSvg, type ChartOptions } from '../metrics/index.ts';

export const REPORT_FONT = process.env.TAYORI_REPORT_FONT ?? '/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf';

/** Renders chart options to a PNG (white background), Japanese text in the report font. */
export async function chartPng(options: ChartOptions, size: { width: number; height: number }): Promise<Buffer> {
  // the server names the one font it embeds (the pages list fallbacks for browsers)
  const chart = { ...(options.chart as Record<string, unknown> | undefined), fontFamily: 'IPAexGothic' };
  const svg = await renderChartSvg({ ...options, chart }, size);
  const resvg = new Resvg(svg, {
    background: 'white',
    font: {
      fontFiles: [REPORT_FONT],
      loadSystemFonts: false,
      defaultFontFamily: 'IPAexGothic',
      sansSerifFamily: 'IPAexGothic',
    },
  });
  return Buffer.from(resvg.render().asPng());
}
