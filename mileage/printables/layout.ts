/**
 * One layout, several outputs: a printable is a list of shapes in points (rectangles, lines of
 * text on a baseline, QR codes, PNG artwork), drawn as a PDF by pdfkit and as an SVG (→ PNG by
 * @resvg/resvg-js) with the same font, so the flyer on paper and on a web page are the same design.
 * Text is measured and wrapped here once, with the font's own metrics (pdfkit), for both outputs.
 */
import { Resvg } from '@resvg/resvg-js';
import PDFDocument from 'pdfkit';
import { escapeHtml } from '../../core/html.ts';
import { PRINT_FONT, PRINT_FONT_FAMILY } from './font.ts';
import { QR_QUIET_ZONE, qrMatrix, qrRuns } from './qr.ts';

export type Shape =
  | {
      kind: 'rect';
      x: number;
      y: number;
      w: number;
      h: number;
      fill?: string;
      stroke?: string;
      strokeWidth?: number;
      radius?: number;
    }
  /** One line of text; `y` is its baseline. */
  | {
      kind: 'text';
      x: number;
      y: number;
      size: number;
      text: string;
      colour: string;
      anchor?: 'start' | 'middle' | 'end';
    }
  /** A QR code drawn black on a white square of side `size` (the quiet zone included). */
  | { kind: 'qr'; x: number; y: number; size: number; url: string }
  /** A PNG or JPEG fitted (aspect kept, centred) into the box. */
  | { kind: 'image'; x: number; y: number; w: number; h: number; image: Buffer; type: ImageType };

export type ImageType = 'image/png' | 'image/jpeg';

export interface Layout {
  /** Page or image size in points (A4 portrait: 595.28 × 841.89). */
  width: number;
  height: number;
  /** The page's colour (none: transparent, for an image with rounded corners). */
  background?: string;
  /** The document's title (PDF metadata, SVG <title>). */
  title: string;
  shapes: Shape[];
}

export const A4 = { width: 595.28, height: 841.89 } as const;

// ---------------------------------------------------------------- measuring and wrapping

let measurer: PDFKit.PDFDocument | undefined;
const FONT = 'print';

/** The width of a line of text in points at `size`, by the font's advance widths. */
export function textWidth(text: string, size: number): number {
  if (!measurer) {
    measurer = new PDFDocument({ autoFirstPage: false });
    measurer.registerFont(FONT, PRINT_FONT);
  }
  return measurer.font(FONT).fontSize(size).widthOfString(text);
}

/** The largest size from `max` down to `min` at which the text fits one line of `width` (else `min`). */
export function fitSize(text: string, max: number, min: number, width: number): number {
  const size = Math.floor((max * width) / Math.max(1, textWidth(text, max)));
  return Math.max(min, Math.min(max, size));
}

// characters a line may not start with (Japanese line-breaking rules, the common ones)
const NO_LINE_START = new Set([
  ...'、。，．・：；？！ー」』）】〕〉》”’ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮ)]},.:;!?%',
]);

/**
 * Breaks text into lines no wider than `width`: at a newline, else at a space or between any two
 * Japanese characters, keeping closing punctuation and small kana off a line's start. At most
 * `maxLines` lines; a cut last line ends in "…".
 */
export function wrap(text: string, size: number, width: number, maxLines = Number.POSITIVE_INFINITY): string[] {
  const lines: string[] = [];
  for (const para of text.split('\n')) {
    const chars = [...para];
    let line = '';
    for (let i = 0; i < chars.length; i++) {
      const next = line + chars[i];
      if (line === '' || textWidth(next, size) <= width) {
        line = next;
        continue;
      }
      // break before chars[i]: pull a forbidden line-start back, or an unfinished Latin word forward
      let cut = line.length;
      if (NO_LINE_START.has(chars[i]!)) {
        line = next;
        continue;
      }
      const space = line.lastIndexOf(' ');
      if (/[A-Za-z0-9@._-]/.test(chars[i]!) && space > 0 && /^[\x21-\x7e]+$/.test(line.slice(space + 1)))
        cut = space + 1;
      lines.push(line.slice(0, cut).trimEnd());
      line = line.slice(cut) + chars[i];
    }
    lines.push(line);
  }
  if (lines.length <= maxLines) return lines;
  const kept = lines.slice(0, maxLines);
  let last = kept[maxLines - 1]!;
  while (last && textWidth(`${last}…`, size) > width) last = [...last].slice(0, -1).join('');
  kept[maxLines - 1] = `${last}…`;
  return kept;
}

/** Text shapes for wrapped lines from the baseline `y`, `lineHeight` times the size apart; returns the next free y. */
export function textBlock(
  shapes: Shape[],
  o: {
    text: string;
    x: number;
    y: number;
    width: number;
    size: number;
    colour: string;
    anchor?: 'start' | 'middle' | 'end';
    lineHeight?: number;
    maxLines?: number;
  },
): number {
  const step = o.size * (o.lineHeight ?? 1.4);
  const ax = o.anchor === 'middle' ? o.x + o.width / 2 : o.anchor === 'end' ? o.x + o.width : o.x;
  let y = o.y;
  for (const line of wrap(o.text, o.size, o.width, o.maxLines)) {
    shapes.push({ kind: 'text', x: ax, y, size: o.size, text: line, colour: o.colour, anchor: o.anchor });
    y += step;
  }
  return y - step;
}

// ---------------------------------------------------------------- SVG and PNG

