/**
 * The flow view as files for the manual the contractor writes: PNG (the SVG rendered by resvg with
 * IPAex Gothic) and PDF (that PNG on an A4 landscape page with a title, by pdfkit).
 */
import fs from 'node:fs';
import { Resvg } from '@resvg/resvg-js';
import PDFDocument from 'pdfkit';
import { AppError } from '../core/errors.ts';

const FONT = process.env.TAYORI_REPORT_FONT ?? '/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf';

const font = (): string => {
  if (!fs.existsSync(FONT))
    throw new AppError('font_missing', '日本語フォント (IPAex ゴシック) がないため画像を作れません', 503);
  return FONT;
};

/** The SVG as PNG (twice its size, for print). */
export function flowPng(svg: string): Buffer {
  const file = font();
  const r = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: 2 },
    font: {
      fontFiles: [file],
      loadSystemFonts: false,
      defaultFontFamily: 'IPAexGothic',
      sansSerifFamily: 'IPAexGothic',
    },
  });
  return Buffer.from(r.render().asPng());
}

/** The PNG on one A4 landscape page, fitted, under a title. */
export async function flowPdf(png: Buffer, title: string): Promise<Buffer> {
  const doc = new PDFDocument({
    size: 'A4',
    layout: 'landscape',
    margin: 36,
    info: { Title: title, Creator: 'Tayori' },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve, reject) => {
    doc.on('end', () => resolve());
    doc.on('error', reject);
  });
  doc.registerFont('jp', font());
  doc.font('jp').fontSize(14).text(title);
  doc.moveDown(0.5);
  const top = doc.y;
  doc.image(png, 36, top, { fit: [doc.page.width - 72, doc.page.height - top - 36], align: 'center' });
  doc.end();
  await done;
  return Buffer.concat(chunks);
}
