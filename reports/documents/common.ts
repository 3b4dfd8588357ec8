/**
 * What every report document shares: the header lines (title, month in 和暦, due date, when it was
 * made), footnote marks for figures that are not known, and the cell formats of each kind of figure.
 */
import { AppError } from '../../core/errors.ts';
import {
  FAQ_FIGURES,
  FIGURES,
  MILEAGE_FIGURES,
  MISSING_REASONS,
  figures,
  formatChange,
  formatCount,
  formatPercent,
  type Figure,
  type MissingReason,
} from '../../metrics/index.ts';
import { dueDateFor, formatWareki, formatWarekiMonth, parseYearMonth } from '../due-date.ts';
import { tokyoWallClock } from '../../core/time.ts';

/** "—": a figure that is not known. */
export const DASH = figures.DASH;

/** The Tokyo calendar day and time of an instant: { day: 'YYYY-MM-DD', time: 'HH:mm' }. */
export function tokyoClock(at: Date): { day: string; time: string } {
  const iso = tokyoWallClock(at.getTime()).toISOString();
  return { day: iso.slice(0, 10), time: iso.slice(11, 16) };
}

/** 令和8年11月2日(月) 9:05 */
export function generatedLabel(at: Date): string {
  const { day, time } = tokyoClock(at);
  return `${formatWareki(day, { weekday: true })} ${Number(time.slice(0, 2))}:${time.slice(3)}`;
}

/** 'YYYY-MM-DD' → 令和8年12月10日(木); null → '—'. */
export function warekiDay(day: string | null, weekday = false): string {
  return day === null ? DASH : formatWareki(day, { weekday });
}

/** A month 'YYYY-MM', checked (Japanese message when it cannot be read or has no due date). */
export function checkMonth(month: string): string {
  const { year, month: m } = parseYearMonth(month);
  return `${year}-${String(m).padStart(2, '0')}`;
}

/** The months of a period, inclusive. */
export function monthsOf(period: { from: string; to: string }): string[] {
  const from = checkMonth(period.from);
  const to = checkMonth(period.to);
  if (from > to) throw new AppError('invalid_period', `期間の開始 (${from}) が終了 (${to}) より後になっています`, 400);
  const out: string[] = [];
  for (let m = from; m <= to; m = nextMonth(m)) out.push(m);
  if (out.length > 60) throw new AppError('invalid_period', '期間は 5 年 (60 か月) 以内で指定してください', 400);
  return out;
}

export function nextMonth(month: string): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
}

/** The lines under a document's title. */
export interface DocumentHeader {
  /** e.g. 月次KPI報告書 */
  title: string;
  /** e.g. 令和8年10月分 */
  subtitle: string;
  /** e.g. 提出期限: 令和8年11月10日(火) */
  due: string;
  /** e.g. 作成日時: 令和8年11月1日(日) 9:00 */
  generated: string;
  /** Who the document is for and from. */
  parties: string;
}

/** 提出先: 三重県　作成: 受託者 */
export function partiesLine(prefecture: string | undefined): string {
  return `${prefecture ? `提出先: ${prefecture}　` : ''}作成: 受託者 (LINE 公式アカウント運用支援業務)`;
}

/** Header lines of a monthly document: the month in 和暦 and the 10th-of-next-month due date. */
export function monthlyHeader(title: string, month: string, now: Date, prefecture: string | undefined): DocumentHeader {
  const due = dueDateFor(month);
  const moved =
    due.due !== due.nominal
      ? ` (${due.skipped.map((s) => `${formatWareki(s.date)}は${s.reason}`).join('、')}のため翌開庁日)`
      : '';
  return {
    title,
    subtitle: `${formatWarekiMonth(month)}分`,
    due: `提出期限: ${formatWareki(due.due, { weekday: true })}${moved}`,
    generated: `作成日時: ${generatedLabel(now)}`,
    parties: partiesLine(prefecture),
  };
}

/** How a figure is shown in a cell, and the Excel number format that shows it the same way. */
export type FigureKind = 'count' | 'change' | 'percent' | 'decimal';

export const EXCEL_FORMATS: Record<FigureKind, string> = {
  count: '#,##0',
  change: '"+"#,##0;"−"#,##0;"±"0',
  percent: '0.0%',
  decimal: '#,##0.00',
};

export function formatFigure(v: Figure, kind: FigureKind): string {
  if (kind === 'decimal')
    return v === null ? DASH : v.toLocaleString('ja-JP', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return kind === 'count' ? formatCount(v) : kind === 'change' ? formatChange(v) : formatPercent(v);
}

/**
 * Footnotes for figures shown as "—": each reason gets a mark (※1, ※2 …) the first time it is
 * used, and the notes list the reasons in that order.
 */
export class Footnotes {
  #marks = new Map<string, string>();

  /** The mark for a sentence, added on first use. */
  mark(text: string): string {
    let m = this.#marks.get(text);
    if (!m) {
      m = `※${this.#marks.size + 1}`;
      this.#marks.set(text, m);
    }
    return m;
  }

  /** The mark for why a figure is not known. */
  reason(r: MissingReason): string {
    return this.mark(MISSING_REASONS[r]);
  }

  /** "—※1" for a null with a reason, else the formatted figure. */
  cell(v: Figure, kind: FigureKind, reason: MissingReason | undefined): string {
    if (v !== null) return formatFigure(v, kind);
    return reason ? `${DASH}${this.reason(reason)}` : DASH;
  }

  /** ['※1 LINE のプライバシー保護により…', …] */
  lines(): string[] {
    return [...this.#marks].map(([text, mark]) => `${mark} ${text}`);
  }

  get size(): number {
    return this.#marks.size;
  }
}

/** The notes every figure section ends with: why "—" appears, then what the figures mean. */
export const DASH_NOTE = `「${DASH}」は値が分からないことを示します (0 ではありません)。理由は注記のとおりです。`;
export const PARTIAL_NOTE = '県全体の合計は、値の分かる市町だけを合計しています (一部の市町の値が分かりません)';

/**
 * The definitions section: every figure the reports show, label and meaning — LINE's and the
 * deliveries' figures, then the health-mileage programme's (unless `names` picks some of the former).
 */
export function definitionRows(names?: ReadonlyArray<keyof typeof FIGURES>): Array<[string, string]> {
  const rows = (names ?? (Object.keys(FIGURES) as Array<keyof typeof FIGURES>)).map((n): [string, string] => [
    FIGURES[n].label,
    FIGURES[n].definition,
  ]);
  if (names) return rows;
  return [
    ...rows,
    ...Object.values(MILEAGE_FIGURES).map((f): [string, string] => [`マイレージ: ${f.label}`, f.definition]),
    ...Object.values(FAQ_FIGURES).map((f): [string, string] => [`FAQ: ${f.label}`, f.definition]),
  ];
}

export const MIME = {
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pdf: 'application/pdf',
} as const;

/** Called as each step starts (done = steps finished so far) and once more when all are done. */
export type Progress = (step: string, done: number, total: number) => void;

/** Runs steps in order, reporting each to `onProgress`. */
export async function runSteps(
  steps: ReadonlyArray<readonly [string, () => Promise<void>]>,
  onProgress?: Progress,
): Promise<void> {
  for (const [i, [label, fn]] of steps.entries()) {
    onProgress?.(label, i, steps.length);
    await fn();
  }
  onProgress?.('作成が終わりました', steps.length, steps.length);
}
