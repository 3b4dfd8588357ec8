/**
 * Survey charts as PNG for the xlsx summary sheet: chart options → `renderChartSvg` (metrics,
 * apexcharts/ssr, text escaped) → PNG with @resvg/resvg-js, Japanese text in IPAex Gothic.
 */
import fs from 'node:fs';
import { Resvg } from '@resvg/resvg-js';
import { type ChartOptions, renderChartSvg } from '../metrics/index.ts';

const FONT = process.env.TAYORI_REPORT_FONT ?? '/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf';

/** The PNG, or undefined where the font is not installed (the sheet then has its tables only). */
export async function surveyChartPng(
  options: ChartOptions,
  size: { width: number; height: number },
): Promise<Buffer | undefined> {
  if (!fs.existsSync(FONT)) return undefined;
  const chart = { ...(options.chart as Record<string, unknown> | undefined), fontFamily: 'IPAexGothic' };
  const svg = await renderChartSvg({ ...options, chart }, size);
  const png = new Resvg(svg, {
    background: 'white',
    font: {
      fontFiles: [FONT],
      loadSystemFonts: false,
      defaultFontFamily: 'IPAexGothic',
      sansSerifFamily: 'IPAexGothic',
    },
  });
  return Buffer.from(png.render().asPng());
}
