import { z } from './zod.ts';

/** Epoch ms → 'YYYY-MM-DD hh:mm:ss.sss' (UTC), the text form DateTime64(3, 'UTC') columns take. */
export function chDateTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

let last = 0;
/** Strictly increasing version for ReplacingMergeTree rows written by this process (µs since epoch). */
export function nextVersion(): number {
  const v = Date.now() * 1000;
  last = v > last ? v : last + 1;
  return last;
}

// ---------------------------------------------------------------- Asia/Tokyo dates
// Japan has no daylight saving time: Tokyo is UTC+9 all year, so dates are plain arithmetic.

export const TOKYO_OFFSET_MS = 9 * 3_600_000;
const DAY_MS = 86_400_000;

/** Today in Asia/Tokyo, 'YYYY-MM-DD'. */
export function tokyoToday(now = Date.now()): string {
  const day = Math.floor((now + TOKYO_OFFSET_MS) / DAY_MS);
  if (day !== todayCache.day) {
    todayCache.day = day;
    todayCache.text = new Date(now + TOKYO_OFFSET_MS).toISOString().slice(0, 10);
  }
  return todayCache.text;
}
/** The last day asked for (a card opening at a till asks for it on every request). */
const todayCache = { day: Number.NaN, text: '' };

/** The Tokyo month 'YYYY-MM' an instant falls in (now by default). */
export function tokyoMonth(ms = Date.now()): string {
  return new Date(ms + TOKYO_OFFSET_MS).toISOString().slice(0, 7);
}

/** Epoch ms → '2026-04-10T14:00:00+09:00'. */
export function tokyoIso(ms: number): string {
  return `${new Date(ms + TOKYO_OFFSET_MS).toISOString().slice(0, 19)}+09:00`;
}

/** Epoch ms → { date: 'YYYY-MM-DD', time: 'hh:mm' } in Tokyo. */
export function tokyoDateTime(ms: number): { date: string; time: string } {
  const iso = new Date(ms + TOKYO_OFFSET_MS).toISOString();
  return { date: iso.slice(0, 10), time: iso.slice(11, 16) };
}

/** Epoch ms → 'YYYY-MM-DD hh:mm' in Tokyo (lists and CSVs people read). */
export function tokyoMinute(ms: number): string {
  return new Date(ms + TOKYO_OFFSET_MS).toISOString().slice(0, 16).replace('T', ' ');
}

/** An instant as a Date whose UTC fields read as Tokyo's wall clock (a spreadsheet's date cell, which has no zone). */
export function tokyoWallClock(ms: number): Date {
  return new Date(ms + TOKYO_OFFSET_MS);
}

/** The UTC instant a Tokyo day starts, as ClickHouse DateTime64 text. */
export function tokyoMidnight(day: string): string {
  return chDateTime(Date.parse(`${day}T00:00:00Z`) - TOKYO_OFFSET_MS);
}

/** 'YYYY-MM' → [first instant, first instant of the next month) in Asia/Tokyo, as epoch ms. */
export function tokyoMonthRange(month: string): { from: number; to: number } {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return { from: Date.UTC(y, m - 1, 1) - TOKYO_OFFSET_MS, to: Date.UTC(y, m, 1) - TOKYO_OFFSET_MS };
}

/** First and last day of a month 'YYYY-MM'. */
export function monthBounds(month: string): { from: string; to: string } {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return { from: `${month}-01`, to: `${month}-${String(last).padStart(2, '0')}` };
}

/** The month `offset` months away from 'YYYY-MM'. */
export function addMonths(month: string, offset: number): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, m - 1 + offset, 1)).toISOString().slice(0, 7);
}

/** The day `offset` days away from 'YYYY-MM-DD'. */
export function addDays(day: string, offset: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + offset * DAY_MS).toISOString().slice(0, 10);
}

/** The years a month or day may be asked for (ClickHouse's Date covers 1970–2149: 0000-01 was a 500). */
const YEARS = { min: 2000, max: 2100 };
const inYears = (v: string) => Number(v.slice(0, 4)) >= YEARS.min && Number(v.slice(0, 4)) <= YEARS.max;
/** A day that exists in the calendar (no 2026-02-30). */
const realDay = (v: string) => {
  const d = new Date(`${v}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === v;
};

/** A month as people and query strings give it: 'YYYY-MM', 2000–2100. */
export const monthSchema = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])$/, { message: '年月は YYYY-MM の形式で指定してください (例: 2026-04)', abort: true })
  .refine(inYears, `年月は ${YEARS.min}年から${YEARS.max}年の間で指定してください`);

/** A day: 'YYYY-MM-DD', one that exists, 2000–2100. */
export const daySchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, { message: '日付は YYYY-MM-DD の形式で指定してください', abort: true })
  .refine((v) => inYears(v) && realDay(v), `日付は ${YEARS.min}年から${YEARS.max}年の実在する日付で指定してください`);

// ---------------------------------------------------------------- 和暦 (official documents)

const japanese = (o: Intl.DateTimeFormatOptions) =>
  new Intl.DateTimeFormat('ja-JP-u-ca-japanese', { era: 'long', year: 'numeric', timeZone: 'UTC', ...o });
const warekiDate = japanese({ month: 'long', day: 'numeric' });
const warekiDateWeekday = japanese({ month: 'long', day: 'numeric', weekday: 'short' });
const warekiMonthFormat = japanese({ month: 'long' });

/** 'YYYY-MM-DD' → 令和4年10月11日 (with `weekday`: 令和4年10月11日(火)). */
export function formatWareki(date: string, opts: { weekday?: boolean } = {}): string {
  return (opts.weekday ? warekiDateWeekday : warekiDate).format(new Date(`${date}T00:00:00Z`));
}

/** 'YYYY-MM' → 令和7年4月. */
export function formatWarekiMonth(month: string): string {
  return warekiMonthFormat.format(new Date(`${month}-01T00:00:00Z`));
}
