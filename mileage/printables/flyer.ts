/**
 * The publicity flyer per municipality (広報ツール: チラシ, 広報誌, ホームページ): invites residents to
 * add the municipality's LINE account as a friend and join the health-mileage programme. One layout,
 * two outputs: an A4 PDF for print and a PNG of the same page for web pages and newsletters.
 */
import { formatWareki } from '../../core/time.ts';
import { A4, type Layout, layoutPdf, layoutPng, type Shape, textBlock, textWidth } from './layout.ts';

export interface FlyerActivity {
  name: string;
  points: number;
  method: 'qr' | 'self_report' | 'grant';
  /** awards per day (0: no cap) */
  dailyCap: number;
  /** awards per programme period (0: no cap) */
  periodCap: number;
}

export interface FlyerInput {
  municipality: string;
  programme: {
    name: string;
    /** 'YYYY-MM-DD' */
    startsOn: string;
    endsOn: string;
    goalPoints: number;
    cardValidMonths: number;
    activities: FlyerActivity[];
  };
  /** The account's basic ID as LINE shows it, e.g. @123abcde. */
  basicId: string;
  card: { title: string; note: string };
}

/** The friend-add URL LINE opens for an account's basic ID. */
export function friendAddUrl(basicId: string): string {
  const id = basicId.startsWith('@') ? basicId : `@${basicId}`;
  return `https://line.me/R/ti/p/${encodeURIComponent(id).replace(/^%40/, '@')}`;
}

const METHOD: Record<FlyerActivity['method'], string> = {
  qr: '会場の QR コードを読み取り',
  self_report: 'LINE のメニューから報告',
  grant: `市町が確認して付与`,
};

/** How an activity is earned and how often, in a few words: 会場の QR コードを読み取り・1日1回. */
export function activityHow(a: FlyerActivity): string {
  const caps = [a.dailyCap ? `1日${a.dailyCap}回まで` : '', a.periodCap ? `期間中${a.periodCap}回まで` : ''].filter(
    Boolean,
  );
  return [METHOD[a.method], ...caps].join('・');
}

const INK = '#1a1a1a';
const MUTED = '#4d4d4d';
const GREEN = '#0b5d3b'; // white on it: 7.9:1
const PALE = '#e8f3ee';
const MAX_ROWS = 8;

const pts = (n: number) => `${n.toLocaleString('ja-JP')} ポイント`;

