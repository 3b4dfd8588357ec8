/**
 * Building blocks of the Word documents (docx): an official-style header (title, month, due date,
 * when made), headings, tables with a repeated header row, figures from PNG charts, footnotes and
 * page numbers. A4, Japanese fonts (ＭＳ 明朝 / ＭＳ ゴシック, which Word on Windows always has).
 */
import {
  AlignmentType,
  BorderStyle,
  Document,
  Footer,
  HeadingLevel,
  ImageRun,
  Packer,
  PageNumber,
  PageOrientation,
  Paragraph,
  ShadingType,
  Table,
  TableCell,
  TableRow,
  TextRun,
  VerticalAlign,
  WidthType,
  type ParagraphChild,
} from 'docx';
import type { ChartImage } from './charts.ts';
import { DASH_NOTE, definitionRows, type DocumentHeader, type Footnotes } from './common.ts';

export type Block = Paragraph | Table;
export type Align = 'left' | 'right' | 'center';

const MINCHO = 'ＭＳ 明朝';
const GOTHIC = 'ＭＳ ゴシック';
const font = (name: string) => ({ ascii: name, eastAsia: name, hAnsi: name });

/** A4 in twips, 20 mm margins. */
const A4 = { short: 11_906, long: 16_838, margin: 1_134 };
export const textWidth = (landscape: boolean) => (landscape ? A4.long : A4.short) - 2 * A4.margin;

const ALIGN = { left: AlignmentType.LEFT, right: AlignmentType.RIGHT, center: AlignmentType.CENTER } as const;

export function heading(text: string, level: 1 | 2 | 3): Paragraph {
  const h = level === 1 ? HeadingLevel.HEADING_1 : level === 2 ? HeadingLevel.HEADING_2 : HeadingLevel.HEADING_3;
  return new Paragraph({ heading: h, keepNext: true, children: [new TextRun({ text })] });
}

export function para(
  text: string | ParagraphChild[],
  opts: { bold?: boolean; size?: number; align?: Align; indent?: number; after?: number; color?: string } = {},
): Paragraph {
  const children =
    typeof text === 'string' ? [new TextRun({ text, bold: opts.bold, size: opts.size, color: opts.color })] : text;
  return new Paragraph({
    alignment: opts.align ? ALIGN[opts.align] : undefined,
    indent: opts.indent ? { left: opts.indent } : undefined,
    spacing: { after: opts.after ?? 80 },
    children,
  });
}

/** "・item" lines (or "(1) item" when numbered); an empty list gives `empty`. */
export function list(items: readonly string[], opts: { numbered?: boolean; empty?: string } = {}): Paragraph[] {
  if (!items.length) return [para(opts.empty ?? 'なし', { indent: 240 })];
  return items.map(
    (t, i) =>
      new Paragraph({
        indent: { left: 480, hanging: 360 },
        spacing: { after: 40 },
        children: [new TextRun({ text: `${opts.numbered ? `(${i + 1})` : '・'} ${t}` })],
      }),
  );
}

/** Multi-line text as paragraphs (blank lines kept as paragraph breaks). */
export function textBlock(text: string, empty = '記載なし'): Paragraph[] {
  const lines = text.split(/\r?\n/).map((l) => l.trimEnd());
  if (!lines.some((l) => l.trim())) return [para(empty, { indent: 240 })];
  return lines.map((l) => para(l, { indent: 240, after: 40 }));
}

const border = { style: BorderStyle.SINGLE, size: 4, color: '808080' };
const borders = { top: border, bottom: border, left: border, right: border };

export interface TableSpec {
  header: readonly string[];
  rows: ReadonlyArray<readonly string[]>;
  /** Relative column widths. */
  weights: readonly number[];
  align?: readonly Align[];
  /** Rows (0-based, of `rows`) to set in bold with a light shade, e.g. the prefecture-wide total. */
  emphasize?: ReadonlySet<number>;
  /** Font size in half-points (default 18 = 9 pt). */
  size?: number;
  landscape?: boolean;
}

/** A bordered table whose header row repeats on every page. */
export function table(spec: TableSpec): Table {
  const total = textWidth(!!spec.landscape);
  const sum = spec.weights.reduce((a, b) => a + b, 0);
  const widths = spec.weights.map((w) => Math.floor((w / sum) * total));
  const size = spec.size ?? 18;
  const cell = (text: string, i: number, head: boolean, strong: boolean) =>
    new TableCell({
      width: { size: widths[i]!, type: WidthType.DXA },
      borders,
      verticalAlign: VerticalAlign.CENTER,
      margins: { top: 30, bottom: 30, left: 60, right: 60 },
      shading: head
        ? { type: ShadingType.CLEAR, color: 'auto', fill: 'D9E2F3' }
        : strong
          ? { type: ShadingType.CLEAR, color: 'auto', fill: 'F2F2F2' }
          : undefined,
      children: String(text)
        .split('\n')
        .map(
          (line) =>
            new Paragraph({
              alignment: head ? AlignmentType.CENTER : ALIGN[spec.align?.[i] ?? 'left'],
              children: [
                new TextRun({ text: line, bold: head || strong, size, font: head ? font(GOTHIC) : undefined }),
              ],
            }),
        ),
    });
  return new Table({
    width: { size: total, type: WidthType.DXA },
    columnWidths: widths,
    rows: [
      new TableRow({
        tableHeader: true,
        cantSplit: true,
        children: spec.header.map((h, i) => cell(h, i, true, false)),
      }),
      ...spec.rows.map(
        (r, ri) =>
          new TableRow({ cantSplit: true, children: r.map((c, i) => cell(c, i, false, !!spec.emphasize?.has(ri))) }),
      ),
    ],
  });
}

