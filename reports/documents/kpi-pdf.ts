/**
 * 月次KPI報告書 (PDF): the same content as the Word version, laid out with pdfkit on A4 landscape,
 * with the report font (IPAex Gothic) embedded so the Japanese text reads back.
 */
import PDFDocument from 'pdfkit';
import { REPORT_FONT } from '../chart-png.ts';
import type { ChartImage } from './charts.ts';
import { DASH_NOTE, Footnotes, definitionRows, type DocumentHeader } from './common.ts';
import {
  DELIVERY_ALIGN,
  DELIVERY_HEADER,
  DELIVERY_WEIGHTS,
  deliveryRows,
  kpiSummary,
  kpiTextTable,
} from './kpi-table.ts';
import {
  ACTIVITY_ALIGN,
  ACTIVITY_HEADER,
  ACTIVITY_WEIGHTS,
  activityTextRows,
  mileageLead,
  mileageSummary,
  mileageTextTable,
} from './kpi-mileage.ts';
import type { DeliveryFigures, MonthlySources } from './sources.ts';
import { notableLines } from './final-findings.ts';
import { splitCharts } from './mileage-charts.ts';
import {
  FAQ_HEADING,
  faqChart,
  faqLead,
  faqSummary,
  faqTextTable,
  TOP_ALIGN,
  TOP_HEADER,
  TOP_WEIGHTS,
  topTextRows,
} from './kpi-faq.ts';

type Align = 'left' | 'right' | 'center';

const MARGIN = 40;
const JP = 'jp';

/** A page flow: headings, paragraphs, tables that break across pages with their header repeated. */
class Flow {
  readonly doc: PDFKit.PDFDocument;
  readonly width: number;

  constructor(doc: PDFKit.PDFDocument) {
    this.doc = doc;
    this.width = doc.page.width - 2 * MARGIN;
  }

  get bottom(): number {
    return this.doc.page.height - MARGIN - 20;
  }

  ensure(height: number): void {
    if (this.doc.y + height > this.bottom) this.doc.addPage();
  }

  heading(text: string, size = 14): void {
    this.ensure(size * 3);
    this.doc
      .moveDown(0.6)
      .font(JP)
      .fontSize(size)
      .fillColor('#1F3864')
      .text(text, MARGIN, this.doc.y, { width: this.width });
    const y = this.doc.y + 2;
    this.doc
      .moveTo(MARGIN, y)
      .lineTo(MARGIN + this.width, y)
      .lineWidth(0.7)
      .strokeColor('#1F3864')
      .stroke();
    this.doc.fillColor('black').moveDown(0.4);
  }

  text(text: string, opts: { size?: number; align?: Align; indent?: number } = {}): void {
    const size = opts.size ?? 10;
    this.doc.font(JP).fontSize(size);
    const h = this.doc.heightOfString(text, { width: this.width - (opts.indent ?? 0) });
    this.ensure(h);
    this.doc.text(text, MARGIN + (opts.indent ?? 0), this.doc.y, {
      width: this.width - (opts.indent ?? 0),
      align: opts.align ?? 'left',
      lineGap: 2,
    });
    this.doc.moveDown(0.2);
  }

  table(o: {
    header: readonly string[];
    rows: ReadonlyArray<readonly string[]>;
    weights: readonly number[];
    align?: readonly Align[];
    emphasize?: ReadonlySet<number>;
    size?: number;
  }): void {
    const size = o.size ?? 8;
    const sum = o.weights.reduce((a, b) => a + b, 0);
    const widths = o.weights.map((w) => (w / sum) * this.width);
    const pad = 3;
    // line by line: pdfkit measures a line ending in "\n" wider than it is and wraps its last character
    const lineHeights = (text: string, width: number) =>
      text.split('\n').map((l) => this.doc.heightOfString(l || ' ', { width }));
    const heightOf = (cells: readonly string[]) => {
      this.doc.font(JP).fontSize(size);
      return (
        Math.max(...cells.map((c, i) => lineHeights(c, widths[i]! - 2 * pad).reduce((a, b) => a + b, 0))) + 2 * pad
      );
    };
    const draw = (cells: readonly string[], head: boolean, strong: boolean) => {
      const h = heightOf(cells);
      let x = MARGIN;
      const y = this.doc.y;
      cells.forEach((c, i) => {
        const w = widths[i]!;
        if (head || strong) this.doc.rect(x, y, w, h).fill(head ? '#D9E2F3' : '#F2F2F2');
        this.doc.rect(x, y, w, h).lineWidth(0.5).strokeColor('#808080').stroke();
        this.doc.fillColor('black').font(JP).fontSize(size);
        let ly = y + pad;
        const lines = c.split('\n');
        lineHeights(c, w - 2 * pad).forEach((lh, li) => {
          this.doc.text(lines[li]!, x + pad, ly, {
            width: w - 2 * pad,
            align: head ? 'center' : (o.align?.[i] ?? 'left'),
          });
          ly += lh;
        });
        x += w;
      });
      this.doc.x = MARGIN;
      this.doc.y = y + h;
    };
    const headH = heightOf(o.header);
    this.ensure(headH * 2);
    draw(o.header, true, false);
    o.rows.forEach((r, ri) => {
      if (this.doc.y + heightOf(r) > this.bottom) {
        this.doc.addPage();
        draw(o.header, true, false);
      }
      draw(r, false, !!o.emphasize?.has(ri));
    });
    this.doc.moveDown(0.5);
  }

