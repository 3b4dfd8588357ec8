/**
 * Due dates of what the contractor owes the prefecture every month (minutes, issue log, KPI
 * report): the 10th of the following month, or the next open day when the 10th is closed.
 *
 * Open days exclude Saturdays, Sundays, national holidays (`@holiday-jp/holiday_jp`, which covers
 * 1970–2050) and the year-end closure of Japanese local governments (12/29–1/3).
 * Every date here is a calendar day in Asia/Tokyo, written 'YYYY-MM-DD'.
 */
import holidayJp from '@holiday-jp/holiday_jp';
import { AppError } from '../core/errors.ts';

const DAY_MS = 86_400_000;
const holidays = holidayJp.holidays as Record<string, { name: string }>;
const holidayYears = Object.keys(holidays).map((d) => Number(d.slice(0, 4)));
/** The years the holiday table covers; a due date outside them cannot be told. */
export const HOLIDAY_YEARS = { first: Math.min(...holidayYears), last: Math.max(...holidayYears) } as const;

export interface YearMonth {
  year: number;
  month: number; // 1–12
}

export interface ClosedDay {
  date: string;
  reason: string;
}

export interface DueDate {
  /** The month reported on, 'YYYY-MM'. */
  month: string;
  /** The 10th of the following month. */
  nominal: string;
  /** The first open day on or after the nominal date. */
  due: string;
  /** The closed days passed over between nominal and due, with why each is closed. */
  skipped: ClosedDay[];
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const ms = (date: string) => Date.parse(`${date}T00:00:00Z`);

/** 'YYYY-MM' (also 'YYYY-M' and 'YYYY/MM') → year and month; anything else is refused in Japanese. */
export function parseYearMonth(text: string): YearMonth {
  const m = /^\s*(\d{4})[-/](\d{1,2})\s*$/.exec(text);
  const year = m ? Number(m[1]) : NaN;
  const month = m ? Number(m[2]) : NaN;
  if (!m || month < 1 || month > 12) {
    throw new AppError(
      'invalid_month',
      `年月「${text}」を読み取れません。YYYY-MM の形式で指定してください (例: 2022-09)`,
    );
  }
  // the due date lies in the next month, which the holiday table must cover
  const dueYear = month === 12 ? year + 1 : year;
  if (year < HOLIDAY_YEARS.first || dueYear > HOLIDAY_YEARS.last) {
    throw new AppError(
      'month_out_of_range',
      `${year}年${month}月は祝日表の範囲外です。${HOLIDAY_YEARS.first}年1月から${HOLIDAY_YEARS.last}年11月までの年月を指定してください`,
    );
  }
  return { year, month };
}

/** A calendar date 'YYYY-MM-DD' that exists; refused in Japanese otherwise. */
export function parseDate(text: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim());
  if (!m || iso(ms(m[0])) !== m[0]) {
    throw new AppError(
      'invalid_date',
      `日付「${text}」を読み取れません。YYYY-MM-DD の形式で指定してください (例: 2022-10-11)`,
    );
  }
  return m[0];
}

/** Why a day is closed, or undefined for an open day. Holidays win over weekends in the reason. */
export function closedReason(date: string): string | undefined {
  const holiday = holidays[date];
  if (holiday) return holiday.name;
  const [, mm, dd] = date.split('-').map(Number) as [number, number, number];
  if ((mm === 12 && dd >= 29) || (mm === 1 && dd <= 3)) return '年末年始の閉庁日';
  const dow = new Date(ms(date)).getUTCDay();
  if (dow === 6) return '土曜日';
  if (dow === 0) return '日曜日';
  return undefined;
}

export function isOpenDay(date: string): boolean {
  return closedReason(date) === undefined;
}

/** The first open day on or after `date`, and the closed days passed over. */
export function nextOpenDay(date: string): { date: string; skipped: ClosedDay[] } {
  const skipped: ClosedDay[] = [];
  let t = ms(date);
  for (;;) {
    const d = iso(t);
    const reason = closedReason(d);
    if (reason === undefined) return { date: d, skipped };
    skipped.push({ date: d, reason });
    t += DAY_MS;
  }
}

/** The due date of a month's deliverables: the 10th of the following month, or the next open day. */
export function dueDateFor(month: YearMonth | string): DueDate {
  const ym = typeof month === 'string' ? parseYearMonth(month) : month;
  const next = ym.month === 12 ? { year: ym.year + 1, month: 1 } : { year: ym.year, month: ym.month + 1 };
  const nominal = `${pad(next.year, 4)}-${pad(next.month)}-10`;
  const { date, skipped } = nextOpenDay(nominal);
  return { month: `${pad(ym.year, 4)}-${pad(ym.month)}`, nominal, due: date, skipped };
}

// 和暦 formatters: one definition in core/time.ts
export { formatWareki, formatWarekiMonth } from '../core/time.ts';