/** A chart centred at `widthMm` wide, with its caption under it. */
export function figure(img: ChartImage, no: number, widthMm: number): Paragraph[] {
  const w = Math.round((widthMm / 25.4) * 96);
  const h = Math.round((w * img.height) / img.width);
  return [
    new Paragraph({
      alignment: AlignmentType.CENTER,
      keepNext: true,
      children: [
        new ImageRun({
          type: 'png',
          data: img.png,
          transformation: { width: w, height: h },
          altText: { name: img.caption, description: img.caption, title: img.caption },
        }),
      ],
    }),
    para(`図${no} ${img.caption}`, { align: 'center', size: 18, after: 200 }),
  ];
}

/** Title, month and the right-aligned lines (due date, when made, for whom). */
export function header(h: DocumentHeader): Paragraph[] {
  return [
    new Paragraph({
      alignment: AlignmentType.CENTER,
      spacing: { after: 60 },
      children: [new TextRun({ text: h.title, bold: true, size: 36, font: font(GOTHIC) })],
    }),
    new Paragraph({
      alignment: AlignmentType.CENTER,
      spacing: { after: 200 },
      children: [new TextRun({ text: h.subtitle, size: 26, font: font(GOTHIC) })],
    }),
    para(h.due, { align: 'right', bold: true, after: 20 }),
    para(h.generated, { align: 'right', after: 20 }),
    para(h.parties, { align: 'right', after: 240 }),
  ];
}

/** The notes for "—" and partial totals, when there are any. */
export function footnotes(notes: Footnotes, title = '注記'): Block[] {
  if (!notes.size) return [];
  return [
    heading(title, 1),
    para(DASH_NOTE, { size: 18 }),
    ...notes.lines().map((l) => para(l, { size: 18, indent: 240, after: 40 })),
  ];
}

/** The definitions of the figures (dashboard/figures.ts). */
export function definitions(landscape: boolean, names?: Parameters<typeof definitionRows>[0]): Block[] {
  return [table({ header: ['項目', '定義'], rows: definitionRows(names), weights: [1, 4], landscape })];
}

/** Packs a document: one A4 section, page numbers in the footer. */
export async function docxBuffer(o: { title: string; children: Block[]; landscape?: boolean }): Promise<Buffer> {
  const doc = new Document({
    creator: 'Tayori',
    title: o.title,
    styles: {
      default: {
        document: { run: { font: font(MINCHO), size: 21 }, paragraph: { spacing: { line: 300 } } },
        heading1: {
          run: { font: font(GOTHIC), size: 28, bold: true },
          paragraph: { spacing: { before: 360, after: 120 } },
        },
        heading2: {
          run: { font: font(GOTHIC), size: 24, bold: true },
          paragraph: { spacing: { before: 240, after: 100 } },
        },
        heading3: {
          run: { font: font(GOTHIC), size: 22, bold: true },
          paragraph: { spacing: { before: 200, after: 80 } },
        },
      },
    },
    sections: [
      {
        properties: {
          page: {
            size: {
              width: A4.short,
              height: A4.long,
              orientation: o.landscape ? PageOrientation.LANDSCAPE : PageOrientation.PORTRAIT,
            },
            margin: { top: A4.margin, bottom: A4.margin, left: A4.margin, right: A4.margin },
          },
        },
        footers: {
          default: new Footer({
            children: [
              new Paragraph({
                alignment: AlignmentType.CENTER,
                children: [
                  new TextRun({ children: ['- ', PageNumber.CURRENT, ' / ', PageNumber.TOTAL_PAGES, ' -'], size: 18 }),
                ],
              }),
            ],
          }),
        },
        children: o.children,
      },
    ],
  });
  return Packer.toBuffer(doc);
}

/** A place the contractor completes: 【記入してください】 in red, what to write, and room to write it. */
export function fillIn(marker: string, prompt: string): Paragraph[] {
  return [
    new Paragraph({
      indent: { left: 240 },
      spacing: { after: 60 },
      border: { top: border, bottom: border, left: border, right: border },
      shading: { type: ShadingType.CLEAR, color: 'auto', fill: 'FFF2CC' },
      children: [new TextRun({ text: marker, bold: true, color: 'C00000' }), new TextRun({ text: ` ${prompt}` })],
    }),
    para('', { after: 240 }),
  ];
}