  figure(img: ChartImage, no: number): void {
    const maxH = this.doc.page.height - 2 * MARGIN - 70;
    let w = Math.min(this.width, 680);
    let h = (w * img.height) / img.width;
    if (h > maxH) {
      h = maxH;
      w = (h * img.width) / img.height;
    }
    this.ensure(h + 24);
    const y = this.doc.y;
    this.doc.image(img.png, MARGIN + (this.width - w) / 2, y, { width: w, height: h });
    this.doc.y = y + h + 4;
    this.text(`図${no} ${img.caption}`, { size: 9, align: 'center' });
  }
}

export async function kpiPdf(
  s: MonthlySources,
  h: DocumentHeader,
  charts: readonly ChartImage[],
  top: readonly DeliveryFigures[],
  now: Date,
): Promise<Buffer> {
  const doc = new PDFDocument({
    size: 'A4',
    layout: 'landscape',
    margin: MARGIN,
    bufferPages: true,
    info: { Title: `${h.title} ${h.subtitle}`, Author: '受託者', Creator: 'Tayori', CreationDate: now },
    lang: 'ja-JP',
    displayTitle: true,
  } as PDFKit.PDFDocumentOptions);
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise<void>((resolve, reject) => {
    doc.on('end', resolve);
    doc.on('error', reject);
  });
  doc.registerFont(JP, REPORT_FONT);
  const f = new Flow(doc);
  const notes = new Footnotes();

  doc.font(JP).fontSize(20).text(h.title, { align: 'center' });
  doc.fontSize(13).text(h.subtitle, { align: 'center' }).moveDown(0.5);
  doc
    .fontSize(10)
    .text(h.due, { align: 'right' })
    .text(h.generated, { align: 'right' })
    .text(h.parties, { align: 'right' });

  f.heading('1. 概要');
  for (const t of [...kpiSummary(s.overview, notes), ...notableLines(s.findings)]) f.text(t);

  f.heading('2. 市町別の実績');
  f.text(
    `${s.overview.monthLabel}の市町別の実績です。友だち数・ブロック数は月末時点 (その月で最後に LINE の統計を取得できた日) の値です。`,
    { size: 9 },
  );
  f.table(kpiTextTable(s.overview, notes));

  const m = s.mileage;
  f.heading(`健康マイレージ (${m.fiscalYearLabel})`, 12);
  for (const t of mileageSummary(m, notes)) f.text(t);
  f.text(mileageLead(m), { size: 9 });
  f.table(mileageTextTable(m, notes));
  f.text(`県全体の活動別ポイント (${m.monthLabel}・年度累計)`, { size: 10 });
  if (m.totals.activities.length)
    f.table({
      header: ACTIVITY_HEADER,
      rows: activityTextRows(m.totals.activities),
      weights: ACTIVITY_WEIGHTS,
      align: ACTIVITY_ALIGN,
    });
  else f.text('ポイントの記録はありません。', { size: 9 });
  const { mileage, other } = splitCharts(charts);
  mileage.forEach((c, i) => f.figure(c, i + 1));

  const faq = faqChart(charts);
  if (s.faq) {
    f.heading(FAQ_HEADING, 12);
    for (const t of faqSummary(s.faq, notes)) f.text(t);
    f.text(faqLead(s.faq), { size: 9 });
    f.table(faqTextTable(s.faq, s.tenants, notes));
    f.text(`よく見られた項目 (${s.faq.monthLabel}・全市町)`, { size: 10 });
    if (s.faq.top.length)
      f.table({ header: TOP_HEADER, rows: topTextRows(s.faq, notes), weights: TOP_WEIGHTS, align: TOP_ALIGN });
    else f.text('この月に表示された項目はありません。', { size: 9 });
    if (faq) f.figure(faq, mileage.length + 1);
  }

  doc.addPage();
  f.heading('3. グラフ');
  other.forEach((c, i) => f.figure(c, mileage.length + (faq ? 1 : 0) + i + 1));

  f.heading('4. 開封率の高い配信');
  if (top.length) {
    f.table({
      header: DELIVERY_HEADER,
      rows: deliveryRows(top, s.tenants.name, notes),
      weights: DELIVERY_WEIGHTS,
      align: DELIVERY_ALIGN,
    });
  } else {
    f.text('この月に開封率の分かる配信はありません。');
  }
  f.text(
    `この月の配信は全部で ${s.deliveries.length.toLocaleString('ja-JP')} 件です (一覧は Excel 版の「配信」シートにあります)。`,
    { size: 9 },
  );

  f.heading('5. 用語の定義');
  f.table({ header: ['項目', '定義'], rows: definitionRows(), weights: [1, 5], size: 9 });

  if (notes.size) {
    f.heading('6. 注記');
    f.text(DASH_NOTE, { size: 9 });
    for (const l of notes.lines()) f.text(l, { size: 9, indent: 10 });
  }

  const range = doc.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i++) {
    doc.switchToPage(i);
    doc.page.margins.bottom = 0; // the footer sits in the margin; without this pdfkit would start a new page
    doc
      .font(JP)
      .fontSize(8)
      .fillColor('#555')
      .text(`${h.title} ${h.subtitle}　- ${i + 1} / ${range.count} -`, MARGIN, doc.page.height - MARGIN, {
        width: f.width,
        align: 'center',
        lineBreak: false,
      });
  }
  doc.end();
  await ended;
  return Buffer.concat(chunks);
}