const n = (v: number) => Number(v.toFixed(2));

function svgShape(s: Shape): string {
  switch (s.kind) {
    case 'rect': {
      const r = s.radius ? ` rx="${n(s.radius)}"` : '';
      const fill = ` fill="${escapeHtml(s.fill ?? 'none')}"`;
      const stroke = s.stroke ? ` stroke="${escapeHtml(s.stroke)}" stroke-width="${n(s.strokeWidth ?? 1)}"` : '';
      return `<rect x="${n(s.x)}" y="${n(s.y)}" width="${n(s.w)}" height="${n(s.h)}"${r}${fill}${stroke}/>`;
    }
    case 'text': {
      const anchor = s.anchor && s.anchor !== 'start' ? ` text-anchor="${s.anchor}"` : '';
      return `<text x="${n(s.x)}" y="${n(s.y)}" font-size="${n(s.size)}" fill="${escapeHtml(s.colour)}"${anchor} xml:space="preserve">${escapeHtml(s.text)}</text>`;
    }
    case 'qr': {
      const m = qrMatrix(s.url);
      const unit = s.size / (m.size + 2 * QR_QUIET_ZONE);
      const path = qrRuns(m)
        .map(([r, c, len]) => `M${c + QR_QUIET_ZONE} ${r + QR_QUIET_ZONE}h${len}v1h-${len}z`)
        .join('');
      return (
        `<rect x="${n(s.x)}" y="${n(s.y)}" width="${n(s.size)}" height="${n(s.size)}" fill="#ffffff"/>` +
        `<path transform="translate(${n(s.x)} ${n(s.y)}) scale(${unit})" d="${path}" fill="#000000" shape-rendering="crispEdges"/>`
      );
    }
    case 'image':
      return `<image x="${n(s.x)}" y="${n(s.y)}" width="${n(s.w)}" height="${n(s.h)}" preserveAspectRatio="xMidYMid meet" href="data:${s.type};base64,${s.image.toString('base64')}"/>`;
  }
}

/** The layout as a standalone SVG document (text escaped; the font named, not embedded). */
export function layoutSvg(l: Layout): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${n(l.width)}" height="${n(l.height)}" viewBox="0 0 ${n(l.width)} ${n(l.height)}" font-family="${PRINT_FONT_FAMILY}, 'Hiragino Sans', 'Noto Sans JP', sans-serif" role="img">`,
    `<title>${escapeHtml(l.title)}</title>`,
    l.background ? `<rect width="100%" height="100%" fill="${escapeHtml(l.background)}"/>` : '',
    ...l.shapes.map(svgShape),
    '</svg>',
  ].join('\n');
}

/** The layout as a PNG `widthPx` pixels wide, text in the print font. */
export function layoutPng(l: Layout, widthPx: number): Buffer {
  const resvg = new Resvg(layoutSvg(l), {
    fitTo: { mode: 'width', value: widthPx },
    ...(l.background ? { background: l.background } : {}),
    font: {
      fontFiles: [PRINT_FONT],
      loadSystemFonts: false,
      defaultFontFamily: PRINT_FONT_FAMILY,
      sansSerifFamily: PRINT_FONT_FAMILY,
    },
  });
  return Buffer.from(resvg.render().asPng());
}

// ---------------------------------------------------------------- PDF

/** The layout as a one-page PDF of its size, the font embedded (subset). */
export function layoutPdf(l: Layout): Promise<Buffer> {
  const doc = new PDFDocument({
    size: [l.width, l.height],
    margin: 0,
    info: { Title: l.title, Creator: 'Tayori', Producer: 'Tayori' },
  });
  doc.registerFont(FONT, PRINT_FONT);
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  if (l.background) doc.rect(0, 0, l.width, l.height).fill(l.background);
  for (const s of l.shapes) {
    switch (s.kind) {
      case 'rect': {
        const path = s.radius ? doc.roundedRect(s.x, s.y, s.w, s.h, s.radius) : doc.rect(s.x, s.y, s.w, s.h);
        if (s.fill && s.stroke) path.lineWidth(s.strokeWidth ?? 1).fillAndStroke(s.fill, s.stroke);
        else if (s.fill) path.fill(s.fill);
        else if (s.stroke) path.lineWidth(s.strokeWidth ?? 1).stroke(s.stroke);
        break;
      }
      case 'text': {
        doc.font(FONT).fontSize(s.size).fillColor(s.colour);
        const w = doc.widthOfString(s.text);
        const x = s.anchor === 'middle' ? s.x - w / 2 : s.anchor === 'end' ? s.x - w : s.x;
        doc.text(s.text, x, s.y, { lineBreak: false, baseline: 'alphabetic' });
        break;
      }
      case 'qr': {
        const m = qrMatrix(s.url);
        const unit = s.size / (m.size + 2 * QR_QUIET_ZONE);
        doc.rect(s.x, s.y, s.size, s.size).fill('#ffffff');
        for (const [r, c, len] of qrRuns(m)) {
          doc.rect(s.x + (c + QR_QUIET_ZONE) * unit, s.y + (r + QR_QUIET_ZONE) * unit, len * unit, unit);
        }
        doc.fill('#000000');
        break;
      }
      case 'image':
        doc.image(s.image, s.x, s.y, { fit: [s.w, s.h], align: 'center', valign: 'center' });
        break;
    }
  }
  doc.end();
  return done;
}
