/**
 * The とこわか健康応援カード's look: one design for every municipality (title, note, colour,
 * optional artwork, managed by prefecture staff) filled in with one card's data. An SVG for the
 * staff's preview and pages, a PNG for the card message. Text on the card's colour is dark or white,
 * whichever reaches WCAG AA against it; the card's data sits on a white panel.
 */
import { formatWareki } from '../../core/time.ts';
import { textColourOn } from './contrast.ts';
import { fitSize, type ImageType, type Layout, layoutPng, layoutSvg, type Shape, textBlock } from './layout.ts';

export interface CardDesignLook {
  title: string;
  note: string;
  /** '#rrggbb' */
  colour: string;
  /** The artwork, if any. */
  image?: { bytes: Buffer; type: ImageType };
}

export interface CardFace {
  municipality: string;
  cardNo: string;
  /** 'YYYY-MM-DD' (Tokyo) */
  issuedOn: string;
  /** the last valid day, 'YYYY-MM-DD' (Tokyo) */
  validUntil: string;
  /** Drawn as 「有効期限切れ」 across the card. */
  expired?: boolean;
}

/** The card's size in SVG units: a payment card's 85.6 × 54 mm proportions. */
export const CARD_SIZE = { width: 856, height: 540 } as const;

/** Sample data for a design's preview. */
export const SAMPLE_FACE: CardFace = {
  municipality: '○○市',
  cardNo: '24000-000001-8',
  issuedOn: '2026-04-01',
  validUntil: '2027-03-31',
};

const INK = '#1a1a1a';
const MUTED = '#4d4d4d';

export function cardLayout(design: CardDesignLook, face: CardFace): Layout {
  const { width, height } = CARD_SIZE;
  const on = textColourOn(design.colour);
  const shapes: Shape[] = [];
  const m = 44;
  // the artwork (landscape, as staff upload it) in a white frame at the top right
  const art = design.image ? { w: 256, h: 160 } : undefined;
  const textW = width - 2 * m - (art ? art.w + 24 : 0);
  shapes.push({ kind: 'rect', x: 0, y: 0, w: width, h: height, fill: design.colour, radius: 32 });
  if (design.image && art) {
    shapes.push({ kind: 'rect', x: width - m - art.w, y: 36, w: art.w, h: art.h, fill: '#ffffff', radius: 16 });
    shapes.push({
      kind: 'image',
      x: width - m - art.w + 8,
      y: 44,
      w: art.w - 16,
      h: art.h - 16,
      image: design.image.bytes,
      type: design.image.type,
    });
  }
  let y = textBlock(shapes, {
    text: design.title,
    x: m,
    y: 86,
    width: textW,
    // one line when it fits at 30 or more, else two lines
    size: fitSize(design.title, 40, 30, textW),
    colour: on,
    maxLines: 2,
    lineHeight: 1.2,
  });
  y = textBlock(shapes, { text: face.municipality, x: m, y: y + 52, width: textW, size: 32, colour: on, maxLines: 1 });
  if (design.note)
    textBlock(shapes, { text: design.note, x: m, y: y + 38, width: textW, size: 22, colour: on, maxLines: 2 });
  // the card's data on white
  const py = 282;
  shapes.push({ kind: 'rect', x: 28, y: py, w: width - 56, h: height - py - 28, fill: '#ffffff', radius: 20 });
  shapes.push({ kind: 'text', x: m + 8, y: py + 40, size: 22, text: 'カード番号', colour: MUTED });
  shapes.push({ kind: 'text', x: m + 8, y: py + 92, size: 46, text: face.cardNo, colour: INK });
  shapes.push({
    kind: 'text',
    x: m + 8,
    y: py + 150,
    size: 24,
    text: `発行日 ${formatWareki(face.issuedOn)}`,
    colour: INK,
  });
  shapes.push({
    kind: 'text',
    x: m + 8,
    y: py + 194,
    size: 24,
    text: `有効期限 ${formatWareki(face.validUntil)}まで`,
    colour: INK,
  });
  if (face.expired) {
    const w = 300;
    shapes.push({
      kind: 'rect',
      x: width - 28 - w - 20,
      y: py + 118,
      w,
      h: 96,
      fill: '#ffffff',
      stroke: '#b00020',
      strokeWidth: 5,
      radius: 12,
    });
    shapes.push({
      kind: 'text',
      x: width - 48 - w / 2,
      y: py + 180,
      size: 40,
      text: '有効期限切れ',
      colour: '#b00020',
      anchor: 'middle',
    });
  }
  const title = `${design.title} ${face.municipality} ${face.cardNo}${face.expired ? ' (有効期限切れ)' : ''}`;
  return { width, height, title, shapes };
}

/** The card as SVG (text escaped). */
export function cardSvg(design: CardDesignLook, face: CardFace): string {
  return layoutSvg(cardLayout(design, face));
}

/** The card as a PNG `widthPx` wide (1040 for the card message). */
export function cardPng(design: CardDesignLook, face: CardFace, widthPx = 1040): Buffer {
  return layoutPng(cardLayout(design, face), widthPx);
}
