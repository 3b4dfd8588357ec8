/**
 * The A4 poster for one event or venue session: the municipality and programme, the session's
 * title, date and place, the activity and its points, a large QR code residents scan with LINE's
 * camera, and the window in which the code is accepted.
 */
import { formatWareki, tokyoDateTime } from '../../core/time.ts';
import { A4, type Layout, layoutPdf, type Shape, textBlock } from './layout.ts';

export interface SessionPosterInput {
  municipality: string;
  programme: string;
  session: {
    title: string;
    /** 'YYYY-MM-DD' */
    heldOn: string;
    place: string;
    /** epoch ms */
    validFrom: number;
    validUntil: number;
  };
  activity: { name: string; points: number };
  /** What the QR code opens (the scan page's LIFF URL with the signed session code). */
  url: string;
}

const INK = '#1a1a1a';
const BAND = '#0b5d3b'; // dark green: white text on it is 7.9:1
const MUTED = '#4d4d4d';

/** 9:05 from '09:05'. */
const clock = (t: string) => t.replace(/^0/, '');

/** A Tokyo instant as 令和8年5月10日(日) 9:00. */
export function warekiDateTime(ms: number): string {
  const { date, time } = tokyoDateTime(ms);
  return `${formatWareki(date, { weekday: true })} ${clock(time)}`;
}

/** The window a code is accepted in, in Japanese: one day's hours, or from one day to another. */
export function validityText(from: number, until: number): string {
  const a = tokyoDateTime(from);
  const b = tokyoDateTime(until);
  if (a.date === b.date) return `${formatWareki(a.date, { weekday: true })} ${clock(a.time)}〜${clock(b.time)}`;
  return `${warekiDateTime(from)} 〜 ${warekiDateTime(until)}`;
}

export function sessionPosterLayout(p: SessionPosterInput): Layout {
  const { width, height } = A4;
  const m = 40;
  const inner = width - 2 * m;
  const shapes: Shape[] = [];
  // header band: municipality and programme
  shapes.push({ kind: 'rect', x: 0, y: 0, w: width, h: 96, fill: BAND });
  textBlock(shapes, { text: p.municipality, x: m, y: 40, width: inner, size: 20, colour: '#ffffff', maxLines: 1 });
  textBlock(shapes, { text: p.programme, x: m, y: 74, width: inner, size: 18, colour: '#ffffff', maxLines: 1 });
  // the session
  let y = textBlock(shapes, {
    text: p.session.title,
    x: m,
    y: 150,
    width: inner,
    size: 32,
    colour: INK,
    anchor: 'middle',
    lineHeight: 1.3,
    maxLines: 2,
  });
  y += 22;
  const rows: Array<[string, string]> = [
    ['日にち', formatWareki(p.session.heldOn, { weekday: true })],
    ['会場', p.session.place || '—'],
    ['活動', p.activity.name],
    ['ポイント', `${p.activity.points.toLocaleString('ja-JP')} ポイント`],
  ];
  const rowH = 30;
  const labelW = 96;
  shapes.push({
    kind: 'rect',
    x: m,
    y,
    w: inner,
    h: rowH * rows.length + 8,
    stroke: '#808080',
    strokeWidth: 0.8,
    radius: 6,
  });
  rows.forEach(([label, value], i) => {
    const base = y + 4 + rowH * i + 21;
    shapes.push({ kind: 'text', x: m + 14, y: base, size: 15, text: label, colour: MUTED });
    textBlock(shapes, {
      text: value,
      x: m + 14 + labelW,
      y: base,
      width: inner - labelW - 28,
      size: 16,
      colour: INK,
      maxLines: 1,
    });
  });
  y += rowH * rows.length + 8;
  // the code, as large as the page leaves room for (a two-line title makes it smaller)
  const boxY = height - 118;
  const qrY = y + 24;
  const qr = Math.min(300, boxY - 96 - qrY);
  shapes.push({ kind: 'qr', x: (width - qr) / 2, y: qrY, size: qr, url: p.url });
  y = qrY + qr + 34;
  textBlock(shapes, {
    text: 'LINE のカメラで読み取ってください',
    x: m,
    y,
    width: inner,
    size: 24,
    colour: INK,
    anchor: 'middle',
  });
  y += 32;
  textBlock(shapes, {
    text: `${p.activity.points.toLocaleString('ja-JP')} ポイントがたまります (1 人 1 回)`,
    x: m,
    y,
    width: inner,
    size: 16,
    colour: INK,
    anchor: 'middle',
  });
  // the window the code is accepted in
  shapes.push({ kind: 'rect', x: m, y: boxY, w: inner, h: 62, fill: '#f2f2f2', radius: 6 });
  textBlock(shapes, {
    text: '読み取りできる期間',
    x: m,
    y: boxY + 24,
    width: inner,
    size: 13,
    colour: MUTED,
    anchor: 'middle',
  });
  textBlock(shapes, {
    text: validityText(p.session.validFrom, p.session.validUntil),
    x: m,
    y: boxY + 48,
    width: inner,
    size: 16,
    colour: INK,
    anchor: 'middle',
    maxLines: 1,
  });
  textBlock(shapes, {
    text: `${p.municipality} ${p.programme}`,
    x: m,
    y: height - 24,
    width: inner,
    size: 10,
    colour: MUTED,
    anchor: 'middle',
    maxLines: 1,
  });
  return { width, height, background: '#ffffff', title: `${p.session.title} — ${p.programme}`, shapes };
}

/** The poster as an A4 PDF. */
export function sessionPosterPdf(p: SessionPosterInput): Promise<Buffer> {
  return layoutPdf(sessionPosterLayout(p));
}
