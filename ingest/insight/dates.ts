/** Asia/Tokyo calendar days (UTC+9, no daylight saving), as 'yyyy-MM-dd' strings. */
import { TOKYO_OFFSET_MS } from '../../core/time.ts';

export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;

/** The Asia/Tokyo day containing an instant, 'yyyy-MM-dd'. */
export function tokyoDay(ms: number): string {
  return new Date(ms + TOKYO_OFFSET_MS).toISOString().slice(0, 10);
}

/** Epoch ms of 00:00 Asia/Tokyo on a 'yyyy-MM-dd' day. */
export function tokyoDayStart(day: string): number {
  return Date.parse(`${day}T00:00:00Z`) - TOKYO_OFFSET_MS;
}

/** True for a real calendar date written 'yyyy-MM-dd'. */
export function isIsoDay(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const t = Date.parse(`${s}T00:00:00Z`);
  return Number.isFinite(t) && new Date(t).toISOString().slice(0, 10) === s;
}

export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
}

/** Whole days from `from` to `to` (negative when `to` is earlier). */
export function dayDiff(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS);
}

/** Every day from `from` to `to`, both included. */
export function daysInRange(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) out.push(d);
  return out;
}

/** 'yyyy-MM-dd' → 'yyyyMMdd', the form LINE's Insight API takes. */
export function toYmd(day: string): string {
  return day.replaceAll('-', '');
}

/** 'yyyy-MM-dd' → '2026年1月31日' for people. */
export function jaDay(day: string): string {
  const [y, m, d] = day.split('-').map(Number);
  return `${y}年${m}月${d}日`;
}

/** Epoch ms → 'M月D日 HH:mm' (Asia/Tokyo) for people. */
export function jaTime(ms: number): string {
  const d = new Date(ms + TOKYO_OFFSET_MS);
  const hh = String(d.getUTCHours()).padStart(2, '0');
  const mm = String(d.getUTCMinutes()).padStart(2, '0');
  return `${d.getUTCMonth() + 1}月${d.getUTCDate()}日 ${hh}:${mm}`;
}