export function flyerLayout(f: FlyerInput): Layout {
  const { width, height } = A4;
  const m = 36;
  const inner = width - 2 * m;
  const shapes: Shape[] = [];
  const p = f.programme;
  // headline band
  shapes.push({ kind: 'rect', x: 0, y: 0, w: width, h: 132, fill: GREEN });
  textBlock(shapes, { text: f.municipality, x: m, y: 38, width: inner, size: 18, colour: '#ffffff', maxLines: 1 });
  textBlock(shapes, {
    text: 'LINE で健康マイレージに参加しよう',
    x: m,
    y: 84,
    width: inner,
    size: 30,
    colour: '#ffffff',
    maxLines: 1,
  });
  textBlock(shapes, { text: p.name, x: m, y: 116, width: inner, size: 15, colour: '#ffffff', maxLines: 1 });
  // friend-add: QR code and ID on the left, the steps on the right
  let y = 160;
  const qr = 170;
  shapes.push({ kind: 'rect', x: m, y, w: qr + 16, h: qr + 70, fill: PALE, radius: 8 });
  shapes.push({ kind: 'qr', x: m + 8, y: y + 8, size: qr, url: friendAddUrl(f.basicId) });
  textBlock(shapes, {
    text: '友だち追加はこちら',
    x: m,
    y: y + qr + 32,
    width: qr + 16,
    size: 13,
    colour: INK,
    anchor: 'middle',
  });
  textBlock(shapes, {
    text: `LINE ID: ${f.basicId}`,
    x: m,
    y: y + qr + 54,
    width: qr + 16,
    size: 14,
    colour: INK,
    anchor: 'middle',
    maxLines: 1,
  });
  const sx = m + qr + 36;
  const sw = width - m - sx;
  let sy = y + 22;
  textBlock(shapes, { text: '参加のしかた', x: sx, y: sy, width: sw, size: 18, colour: GREEN });
  sy += 14;
  const steps = [
    `スマートフォンの LINE で左の QR コードを読み取るか、ID「${f.basicId}」で検索して、${f.municipality}の公式アカウントを友だち追加します。`,
    'メニューの「マイレージ」から参加します。会員番号がもらえます。',
    '健康づくりの活動をして、ポイントをためましょう。',
  ];
  steps.forEach((text, i) => {
    sy += 24;
    shapes.push({ kind: 'rect', x: sx, y: sy - 17, w: 22, h: 22, fill: GREEN, radius: 11 });
    shapes.push({
      kind: 'text',
      x: sx + 11,
      y: sy - 0.5,
      size: 14,
      text: String(i + 1),
      colour: '#ffffff',
      anchor: 'middle',
    });
    sy = textBlock(shapes, {
      text,
      x: sx + 32,
      y: sy,
      width: sw - 32,
      size: 13,
      colour: INK,
      maxLines: 3,
      lineHeight: 1.5,
    });
  });
  y += qr + 70 + 32;
  // activities and their points
  textBlock(shapes, { text: 'ポイントがたまる活動', x: m, y, width: inner, size: 18, colour: GREEN });
  y += 12;
  const shown = p.activities.slice(0, MAX_ROWS);
  const rowH = 36;
  shown.forEach((a, i) => {
    const top = y + i * rowH;
    if (i % 2 === 0) shapes.push({ kind: 'rect', x: m, y: top, w: inner, h: rowH, fill: '#f4f4f4' });
    const pointsText = pts(a.points);
    const pw = textWidth(pointsText, 15) + 16;
    textBlock(shapes, {
      text: a.name,
      x: m + 10,
      y: top + 16,
      width: inner - pw - 20,
      size: 14,
      colour: INK,
      maxLines: 1,
    });
    textBlock(shapes, {
      text: activityHow(a),
      x: m + 10,
      y: top + 31,
      width: inner - pw - 20,
      size: 10,
      colour: MUTED,
      maxLines: 1,
    });
    shapes.push({
      kind: 'text',
      x: width - m - 10,
      y: top + 24,
      size: 15,
      text: pointsText,
      colour: INK,
      anchor: 'end',
    });
  });
  y += shown.length * rowH;
  if (p.activities.length > shown.length) {
    y += 18;
    textBlock(shapes, {
      text: `ほか ${p.activities.length - shown.length} 件の活動があります (LINE のメニューでご覧いただけます)`,
      x: m,
      y,
      width: inner,
      size: 11,
      colour: MUTED,
    });
  }
  if (!shown.length) {
    y += 20;
    textBlock(shapes, {
      text: '活動は LINE のメニューでお知らせします',
      x: m,
      y,
      width: inner,
      size: 13,
      colour: MUTED,
    });
  }
  y += 28;
  // the goal and the card
  const boxH = 150;
  const boxY = Math.min(y, height - 56 - boxH - 40);
  shapes.push({
    kind: 'rect',
    x: m,
    y: boxY,
    w: inner,
    h: boxH,
    stroke: GREEN,
    strokeWidth: 2,
    radius: 10,
    fill: '#ffffff',
  });
  let gy = textBlock(shapes, {
    text: `${pts(p.goalPoints)}たまると「${f.card.title}」がもらえます`,
    x: m + 16,
    y: boxY + 34,
    width: inner - 32,
    size: 18,
    colour: INK,
    maxLines: 2,
    lineHeight: 1.3,
  });
  if (f.card.note)
    gy = textBlock(shapes, {
      text: f.card.note,
      x: m + 16,
      y: gy + 28,
      width: inner - 32,
      size: 13,
      colour: INK,
      maxLines: 2,
    });
  gy = textBlock(shapes, {
    text: `カードは LINE で届き、いつでも表示できます (有効期限: 発行から${p.cardValidMonths}か月)`,
    x: m + 16,
    y: gy + 24,
    width: inner - 32,
    size: 12,
    colour: MUTED,
    maxLines: 2,
  });
  textBlock(shapes, {
    text: `実施期間 ${formatWareki(p.startsOn)} 〜 ${formatWareki(p.endsOn)}`,
    x: m + 16,
    y: Math.max(gy + 26, boxY + boxH - 16),
    width: inner - 32,
    size: 14,
    colour: INK,
    maxLines: 1,
  });
  // footer
  shapes.push({ kind: 'rect', x: 0, y: height - 48, w: width, h: 48, fill: GREEN });
  textBlock(shapes, {
    text: `${f.municipality}　三重とこわか健康マイレージ事業`,
    x: m,
    y: height - 19,
    width: inner,
    size: 14,
    colour: '#ffffff',
    anchor: 'middle',
    maxLines: 1,
  });
  return { width, height, background: '#ffffff', title: `${f.municipality} LINE で健康マイレージ`, shapes };
}

/** The flyer as an A4 PDF. */
export function flyerPdf(f: FlyerInput): Promise<Buffer> {
  return layoutPdf(flyerLayout(f));
}

/** The flyer as a PNG (1240 px wide: A4 at 150 dpi). */
export function flyerPng(f: FlyerInput, widthPx = 1240): Buffer {
  return layoutPng(flyerLayout(f), widthPx);
}
